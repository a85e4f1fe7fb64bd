// Runs one translated program (compiled to JS) under pulumi.runtime.setMocks: no CLI, no engine.
//
//   node run.js PROGRAM.js DUMP.json
//
// Mocks answer the three invokes (account 123456789012, us-east-1, partition aws; the first two
// can be changed with SHIPLINE_MOCK_ACCOUNT and SHIPLINE_MOCK_REGION) and give
// every resource the outputs AWS would (ARNs, names, ids, URLs in AWS's formats, autonames
// where the program sets no name). The run waits until every resource the program constructed
// is registered and every output resolved, then writes DUMP.json:
//   {resources: [{name, type, token, provider, inputs, state, id, options}], outputs: {name: {value, secret}},
//    invokes: [{token, inputs}], errors: [...]}
// Exit status 1 (with the reasons on stderr) when something does not register or resolve.
"use strict";

const fs = require("fs");
const path = require("path");

const ACCOUNT = process.env.SHIPLINE_MOCK_ACCOUNT || "123456789012";
const REGION = process.env.SHIPLINE_MOCK_REGION || "us-east-1";
const PARTITION = "aws";
const UUID = "0a1b2c3d-1111-2222-3333-444455556666";
const TIMEOUT_MS = 45000;

const [programPath, dumpPath] = process.argv.slice(2);
if (!programPath || !dumpPath) {
    console.error("usage: node run.js PROGRAM.js DUMP.json");
    process.exit(2);
}
const programDir = path.dirname(path.resolve(programPath));
const pulumi = require(require.resolve("@pulumi/pulumi", { paths: [programDir] }));

const errors = [];
process.on("unhandledRejection", (reason) => errors.push(`unhandled rejection: ${(reason && reason.stack) || reason}`));
process.on("uncaughtException", (error) => errors.push(`uncaught exception: ${(error && error.stack) || error}`));

// A deterministic 7-character suffix, as Pulumi's autonaming appends (random in real runs).
function suffix(name) {
    let h = 2166136261;
    for (const c of name) {
        h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    }
    return h.toString(16).padStart(8, "0").slice(0, 7);
}
const autoname = (name) => `${name}-${suffix(name)}`;
const arn = (service, resource, region = REGION) => `arn:${PARTITION}:${service}:${region}:${ACCOUNT}:${resource}`;

