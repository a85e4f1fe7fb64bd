// Helpers the translated programs (pulumi_translate.py) call: Pulumi YAML's built-in functions
// with pulumi-yaml's semantics, and a registry of the resources a program constructs (with the
// options it gave them) for the mock run (run.js) to wait on and report.
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
    name: string;
    token: string;
    resource: pulumi.Resource;
    options: pulumi.CustomResourceOptions;
}

export const registry: Registered[] = [];
const pendingOptions = new Map<string, pulumi.CustomResourceOptions>();

/** Records a resource's options (typed as the SDK's CustomResourceOptions) and passes them on. */
export function opts(name: string, options: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions {
    pendingOptions.set(name, options);
    return options;
}

/** Records a constructed resource under its program name and YAML type token. */
export function reg<T extends pulumi.Resource>(name: string, token: string, resource: T): T {
    registry.push({ name, token, resource, options: pendingOptions.get(name) ?? {} });
    return resource;
}

/** A value interpolated into a string: pulumi-yaml formats strings, numbers and booleans. */
export function str(value: pulumi.Input<string | number | boolean>): pulumi.Output<string | number | boolean> {
    return pulumi.output(value);
}

/** `fn::join: [separator, items]`: items must be strings. */
export function join(separator: pulumi.Input<string>, items: pulumi.Input<pulumi.Input<string>[]>): pulumi.Output<string> {
    return pulumi.all([separator, pulumi.output(items)]).apply(([s, xs]) => xs.join(s));
}

/** `fn::split: [separator, source]`. */
export function split(separator: pulumi.Input<string>, source: pulumi.Input<string>): pulumi.Output<string[]> {
    return pulumi.all([separator, source]).apply(([s, text]) => text.split(s));
}

/** `fn::select: [index, items]`: an index outside the list is an error, as in pulumi-yaml. */
export function select<T>(index: pulumi.Input<number>, items: pulumi.Input<pulumi.Input<T>[]>): pulumi.Output<pulumi.Unwrap<T>> {
    return pulumi.all([index, pulumi.output(items)]).apply(([i, xs]) => {
        if (!Number.isInteger(i) || i < 0 || i >= xs.length) {
            throw new Error(`fn::select: index ${i} outside a list of ${xs.length}`);
        }
        return xs[i] as pulumi.Unwrap<T>;
    });
}

/** `fn::toBase64` / `fn::fromBase64`. */
export function toBase64(value: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.output(value).apply((v) => Buffer.from(v, "utf8").toString("base64"));
}
export function fromBase64(value: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.output(value).apply((v) => Buffer.from(v, "base64").toString("utf8"));
}

/** `fn::toJSON`: Go's json.Marshal as pulumi-yaml calls it (object keys sorted by their UTF-8
 * bytes, no spaces, `<`, `>`, `&`, U+2028 and U+2029 escaped). */
export function toJSON<T>(value: pulumi.Input<T>): pulumi.Output<string> {
    return pulumi.output(value).apply((v: unknown) => goMarshal(v, "$"));
}

function goString(s: string): string {
    return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

function byUtf8(a: string, b: string): number {
    return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function goMarshal(v: unknown, path: string): string {
    if (v === null || v === undefined) {
        return "null";
    }
    if (typeof v === "string") {
        return goString(v);
    }
    if (typeof v === "boolean") {
        return v ? "true" : "false";
    }
    if (typeof v === "number") {
        if (!Number.isFinite(v)) {
            throw new Error(`fn::toJSON: ${path} is ${v}, which JSON cannot encode`);
        }
        return JSON.stringify(v);
    }
    if (Array.isArray(v)) {
        return "[" + v.map((x, i) => goMarshal(x, `${path}[${i}]`)).join(",") + "]";
    }
    if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
        const o = v as Record<string, unknown>;
        const keys = Object.keys(o).sort(byUtf8);
        return "{" + keys.map((k) => goString(k) + ":" + goMarshal(o[k], `${path}.${k}`)).join(",") + "}";
    }
    throw new Error(`fn::toJSON: ${path} is not a JSON value (${Object.prototype.toString.call(v)})`);
}
