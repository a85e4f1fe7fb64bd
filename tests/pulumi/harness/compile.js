// Emits the translated programs as CommonJS (js/<name>.js) and lists every use of an SDK API
// marked @deprecated (TypeScript reports those as suggestions, which `tsc` does not print).
//
//   node compile.js DIR   (DIR holds tsconfig.json and the .ts files it lists)
//
// Prints JSON: {"<file stem>": ["<line>:<col> <message>: <source line>", ...]}.
"use strict";

const fs = require("fs");
const path = require("path");

const dir = path.resolve(process.argv[2] || ".");
const ts = require(require.resolve("typescript", { paths: [dir] }));

const parsed = ts.getParsedCommandLineOfConfigFile(path.join(dir, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
});
const options = { ...parsed.options, noEmit: false, outDir: path.join(dir, "js") };
const files = parsed.fileNames;
const host = {
    getScriptFileNames: () => files,
    getScriptVersion: () => "1",
    getScriptSnapshot: (name) => (fs.existsSync(name) ? ts.ScriptSnapshot.fromString(fs.readFileSync(name, "utf8")) : undefined),
    getCurrentDirectory: () => dir,
    getCompilationSettings: () => options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
};
const service = ts.createLanguageService(host, ts.createDocumentRegistry());
const program = service.getProgram();
const emitted = program.emit(undefined, ts.sys.writeFile);
const checker = program.getTypeChecker();

// TypeScript reports deprecated symbols where they are referenced, but not object literal
// properties typed by a deprecated interface member (`acl: ...` in BucketArgs): those are
// found through each literal's contextual type.
function deprecatedProperties(source) {
    const found = [];
    const visit = (node) => {
        if (ts.isPropertyAssignment(node) && ts.isObjectLiteralExpression(node.parent)) {
            const contextual = checker.getContextualType(node.parent);
            const name = node.name.getText(source).replace(/^"|"$/g, "");
            const members = contextual ? (contextual.isUnion() ? contextual.types : [contextual]) : [];
            for (const member of members) {
                const property = checker.getPropertyOfType(member, name);
                const tag = property && property.getJsDocTags(checker).find((t) => t.name === "deprecated");
                if (tag) {
                    const text = ts.displayPartsToString(tag.text || []);
                    found.push({ start: node.name.getStart(source), message: `'${name}' is deprecated: ${text}` });
                    break;
                }
            }
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
}

const report = {};
for (const file of files) {
    const source = program.getSourceFile(file);
    const lines = source.text.split("\n");
    const uses = service
        .getSuggestionDiagnostics(file)
        .filter((d) => d.reportsDeprecated)
        .map((d) => ({ start: d.start, message: ts.flattenDiagnosticMessageText(d.messageText, " ") }))
        .concat(deprecatedProperties(source));
    report[path.basename(file, ".ts")] = uses.map((d) => {
        const { line, character } = source.getLineAndCharacterOfPosition(d.start);
        return `${line + 1}:${character + 1} ${d.message}: ${lines[line].trim().slice(0, 160)}`;
    });
}
if (emitted.emitSkipped) {
    report["<emit>"] = ["emit skipped"];
}
process.stdout.write(JSON.stringify(report));
