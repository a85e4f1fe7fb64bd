// Parses Mermaid diagrams with Mermaid's own parser (mermaid.parse, the parser its renderer
// runs), headless: jsdom supplies the window Mermaid's sanitizer (DOMPurify) needs when Mermaid
// is loaded. Used by test_mermaid.py.
//
// stdin: a JSON array of diagram texts. stdout: a JSON array with one entry per diagram, either
//   {"ok": false, "error": "<Mermaid's parse error>"}
// or, for a flowchart that parses,
//   {"ok": true, "type": "flowchart-v2",
//    "nodes": [{"id", "label", "shape"}], "edges": [{"from", "to", "label", "stroke"}],
//    "subgraphs": [{"id", "title", "nodes": [id, ...]}]}
// with labels decoded as Mermaid renders them (entity codes such as #quot; and #60; resolved,
// <br/> as a newline).
import { readFileSync } from "node:fs";

import { JSDOM } from "jsdom";

const { window } = new JSDOM("");
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import("mermaid");

// Mermaid keeps an entity code as a placeholder until it renders: #60; as ﬂ°°60¶ß, #quot; as
// ﬂ°quot¶ß (mermaid's encodeEntities); resolve both as the rendered text would.
function decode(text) {
  const named = (name) => {
    const element = document.createElement("textarea");
    element.innerHTML = `&${name};`;
    return element.value;
  };
  return String(text ?? "")
    .replace(/ﬂ°°(\d+)¶ß/g, (_, code) => String.fromCodePoint(Number(code)))
    .replace(/ﬂ°(\w+)¶ß/g, (_, name) => named(name))
    .replace(/<br\s*\/?>/gi, "\n");
}

async function describe(text) {
  try {
    const { diagramType } = await mermaid.parse(text);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const db = diagram.db;
    if (typeof db.getVertices !== "function") {
      return { ok: true, type: diagramType, nodes: [], edges: [], subgraphs: [] };
    }
    return {
      ok: true,
      type: diagramType,
      nodes: [...db.getVertices().values()].map((v) => ({
        id: v.id,
        label: decode(v.text),
        shape: v.type ?? null,
      })),
      edges: db.getEdges().map((e) => ({
        from: e.start,
        to: e.end,
        label: decode(e.text),
        stroke: e.stroke ?? null,
      })),
      subgraphs: db.getSubGraphs().map((g) => ({ id: g.id, title: decode(g.title), nodes: g.nodes })),
    };
  } catch (error) {
    return { ok: false, error: String(error?.message ?? error) };
  }
}

const texts = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const text of texts) {
  results.push(await describe(text));
}
process.stdout.write(JSON.stringify(results));
