// `keygate apply | diff | export` against the real Worker (npm start's), as a user runs them: the bin spawned with
// KEYGATE_BASE_URL/KEYGATE_TOKEN, a config file on disk. "No write" is checked where it is recorded: every management
// write leaves an audit event, so equal audit counts before and after mean nothing was written.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManagementClient } from "../sdk/index.ts";
import { type Keygate, readmeScript, ROOT, runReadmeScript, startKeygate } from "./lib/keygate.ts";

let keygate: Keygate;
let kg: ManagementClient;
const dir = mkdtempSync(join(tmpdir(), "keygate-apply-"));
const ORIGIN_SECRET = "origin-secret-value-4f1c9";

beforeAll(async () => {
  keygate = await startKeygate();
  kg = new ManagementClient({ baseUrl: keygate.url, token: keygate.adminToken, env: {} });
});

afterAll(async () => {
  await keygate?.stop();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, "bin", "keygate.js"), ...args],
      { env: { ...process.env, KEYGATE_BASE_URL: keygate.url, KEYGATE_TOKEN: keygate.adminToken, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Every audit event of these projects: equal before and after a command means it wrote nothing. */
async function auditCount(...projects: string[]): Promise<number> {
  let n = 0;
  for (const p of projects) n += (await kg.withProject(p).audit({ limit: 100 }).toArray()).length;
  return n;
}

const config = (originUrl: string, scopes = "[acme/chat]") => `version: 1
projects:
  - slug: acme
    name: Acme
    deployments:
      - slug: chat
        origin:
          url: ${originUrl}
          headers:
            Authorization: {env: CHAT_ORIGIN_TOKEN}
        model: demo-model
      - slug: embed
        origin: {url: ${originUrl}}
    applications:
      - name: billing
        description: the billing service
    policies:
      - name: billing-chat
        application: billing
        rules:
          - permission_set: InferenceReadOnly
            deployments: [chat]
            conditions: {countries: [de, fr]}
          - permission_set: InferenceFullAccess
            deployments: [embed, chat]
    keys:
      - name: ci
        scopes: ${scopes}
        permission_set: InferenceReadOnly
        conditions: {ip_allow: [127.0.0.1, "::1", "::ffff:203.0.113.7/120"], not_after: "2999-01-01T01:00:00+01:00"}
      - name: billing-prod
        application: billing
    budgets:
      - subject: project
        period: month
        limit_tokens: 1000000
      - subject: {key: ci}
        period: day
        limit_tokens: 5000
        mode: soft
`;

const env = { CHAT_ORIGIN_TOKEN: ORIGIN_SECRET };

describe("keygate apply / diff / export", () => {
  let path: string;

  it("applies a file to an empty keygate: every object, a working key in a 0600 secrets file, no secret in the output", async () => {
    path = file("keygate.yaml", config(keygate.originUrl));
    const secretsOut = join(dir, "secrets.json");
    const run = await cli(["apply", "-f", path, "--secrets-out", secretsOut], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("+ create project acme");
    expect(run.stdout).toContain("+ create deployment acme/chat");
    expect(run.stdout).toContain("+ create key acme/ci");
    expect(run.stdout).toContain("+ create budget acme/key:ci/day");
    expect(run.stdout).toMatch(/Plan: 9 to create, 0 to update, 0 to prune/);
    expect(run.stdout + run.stderr).not.toContain(ORIGIN_SECRET);
    expect(run.stdout).not.toContain("ik_live_");

    expect(statSync(secretsOut).mode & 0o777).toBe(0o600);
    const secrets = JSON.parse(readFileSync(secretsOut, "utf8")).keys as { name: string; key: string }[];
    expect(secrets.map((s) => s.name).sort()).toEqual(["billing-prod", "ci"]);
    const ci = secrets.find((s) => s.name === "ci")!.key;
    const models = await fetch(`${keygate.url}/endpoint/acme/chat/v1/models`, { headers: { authorization: `Bearer ${ci}` } });
    expect(models.status).toBe(200);

    const acme = kg.withProject("acme");
    expect((await acme.deployments.get("chat")).origin.header_names).toEqual(["Authorization"]);
    expect((await acme.policies.list().toArray())[0]!.rules.map((r) => r.deployments)).toEqual([["chat"], ["chat", "embed"]]);
    expect(readFileSync(path, "utf8")).not.toContain("ik_live_");

    // The secrets file is never overwritten: a second apply that would create a key refuses before writing.
    await acme.keys.revoke((await acme.keys.list().toArray()).find((k) => k.name === "billing-prod")!.id);
    const before = await auditCount("acme");
    const again = await cli(["apply", "-f", path, "--secrets-out", secretsOut], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("the file exists");
    expect(await auditCount("acme")).toBe(before);
    const recreate = await cli(["apply", "-f", path], env);
    expect(recreate.code, recreate.stderr).toBe(0);
    expect(recreate.stdout).toMatch(/acme\/billing-prod {2}ik_live_/);
  });

  it("applies again with no write, and diff exits 0; the header variable is not even needed then", async () => {
    const before = await auditCount("acme");
    const run = await cli(["apply", "-f", path]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("No changes");
    expect(await auditCount("acme")).toBe(before);
    expect((await cli(["diff", "-f", path])).code).toBe(0);
  });

  it("sees a change made through the API, names it, and apply puts back only that", async () => {
    const acme = kg.withProject("acme");
    await acme.deployments.update("chat", { model: "other-model" });
    const ci = (await acme.keys.list().toArray()).find((k) => k.name === "ci" && k.revoked_at === null)!;
    await acme.keys.update(ci.id, { scopes: ["acme/*"] });

    const diff = await cli(["diff", "-f", path]);
    expect(diff.code).toBe(2);
    // drift says so on stderr, so a script can tell it from an invalid file (also exit 2)
    expect(diff.stderr).toMatch(/^keygate diff: drift: keygate differs from .*keygate\.yaml \(0 to create, 2 to update, 0 to prune\)$/m);
    expect(diff.stdout).toContain("~ update deployment acme/chat: model");
    expect(diff.stdout).toContain("~ update key acme/ci: scopes");
    expect(diff.stdout).toMatch(/Plan: 0 to create, 2 to update, 0 to prune/);

    const before = await auditCount("acme");
    const apply = await cli(["apply", "-f", path]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(await auditCount("acme")).toBe(before + 2);
    expect((await acme.deployments.get("chat")).model).toBe("demo-model");
    expect((await acme.keys.get(ci.id)).scopes).toEqual(["acme/chat"]);
    expect((await cli(["diff", "-f", path])).code).toBe(0);
  });

  it("--dry-run prints the plan and writes nothing; --json gives it to a machine", async () => {
    const changed = file("changed.yaml", config(keygate.originUrl, "[acme/chat, acme/embed]"));
    const before = await auditCount("acme");
    const run = await cli(["apply", "-f", changed, "--dry-run"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("~ update key acme/ci: scopes");
    const json = await cli(["apply", "-f", changed, "--dry-run", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      steps: [{ action: "update", kind: "key", project: "acme", name: "acme/ci", changed: ["scopes"] }],
      summary: { create: 0, update: 1, prune: 0 },
      applied: false,
    });
    expect(await auditCount("acme")).toBe(before);
  });

  it("never deletes without --prune; --prune deletes only in the file's projects and only the kinds it lists", async () => {
    const acme = kg.withProject("acme");
    await kg.projects.create({ slug: "other" });
    const other = kg.withProject("other");
    await other.deployments.create({ slug: "keep", origin: { url: keygate.originUrl } });
    await other.applications.create({ name: "keep" });
    await acme.deployments.create({ slug: "stray", origin: { url: keygate.originUrl } });
    const stray = await acme.applications.create({ name: "stray" });
    await acme.policies.create({ name: "stray", application_id: stray.id, rules: [{ permission_set: "InferenceReadOnly", deployments: ["*"] }] });
    await acme.keys.create({ name: "stray", scopes: ["acme/stray"] });
    const token = await acme.tokens.create({ name: "ops", role: "full" });

    const plain = await cli(["apply", "-f", path]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain("No changes");
    expect((await cli(["diff", "-f", path])).code).toBe(0);
    expect((await cli(["diff", "-f", path, "--prune"])).code).toBe(2);

    const pruned = await cli(["apply", "-f", path, "--prune"]);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain("- prune policy acme/stray");
    expect(pruned.stdout).toContain("- prune (revoke) key acme/stray");
    expect(pruned.stdout).toContain("- prune application acme/stray");
    expect(pruned.stdout).toContain("- prune deployment acme/stray");
    expect((await acme.deployments.list().toArray()).map((d) => d.slug).sort()).toEqual(["chat", "embed"]);
    expect((await acme.keys.list().toArray()).find((k) => k.name === "stray")!.revoked_at).not.toBeNull();
    expect((await acme.tokens.list().toArray()).find((t) => t.id === token.id)!.revoked_at).toBeNull();
    // another project, not in the file, is untouched
    expect((await other.deployments.list().toArray()).map((d) => d.slug)).toEqual(["keep"]);
    expect((await other.applications.list().toArray()).map((a) => a.name)).toEqual(["keep"]);

    // a kind the project entry does not list is not pruned
    await acme.deployments.create({ slug: "unmanaged", origin: { url: keygate.originUrl } });
    const onlyApps = file("apps.yaml", "version: 1\nprojects:\n  - slug: acme\n    applications:\n      - name: billing\n");
    const run = await cli(["apply", "-f", onlyApps, "--prune", "--dry-run"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("No changes");
  });

  it("export | apply round-trips with no write; header values are never exported", async () => {
    const exported = await cli(["export"]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).not.toContain(ORIGIN_SECRET);
    expect(exported.stdout).toMatch(/Authorization:\s+env: ACME_CHAT_AUTHORIZATION/);
    const path = file("exported.yaml", exported.stdout);
    const before = await auditCount("acme", "other");
    const apply = await cli(["apply", "-f", path, "--prune"]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toContain("No changes");
    expect(await auditCount("acme", "other")).toBe(before);
    expect((await cli(["diff", "-f", path, "--prune"])).code).toBe(0);
    const one = await cli(["export", "--project", "other"]);
    expect(one.stdout).toContain("slug: other");
    expect(one.stdout).not.toContain("slug: acme");
  });

  it("needs a header variable only when a write sends the value", async () => {
    const moved = file("moved.yaml", config(`${keygate.originUrl}/v0`));
    const run = await cli(["apply", "-f", moved]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("CHAT_ORIGIN_TOKEN not set: update deployment acme/chat");
    const withEnv = await cli(["apply", "-f", moved], env);
    expect(withEnv.code, withEnv.stderr).toBe(0);
    expect(withEnv.stdout + withEnv.stderr).not.toContain(ORIGIN_SECRET);
    expect((await kg.withProject("acme").deployments.get("chat")).origin.url).toBe(`${keygate.originUrl}/v0`);
  });

  it("reports a YAML error and a validation error at their line, with exit 2 and no write", async () => {
    const before = await auditCount("acme");
    const syntax = await cli(["apply", "-f", file("syntax.yaml", "version: 1\nprojects:\n  - slug: acme\n    keys: [\n")]);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toMatch(/syntax\.yaml:\d+:\d+: /);

    const invalid = file(
      "invalid.yaml",
      "version: 1\nprojects:\n  - slug: acme\n    deployments:\n      - slug: chat\n        origin:\n          url: http://x\n          headers:\n            Authorization: Bearer plain\n    keys:\n      - name: ci\n        scopes: [acme/nope]\n",
    );
    const bad = await cli(["diff", "-f", invalid]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("invalid.yaml:9:28: projects[0].deployments[0].origin.headers.Authorization: a header value is a secret");
    expect(bad.stderr).not.toContain("Bearer plain");
    expect(bad.stderr).toContain(`keygate diff: ${invalid} is not valid; nothing was compared`);
    expect(bad.stderr).not.toMatch(/^keygate diff: drift/m);

    // {env: NAME} takes an upper-case variable name: a secret pasted there is refused at its line, never repeated
    const pasted = file(
      "pasted.yaml",
      "version: 1\nprojects:\n  - slug: acme\n    deployments:\n      - slug: chat\n        origin:\n          url: http://x\n          headers:\n            Authorization: {env: sk_live_abc123}\n",
    );
    const env = await cli(["apply", "-f", pasted]);
    expect(env.code).toBe(2);
    expect(env.stderr).toContain("pasted.yaml:9:34: projects[0].deployments[0].origin.headers.Authorization.env: must be an environment variable's NAME");
    expect(env.stderr).not.toContain("sk_live_abc123");

    const reference = file("reference.yaml", "version: 1\nprojects:\n  - slug: acme\n    deployments: []\n    keys:\n      - name: ci\n        scopes: [acme/nope]\n");
    const ref = await cli(["apply", "-f", reference]);
    expect(ref.code).toBe(2);
    expect(ref.stderr).toContain("reference.yaml:7:18: projects[0].keys[0].scopes[0]: no deployment 'nope'");
    expect(await auditCount("acme")).toBe(before);
  });

  it("refuses a change the API cannot make in place, before any write", async () => {
    const before = await auditCount("acme");
    const moved = file("moved-key.yaml", "version: 1\nprojects:\n  - slug: acme\n    keys:\n      - name: ci\n        application: billing\n");
    const run = await cli(["apply", "-f", moved]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/! key acme\/ci: .*a key's application cannot change/);
    expect(await auditCount("acme")).toBe(before);
  });

  it("runs the README's config example as written: examples/keygate.yaml planned, applied, then no drift", async () => {
    // The example names npm start's demo origin (port 8788); here the demo origin has a free port of its own.
    const example = readFileSync(join(ROOT, "examples", "keygate.yaml"), "utf8");
    expect(example).toContain("http://127.0.0.1:8788");
    const copy = file("example.yaml", example.replaceAll("http://127.0.0.1:8788", keygate.originUrl));
    const block = readmeScript(readFileSync(join(ROOT, "README.md"), "utf8"), "config-example");
    // The reader has KEYGATE_BASE_URL and KEYGATE_TOKEN exported from the CLI quick start just above it.
    const script = `export KEYGATE_BASE_URL="$KEYGATE" KEYGATE_TOKEN='${keygate.adminToken}'\n${block.replaceAll("examples/keygate.yaml", copy)}`;
    const stdout = await runReadmeScript(keygate, script);

    const [dryRun, applied] = stdout.split(/^(?=\+ create project shop)/m).filter((part) => part.includes("Plan:"));
    expect(dryRun).toMatch(/Plan: 7 to create, 0 to update, 0 to prune/);
    expect(applied).toContain("+ create policy shop/backend-chat");
    const secrets = Object.fromEntries([...stdout.matchAll(/^ {2}shop\/(\S+) {2}(ik_live_\S+)$/gm)].map((m) => [m[1], m[2]]));
    expect(Object.keys(secrets).sort()).toEqual(["backend-prod", "dashboard"]);

    // What the file says holds on the data plane: the dashboard key lists models and may not chat; the backend's may.
    const call = (key: string, path: string, init: RequestInit = {}) =>
      fetch(`${keygate.url}/endpoint/shop/chat${path}`, { ...init, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } });
    const chat = { method: "POST", body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "Hi" }] }) };
    expect((await call(secrets.dashboard!, "/v1/models")).status).toBe(200);
    expect((await call(secrets.dashboard!, "/v1/chat/completions", chat)).status).toBe(403);
    expect((await call(secrets["backend-prod"]!, "/v1/chat/completions", chat)).status).toBe(200);
  });

  it("export leaves out a whole kind it cannot write faithfully, so export | apply --prune revokes and deletes nothing", async () => {
    // Two live keys of one name; a budget on a revoked key; a policy rule whose only deployment was deleted.
    await kg.projects.create({ slug: "messy" });
    const messy = kg.withProject("messy");
    await messy.deployments.create({ slug: "kept", origin: { url: keygate.originUrl } });
    await messy.deployments.create({ slug: "gone", origin: { url: keygate.originUrl } });
    const app = await messy.applications.create({ name: "app" });
    await messy.policies.create({ name: "p", application_id: app.id, rules: [{ permission_set: "InferenceReadOnly", deployments: ["gone"] }] });
    await messy.deployments.delete("gone");
    expect((await messy.policies.list().toArray())[0]!.rules[0]!.deployments).toEqual([]);
    const twins = [await messy.keys.create({ name: "twin", scopes: ["messy/kept"] }), await messy.keys.create({ name: "twin", scopes: ["messy/kept"] })];
    const old = await messy.keys.create({ name: "old", scopes: ["messy/kept"] });
    await messy.budgets.create({ subject: { type: "key", id: old.id }, period: "day", limit_tokens: 10 });
    await messy.budgets.create({ subject: { type: "project", id: "messy" }, period: "month", limit_tokens: 1000 });
    await messy.keys.revoke(old.id);

    const exported = await cli(["export", "-p", "messy"]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/^ {4}deployments:/m);
    expect(exported.stdout).toMatch(/^ {4}applications:/m);
    for (const kind of ["policies", "keys", "budgets"]) {
      expect(exported.stdout).not.toMatch(new RegExp(`^ {4}${kind}:`, "m"));
      expect(exported.stderr).toContain(`keygate export: project messy: '${kind}:' left out, so apply leaves this project's ${kind} alone`);
    }
    expect(exported.stderr).toContain("several unrevoked keys are named 'twin'");
    expect(exported.stderr).toContain("policy 'p' has a rule with no deployment left");

    const path = file("messy.yaml", exported.stdout);
    const before = await auditCount("messy");
    expect((await cli(["diff", "-f", path, "--prune"])).code).toBe(0);
    const apply = await cli(["apply", "-f", path, "--prune"]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toContain("No changes");
    expect(await auditCount("messy")).toBe(before);
    for (const twin of twins) expect((await messy.keys.get(twin.id)).revoked_at).toBeNull();
    expect(await messy.budgets.list().toArray()).toHaveLength(2);
    expect(await messy.policies.list().toArray()).toHaveLength(1);

    // KEYGATE_PROJECT picks the project, as for every other command; --all exports every project even with it set;
    // --all and -p together are a usage error
    const fromEnv = await cli(["export"], { KEYGATE_PROJECT: "messy" });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(fromEnv.stdout).toBe(exported.stdout);
    const all = await cli(["export", "--all"], { KEYGATE_PROJECT: "messy" });
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain("slug: messy");
    expect(all.stdout).toContain("slug: acme");
    expect((await cli(["export", "--all", "-p", "messy"])).code).toBe(2);
    // -p beats KEYGATE_PROJECT
    const flag = await cli(["export", "-p", "acme"], { KEYGATE_PROJECT: "messy" });
    expect(flag.stdout).toContain("slug: acme");
    expect(flag.stdout).not.toContain("slug: messy");
  });

  it("shows under a prune line what the API deletes or changes with it, in text and in --json", async () => {
    await kg.projects.create({ slug: "casc" });
    const casc = kg.withProject("casc");
    await casc.deployments.create({ slug: "chat", origin: { url: keygate.originUrl } });
    await casc.deployments.create({ slug: "embed", origin: { url: keygate.originUrl } });
    const billing = await casc.applications.create({ name: "billing" });
    await casc.policies.create({ name: "billing-chat", application_id: billing.id, rules: [{ permission_set: "InferenceReadOnly", deployments: ["chat"] }] });
    await casc.keys.create({ name: "billing-prod", application_id: billing.id });
    const ci = await casc.keys.create({ name: "ci", scopes: ["casc/chat", "casc/embed"] });
    await casc.budgets.create({ subject: { type: "application", id: billing.id }, period: "month", limit_tokens: 1000 });

    const noApps = file("casc-apps.yaml", "version: 1\nprojects:\n  - slug: casc\n    applications: []\n");
    const apps = await cli(["apply", "-f", noApps, "--prune", "--dry-run"]);
    expect(apps.code, apps.stderr).toBe(0);
    expect(apps.stdout).toContain(
      [
        "- prune application casc/billing",
        "    also revokes key casc/billing-prod (its application goes)",
        "    also deletes policy casc/billing-chat (its application goes)",
        "    also deletes budget casc/application:billing/month (its application goes)",
      ].join("\n"),
    );
    const json = JSON.parse((await cli(["apply", "-f", noApps, "--prune", "--dry-run", "--json"])).stdout);
    expect(json.steps[0].cascade).toEqual([
      { action: "revoke", kind: "key", name: "casc/billing-prod" },
      { action: "delete", kind: "policy", name: "casc/billing-chat" },
      { action: "delete", kind: "budget", name: "casc/application:billing/month" },
    ]);

    const onlyEmbed = file("casc-deployments.yaml", `version: 1\nprojects:\n  - slug: casc\n    deployments:\n      - slug: embed\n        origin: {url: ${keygate.originUrl}}\n`);
    const deployments = await cli(["apply", "-f", onlyEmbed, "--prune"]);
    expect(deployments.code, deployments.stderr).toBe(0);
    expect(deployments.stdout).toContain(
      [
        "- prune deployment casc/chat",
        "    also removes casc/chat from key casc/ci's scopes",
        "    also removes chat from policy casc/billing-chat's rules (a rule is left with no deployment)",
      ].join("\n"),
    );
    // what the plan said is what happened
    expect((await casc.keys.get(ci.id)).scopes).toEqual(["casc/embed"]);
    expect((await casc.policies.list().toArray())[0]!.rules[0]!.deployments).toEqual([]);
  });

  it("gives every exported header variable a name of its own", async () => {
    await kg.projects.create({ slug: "a-b" });
    await kg.projects.create({ slug: "a" });
    await kg.withProject("a-b").deployments.create({ slug: "c", origin: { url: keygate.originUrl, headers: { K: "secret-of-a-b" } } });
    await kg.withProject("a").deployments.create({
      slug: "b-c",
      origin: { url: keygate.originUrl, headers: { K: "secret-of-a", "X-Api-Key": "x1", X_Api_Key: "x2" } },
    });
    const exported = await cli(["export"], { KEYGATE_PROJECT: "" });
    expect(exported.code, exported.stderr).toBe(0);
    const names = [...exported.stdout.matchAll(/env: (\S+)/g)].map((m) => m[1]!);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(["A_B_C_K", "A_B_C_K_2", "A_B_C_X_API_KEY", "A_B_C_X_API_KEY_2"]));
    // deterministic: the same state, the same names
    expect((await cli(["export"], { KEYGATE_PROJECT: "" })).stdout).toBe(exported.stdout);
    const path = file("all.yaml", exported.stdout);
    const run = await cli(["apply", "-f", path, "--prune", "--dry-run"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("No changes");
  });

  it("has each new key's secret on disk before the next write, so an apply killed half-way loses none", async () => {
    // A proxy in front of keygate that holds the first budget create: the run stops there, after both keys.
    let held: () => void;
    const budgetHeld = new Promise<void>((resolve) => (held = resolve));
    const body = (req: IncomingMessage) =>
      new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c)).on("end", () => resolve(Buffer.concat(chunks)));
      });
    const proxy = createServer(async (req, res) => {
      const payload = await body(req);
      if (req.method === "POST" && req.url!.endsWith("/budgets")) return held();
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([h]) => !["host", "connection", "content-length"].includes(h))) as Record<string, string>;
      const answer = await fetch(`${keygate.url}${req.url}`, { method: req.method, headers, body: payload.length > 0 ? new Uint8Array(payload) : undefined });
      res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" });
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    try {
      const path = file(
        "killed.yaml",
        "version: 1\nprojects:\n  - slug: killed\n    deployments: []\n    keys:\n      - name: one\n        scopes: []\n      - name: two\n        scopes: []\n    budgets:\n      - subject: project\n        period: day\n        limit_tokens: 10\n",
      );
      const secretsOut = join(dir, "killed-secrets.json");
      const child = execFile(process.execPath, [join(ROOT, "bin", "keygate.js"), "apply", "-f", path, "--secrets-out", secretsOut], {
        env: { ...process.env, KEYGATE_BASE_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, KEYGATE_TOKEN: keygate.adminToken },
      });
      const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
      await Promise.race([budgetHeld, exited]);
      child.kill("SIGKILL");
      await exited;
      const secrets = JSON.parse(readFileSync(secretsOut, "utf8")).keys as { name: string; key: string }[];
      expect(secrets.map((s) => s.name)).toEqual(["one", "two"]);
      expect(secrets.every((s) => s.key.startsWith("ik_live_"))).toBe(true);
      expect(statSync(secretsOut).mode & 0o777).toBe(0o600);
      expect(await kg.withProject("killed").budgets.list().toArray()).toEqual([]);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });

  it("reports a file it cannot read or write in one clean line, with exit 2", async () => {
    const existing = file("exists.yaml", "keep me\n");
    const over = await cli(["export", "-o", existing]);
    expect(over.code).toBe(2);
    expect(over.stderr).toContain(`-o ${existing}: the file exists; export never overwrites a file`);
    expect(over.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(existing, "utf8")).toBe("keep me\n");

    const noDir = await cli(["export", "-o", join(dir, "no-such-dir", "out.yaml")]);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toContain("cannot create it (ENOENT)");
    expect(noDir.stderr).not.toMatch(/\n\s+at /);

    const written = join(dir, "written.yaml");
    expect((await cli(["export", "-p", "acme", "-o", written])).code).toBe(0);
    expect(readFileSync(written, "utf8")).toContain("slug: acme");

    const aDir = join(dir, "a-directory");
    mkdirSync(aDir);
    for (const [args, message] of [
      [["apply", "-f", aDir], `${aDir}: cannot read it (EISDIR)`],
      [["diff", "-f", join(dir, "missing.yaml")], `${join(dir, "missing.yaml")}: cannot read it (ENOENT)`],
      [["export", "-p", "no-such-project"], "project no-such-project: it does not exist"],
    ] as const) {
      const run = await cli([...args]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