function parseJsonIfString(value) {
    if (typeof value !== "string") {
        return value;
    }
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

function password(length, inputs) {
    const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789" + (inputs.special === false ? "" : "!#$%&*()-_=+[]{}<>:?");
    let out = "";
    for (let i = 0; i < length; i++) {
        out += alphabet[(i * 7 + 3) % alphabet.length];
    }
    return out;
}

// Type token (as the SDK registers it) → (name, inputs) → {id, state}: the outputs AWS would set.
const MOCKS = {
    "aws:s3/bucket:Bucket": (name, i) => {
        const bucket = i.bucket || (i.bucketPrefix ? i.bucketPrefix + suffix(name) : autoname(name).toLowerCase());
        return {
            id: bucket,
            state: {
                bucket,
                arn: `arn:${PARTITION}:s3:::${bucket}`,
                bucketDomainName: `${bucket}.s3.amazonaws.com`,
                bucketRegionalDomainName: `${bucket}.s3.${REGION}.amazonaws.com`,
                region: REGION,
            },
        };
    },
    // The bucket's configuration resources are identified by the bucket's name.
    "aws:s3/bucketPolicy:BucketPolicy": (name, i) => ({ id: i.bucket, state: {} }),
    "aws:s3/bucketVersioning:BucketVersioning": (name, i) => ({ id: i.bucket, state: {} }),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (name, i) => ({ id: i.bucket, state: {} }),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (name, i) => ({ id: i.bucket, state: {} }),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (name, i) => ({ id: i.bucket, state: {} }),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (name, i) => ({ id: i.bucket, state: {} }),
    "aws:ecr/repository:Repository": (name, i) => {
        const repo = i.name || autoname(name).toLowerCase();
        return {
            id: repo,
            state: {
                name: repo,
                arn: arn("ecr", `repository/${repo}`),
                registryId: ACCOUNT,
                repositoryUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${repo}`,
            },
        };
    },
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": (name, i) => ({ id: i.repository, state: { registryId: ACCOUNT } }),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": (name, i) => ({ id: i.repository, state: { registryId: ACCOUNT } }),
    "aws:cloudwatch/logGroup:LogGroup": (name, i) => {
        const group = i.name || autoname(name);
        return { id: group, state: { name: group, arn: arn("logs", `log-group:${group}`) } };
    },
    "aws:iam/role:Role": (name, i) => {
        const role = i.name || autoname(name);
        const rolePath = i.path || "/";
        return {
            id: role,
            state: { name: role, path: rolePath, arn: `arn:${PARTITION}:iam::${ACCOUNT}:role${rolePath}${role}`, uniqueId: `AROA${suffix(name).toUpperCase()}EXAMPLE` },
        };
    },
    "aws:lambda/function:Function": (name, i) => {
        const fn = i.name || autoname(name);
        const fnArn = arn("lambda", `function:${fn}`);
        return {
            id: fn,
            state: {
                name: fn,
                arn: fnArn,
                qualifiedArn: `${fnArn}:$LATEST`,
                invokeArn: `arn:${PARTITION}:apigateway:${REGION}:lambda:path/2015-03-31/functions/${fnArn}/invocations`,
                version: "$LATEST",
            },
        };
    },
    "aws:lambda/functionUrl:FunctionUrl": (name, i) => {
        const urlId = (suffix(name) + "abcdefghijklmnopqrstuvwxyz0123456789").slice(0, 32);
        const fn = String(i.functionName || "");
        return {
            id: fn,
            state: {
                functionArn: fn.startsWith("arn:") ? fn : arn("lambda", `function:${fn}`),
                functionUrl: `https://${urlId}.lambda-url.${REGION}.on.aws/`,
                urlId,
            },
        };
    },
    "aws:lambda/permission:Permission": (name, i) => ({ id: i.statementId || autoname(name), state: { statementId: i.statementId || autoname(name) } }),
    "aws:codebuild/project:Project": (name, i) => {
        const project = i.name || autoname(name);
        return { id: project, state: { name: project, arn: arn("codebuild", `project/${project}`), badgeUrl: "" } };
    },
    "aws:codepipeline/pipeline:Pipeline": (name, i) => {
        const pipeline = i.name || autoname(name);
        return { id: pipeline, state: { name: pipeline, arn: arn("codepipeline", pipeline) } };
    },
    "aws:codeconnections/connection:Connection": (name, i) => {
        const connectionArn = arn("codeconnections", `connection/${UUID}`);
        return { id: connectionArn, state: { name: i.name || autoname(name), arn: connectionArn, connectionStatus: "PENDING", ownerAccountId: ACCOUNT } };
    },
    "aws:kms/key:Key": () => ({ id: UUID, state: { keyId: UUID, arn: arn("kms", `key/${UUID}`) } }),
    "aws:kms/alias:Alias": (name, i) => {
        const alias = i.name || `alias/${autoname(name)}`;
        return { id: alias, state: { name: alias, arn: arn("kms", alias), targetKeyArn: arn("kms", `key/${UUID}`) } };
    },
    "aws:sns/topic:Topic": (name, i) => {
        const topic = i.name || autoname(name);
        const topicArn = arn("sns", topic);
        return { id: topicArn, state: { name: topic, arn: topicArn, owner: ACCOUNT } };
    },
    "aws:sns/topicPolicy:TopicPolicy": (name, i) => ({ id: i.arn, state: { owner: ACCOUNT } }),
    "aws:sns/topicSubscription:TopicSubscription": (name, i) => {
        const subscriptionArn = `${i.topic}:${UUID}`;
        return { id: subscriptionArn, state: { arn: subscriptionArn, ownerId: ACCOUNT } };
    },
    "aws:cloudwatch/eventBus:EventBus": (name, i) => {
        const bus = i.name || autoname(name);
        return { id: bus, state: { name: bus, arn: arn("events", `event-bus/${bus}`) } };
    },
    "aws:cloudwatch/eventRule:EventRule": (name, i) => {
        const rule = i.name || autoname(name);
        const bus = i.eventBusName && i.eventBusName !== "default" ? i.eventBusName : "";
        return { id: bus ? `${bus}/${rule}` : rule, state: { name: rule, arn: arn("events", `rule/${bus ? bus + "/" : ""}${rule}`), eventBusName: i.eventBusName || "default" } };
    },
    "aws:cloudwatch/eventTarget:EventTarget": (name, i) => ({
        id: `${i.eventBusName && i.eventBusName !== "default" ? i.eventBusName + "/" : ""}${i.rule}-${i.targetId || autoname(name)}`,
        state: { targetId: i.targetId || autoname(name) },
    }),
    "aws:secretsmanager/secret:Secret": (name, i) => {
        const secret = i.name || autoname(name);
        const secretArn = arn("secretsmanager", `secret:${secret}-AbCdEf`);
        return { id: secretArn, state: { name: secret, arn: secretArn } };
    },
    "aws:secretsmanager/secretVersion:SecretVersion": (name, i) => ({
        id: `${i.secretId}|${UUID}`,
        state: { arn: i.secretId, versionId: UUID, versionStages: ["AWSCURRENT"] },
    }),
    "random:index/randomPassword:RandomPassword": (name, i) => ({
        id: "none",
        state: { result: password(i.length || 16, i), bcryptHash: "$2a$10$mockmockmockmockmockmo" },
    }),
};

const SERVICE_OF_TOKEN = (token) => token.split(":")[1].split("/")[0];

const records = [];
const invokes = [];

function mockResource(args) {
    const inputs = args.inputs || {};
    let result;
    if (args.type.startsWith("pulumi:providers:")) {
        result = { id: `${args.name}-id`, state: {} };
    } else if (MOCKS[args.type]) {
        result = MOCKS[args.type](args.name, inputs);
    } else {
        const service = SERVICE_OF_TOKEN(args.type);
        const resourceName = inputs.name || autoname(args.name);
        result = { id: resourceName, state: { arn: arn(service, resourceName) } };
        errors.push(`no mock outputs for ${args.type} (${args.name}); gave it a generic arn`);
    }
    const state = { ...inputs, ...result.state };
    records.push({ type: args.type, name: args.name, provider: args.provider || null, inputs, state, id: result.id });
    return { id: result.id, state };
}

function mockCall(args) {
    invokes.push({ token: args.token, inputs: args.inputs });
    switch (args.token) {
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: ACCOUNT, arn: `arn:${PARTITION}:iam::${ACCOUNT}:user/mock`, id: ACCOUNT, userId: "AIDAMOCKUSER" };
        case "aws:index/getRegion:getRegion":
            return { region: REGION, name: REGION, id: REGION, description: "US East (N. Virginia)", endpoint: `ec2.${REGION}.amazonaws.com` };
        case "aws:index/getPartition:getPartition":
            return { partition: PARTITION, id: PARTITION, dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
        default:
            throw new Error(`no mock for invoke ${args.token}`);
    }
}

// Values as JSON: assets and archives as {$kind: "asset"|"archive", text|path|uri|assets};
// secrets unwrapped, their paths collected into `secrets` when given.
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";
function plain(value, secrets, where = "") {
    if (value === null || value === undefined || typeof value !== "object") {
        return value === undefined ? null : value;
    }
    if (Array.isArray(value)) {
        return value.map((v, i) => plain(v, secrets, `${where}[${i}]`));
    }
    if (value[SECRET_SIG] === SECRET_VALUE) {
        if (secrets) {
            secrets.push(where.replace(/^\./, ""));
        }
        return plain(value.value, secrets, where);
    }
    if (value.__pulumiAsset || value.__pulumiArchive) {
        const out = { $kind: value.__pulumiAsset ? "asset" : "archive" };
        for (const key of ["text", "path", "uri"]) {
            if (value[key] !== undefined) {
                out[key] = value[key];
            }
        }
        if (value.assets !== undefined) {
            out.assets = plain(value.assets, secrets, `${where}.assets`);
        }
        return out;
    }
    const out = {};
    for (const [k, v] of Object.entries(value)) {
        out[k] = plain(v, secrets, `${where}.${k}`);
    }
    return out;
}

async function resolveDeep(value) {
    // Asset fields are promises in the SDK; resolve them for the dump.
    value = await value;
    if (value === null || typeof value !== "object") {
        return value;
    }
    if (Array.isArray(value)) {
        return Promise.all(value.map(resolveDeep));
    }
    const out = {};
    for (const [k, v] of Object.entries(value)) {
        out[k] = await resolveDeep(v);
    }
    return out;
}

function settle(output) {
    return new Promise((resolve) => {
        pulumi.output(output).apply((v) => {
            resolve(v);
            return v;
        });
    });
}

// The promise, or a failure after TIMEOUT_MS, or one second after the first error (a failed
// apply leaves what depends on it pending forever).
function withTimeout(promise, label, pending) {
    let poll;
    const started = Date.now();
    const timeout = new Promise((_, reject) => {
        let failedAt = null;
        poll = setInterval(() => {
            if (errors.length && failedAt === null) {
                failedAt = Date.now();
            }
            const waited = Date.now() - started;
            if (waited > TIMEOUT_MS || (failedAt !== null && Date.now() - failedAt > 1000)) {
                reject(new Error(`${label} did not finish (${Math.round(waited / 1000)}s); still pending: ${[...pending].join(", ")}`));
            }
        }, 100);
    });
    return Promise.race([promise, timeout]).finally(() => {
        clearInterval(poll);
    });
}

async function main() {
    await pulumi.runtime.setMocks({ newResource: mockResource, call: mockCall }, "shipline", "test", false);
    const runtime = require(path.join(programDir, "shipline_runtime.js"));
    const program = require(path.resolve(programPath));

    const pending = new Set(runtime.registry.map((r) => r.name));
    const registered = runtime.registry.map(async (r) => {
        await settle(r.resource.urn);
        await settle(r.resource.id);
        pending.delete(r.name);
    });
    const outputNames = Object.keys(program.outputs || {});
    outputNames.forEach((name) => pending.add(`output ${name}`));
    const outputs = {};
    const resolved = outputNames.map(async (name) => {
        const value = program.outputs[name];
        const output = pulumi.output(value);
        outputs[name] = { value: plain(await resolveDeep(await settle(output))), secret: await output.isSecret };
        pending.delete(`output ${name}`);
    });
    try {
        await withTimeout(Promise.all([...registered, ...resolved]), "the program", pending);
    } catch (error) {
        errors.push(String(error.message || error));
    }
    // Let in-flight registrations finish writing their records.
    await new Promise((r) => setTimeout(r, 50));

    const byName = new Map(records.map((r) => [r.name, r]));
    const resources = [];
    for (const r of runtime.registry) {
        const record = byName.get(r.name);
        if (!record) {
            errors.push(`resource ${r.name} (${r.token}) was constructed but never registered`);
            continue;
        }
        const options = {};
        for (const [key, value] of Object.entries(r.options)) {
            if (key === "dependsOn") {
                options.dependsOn = [].concat(value).map((d) => (runtime.registry.find((x) => x.resource === d) || { name: "?" }).name);
            } else if (key === "provider" || key === "parent") {
                options[key] = (runtime.registry.find((x) => x.resource === value) || { name: "?" }).name;
            } else {
                options[key] = value;
            }
        }
        const secretInputs = [];
        const providerName = record.provider ? record.provider.split("::").slice(-2)[0] : null;
        resources.push({
            name: r.name,
            token: r.token,
            type: record.type,
            provider: providerName,
            id: record.id,
            inputs: plain(await resolveDeep(record.inputs), secretInputs),
            secretInputs,
            state: plain(await resolveDeep(record.state)),
            options,
        });
    }
    const registeredNames = new Set(runtime.registry.map((r) => r.name));
    for (const record of records) {
        if (!registeredNames.has(record.name)) {
            errors.push(`registered ${record.type} ${record.name}, which the program did not construct through rt.reg`);
        }
    }
    fs.writeFileSync(dumpPath, JSON.stringify({ resources, outputs, invokes, errors }, null, 1));
    if (errors.length) {
        console.error(errors.join("\n"));
        process.exit(1);
    }
    process.exit(0);
}

main().catch((error) => {
    console.error((error && error.stack) || error);
    process.exit(1);
});
