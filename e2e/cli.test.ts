// The keygate CLI as a user runs it: bin/keygate.js spawned with KEYGATE_* in its environment, against the real
// Worker and demo origin (`npm start`). Every check reads what the user would read: exit codes, the table, --json,
// stderr; and the data plane's own answer to the key the CLI made.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMANDS } from "../cli/commands/index.ts";
import { type Keygate, readmeScript, ROOT, runReadmeScript, startKeygate } from "./lib/keygate.ts";

/** Parsed JSON, read loosely in assertions (a wrong shape fails the assertion, not the type check). */
type Json = Record<string, any>;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let keygate: Keygate;
/** Every stdout and stderr the CLI printed in this file, to prove a secret never appears in any of them. */
const printed: string[] = [];

beforeAll(async () => {
  keygate = await startKeygate();
});

afterAll(async () => {
  await keygate?.stop();
});

/** `keygate …args` with the caller's KEYGATE_* variables replaced by `env` (so the test's shell cannot leak in). */
async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("KEYGATE_")));
  const run = await promisify(execFile)(process.execPath, [join(ROOT, "bin", "keygate.js"), ...args], {
    cwd: ROOT,
    env: { ...base, KEYGATE_BASE_URL: keygate.url, KEYGATE_TOKEN: keygate.adminToken, ...env },
    timeout: 30_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" }),
  );
  printed.push(run.stdout, run.stderr);
  return run;
}

/** The command must succeed; its stdout. */
async function ok(args: string[], env?: Record<string, string | undefined>): Promise<string> {
  const run = await cli(args, env);
  expect(run.code, `keygate ${args.join(" ")}\n${run.stderr}${run.stdout}`).toBe(0);
  return run.stdout;
}

const json = async (args: string[], env?: Record<string, string | undefined>): Promise<any> => JSON.parse(await ok([...args, "--json"], env));

/** A table's rows as objects keyed by header (columns are split on runs of two or more spaces). */
function table(stdout: string): Record<string, string>[] {
  const [header, ...lines] = stdout.trimEnd().split("\n");
  const names = header!.split(/ {2,}/);
  return lines.map((line) => Object.fromEntries(line.split(/ {2,}/).map((cell, i) => [names[i], cell])));
}

const call = (path: string, key: string) =>
  fetch(`${keygate.url}/endpoint/flow/chat${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "Hi" }] }),
  });

describe("keygate CLI", () => {
  it("runs the README's CLI quick start as written: project, deployment, key, a 200, revoke, a 401", async () => {
    const stdout = await runReadmeScript(keygate, readmeScript(readFileSync(join(ROOT, "README.md"), "utf8"), "quickstart-cli"));
    const lines = stdout.trimEnd().split("\n");
    const completion = lines.filter((line) => line.startsWith('{"')).map((line) => JSON.parse(line) as Json).find((o) => o.object === "chat.completion");
    expect(completion?.choices[0].message.content, stdout).toBe("You said: Hello, keygate");
    expect(stdout).toMatch(/^slug +demo$/m);
    expect(stdout).toMatch(/^revoked_at +\d{4}-\d\d-\d\dT/m);
    expect(JSON.parse(lines.at(-2)!).error.code).toBe("invalid_api_key");
    expect(lines.at(-1)).toBe("HTTP 401");
  });

  it("does the whole flow alone, in tables and JSON, and never prints an origin header's value", async () => {
    const originSecret = `origin-secret-${crypto.randomUUID()}`;
    const env = { KEYGATE_PROJECT: "flow", ORIGIN_SECRET: originSecret };

    await ok(["projects", "create", "flow", "--name", "Flow"]);
    expect(table(await ok(["projects", "list"]))).toContainEqual(expect.objectContaining({ SLUG: "flow", NAME: "Flow", SUSPENDED: "false" }));
    const deployment = await json(
      ["deployments", "create", "chat", "--origin-url", keygate.originUrl, "--origin-header", "X-Origin-Secret=ORIGIN_SECRET", "--model", "demo-model"],
      env,
    );
    expect(deployment).toMatchObject({ slug: "chat", model: "demo-model", origin: { url: keygate.originUrl, header_names: ["X-Origin-Secret"] } });
    expect(table(await ok(["deployments", "list"], env))).toEqual([
      { SLUG: "chat", NAME: "chat", ORIGIN: keygate.originUrl, MODEL: "demo-model", AUTH: "on", URL: `${keygate.url}/endpoint/flow/chat` },
    ]);

    // Table mode: the key's fields, then the secret on the line after "shown once".
    const created = await ok(["keys", "create", "--name", "ci", "--scope", "chat", "--ip-allow", "127.0.0.1/32", "--ip-allow", "::1/128"], env);
    const lines = created.trimEnd().split("\n");
    expect(lines.at(-2)).toMatch(/shown once/);
    const secret = lines.at(-1)!;
    expect(secret).toMatch(/^ik_live_\w+$/);
    const keyId = /^id +(key_\w+)$/m.exec(created)![1]!;
    expect(created).toMatch(/^scopes +flow\/chat$/m);
    expect(created).toMatch(/^conditions +\{"ip_allow":\["127\.0\.0\.1\/32","::1\/128"\]\}$/m);

    expect((await call("/v1/chat/completions", secret)).status).toBe(200);

    const listed = await json(["keys", "list"], env);
    expect(listed).toEqual([expect.objectContaining({ id: keyId, object: "api_key", name: "ci", scopes: ["flow/chat"], revoked_at: null })]);
    expect(listed[0]).not.toHaveProperty("key");
    expect(table(await ok(["keys", "list"], env))).toEqual([expect.objectContaining({ ID: keyId, NAME: "ci", "SCOPES / APPLICATION": "flow/chat", STATUS: "active" })]);
    expect(table(await ok(["deployments", "keys", "chat"], env)).map((row) => row.ID)).toEqual([keyId]);

    // Revoked with the CLI: the very next request is refused, and the table says so.
    expect(await json(["keys", "revoke", keyId], env)).toMatchObject({ id: keyId, revoked_at: expect.any(String) });
    const refused = await call("/v1/chat/completions", secret);
    expect(refused.status).toBe(401);
    expect((await refused.json()).error.code).toBe("invalid_api_key");
    expect(table(await ok(["keys", "list"], env))[0]).toMatchObject({ ID: keyId, STATUS: "revoked" });

    // The value reached keygate (its name is stored) but was never printed, by any command in this file.
    expect((await json(["deployments", "get", "chat"], env)).origin.header_names).toEqual(["X-Origin-Secret"]);
    expect(printed.join("\n")).not.toContain(originSecret);
  });

  it("covers roll, link and unlink, applications, policies, explain, budgets, usage, audit and --limit", async () => {
    const env = { KEYGATE_PROJECT: "flow" };
    const key = await json(["keys", "create", "--name", "roller", "--scope", "chat"], env);
    expect((await call("/v1/chat/completions", key.key)).status).toBe(200);

    const rolled = await json(["keys", "roll", key.id], env);
    expect(rolled.id).toBe(key.id);
    expect(rolled.key).not.toBe(key.key);
    expect((await call("/v1/chat/completions", key.key)).status).toBe(401);
    expect((await call("/v1/chat/completions", rolled.key)).status).toBe(200);

    await ok(["deployments", "create", "embed", "--origin-url", keygate.originUrl], env);
    expect((await json(["keys", "link", key.id, "embed"], env)).scopes).toEqual(["flow/chat", "flow/embed"]);
    expect((await json(["keys", "unlink", key.id, "chat"], env)).scopes).toEqual(["flow/embed"]);
    expect((await call("/v1/chat/completions", rolled.key)).status).toBe(403);
    expect(await json(["explain", key.id, "chat"], env)).toMatchObject({ allowed: false, status: 403, code: "scope_insufficient" });

    const app = await json(["apps", "create", "--name", "backend", "--description", "the API server"], env);
    const policy = await json(["policies", "create", "--name", "read-models", "--application", app.id, "--rule", "InferenceReadOnly=chat"], env);
    expect(policy.rules).toEqual([{ permission_set: "InferenceReadOnly", deployments: ["chat"], conditions: {} }]);
    expect(table(await ok(["policies", "list"], env))).toEqual([expect.objectContaining({ ID: policy.id, APPLICATION: app.id, RULES: "InferenceReadOnly=chat" })]);
    const appKey = await json(["keys", "create", "--name", "backend-1", "--application", app.id], env);
    expect(await json(["explain", appKey.id, "chat", "--path", "/v1/models", "--method", "GET"], env)).toMatchObject({ allowed: true, policy_id: policy.id, rule_index: 0 });
    expect(await json(["explain", appKey.id, "chat"], env)).toMatchObject({ allowed: false, code: "scope_insufficient" });
    await ok(["policies", "update", policy.id, "--rule", "InferenceFullAccess=*"], env);
    expect(await json(["explain", appKey.id, "chat"], env)).toMatchObject({ allowed: true });

    const budget = await json(["budgets", "create", "--subject", `application:${app.id}`, "--limit-tokens", "5000", "--period", "month", "--mode", "soft"], env);
    expect(budget).toMatchObject({ subject: { type: "application", id: app.id }, limit_tokens: 5000, period: "month", mode: "soft" });
    // 0 is a limit (a budget that refuses everything), as the API takes it.
    expect((await json(["budgets", "update", budget.id, "--limit-tokens", "0"], env)).limit_tokens).toBe(0);
    expect((await json(["budgets", "update", budget.id, "--limit-tokens", "7000"], env)).limit_tokens).toBe(7000);
    expect(table(await ok(["budgets", "list"], env))).toEqual([expect.objectContaining({ ID: budget.id, SUBJECT: `application:${app.id}`, LIMIT: "7000" })]);

    // The calls above were counted (usage rows appear once the coalesced batch is written).
    await expect.poll(async () => (await json(["usage", "--deployment", "chat"], env)).length, { timeout: 15_000 }).toBeGreaterThan(0);

    const audit = await json(["audit", "--limit", "4"], env);
    expect(audit.map((event: Json) => event.action)).toEqual(["budget.update", "budget.update", "budget.create", "policy.update"]);
    expect(await json(["keys", "list", "--limit", "2"], env)).toHaveLength(2);
    expect(await json(["keys", "list", "--application", app.id], env)).toEqual([expect.objectContaining({ id: appKey.id })]);

    // Deletes want --yes; with it they happen.
    const unconfirmed = await cli(["apps", "delete", app.id], env);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain("--yes");
    await ok(["apps", "delete", app.id, "--yes"], env);
    expect((await cli(["apps", "get", app.id], env)).code).toBe(1);
    expect(await json(["keys", "get", appKey.id], env)).toMatchObject({ revoked_at: expect.any(String) });
  }, 300_000);

  it("exits 1 with the API's error code, and 2 for a wrong command line or a missing setting", async () => {
    const env = { KEYGATE_PROJECT: "flow" };
    const notFound = await cli(["deployments", "get", "nope"], env);
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toMatch(/error not_found \(HTTP 404\)/);
    expect((await cli(["projects", "create", "flow"])).stderr).toMatch(/error conflict \(HTTP 409\)/);

    for (const [args, message] of [
      [["keys", "list", "--bogus"], "Unknown option '--bogus'"],
      [["keys", "get"], "missing <key_id>"],
      [["keys", "link", "key_x"], "missing <deployment>"],
      [["keys", "create", "--name", "x"], "give --scope"],
      [["keys", "list", "--limit", "zero"], "--limit must be a whole number"],
      [["deployments", "delete", "chat"], "add --yes"],
      [["deployments", "update", "chat"], "nothing to change"],
      [["budgets", "create", "--subject", "team:x", "--limit-tokens", "1", "--period", "day"], "--subject takes"],
      [["policies", "create", "--data", "{not json"], "--data is not valid JSON"],
      [["keys", "frob"], "'keys frob' is not a command"],
      [["frob"], "unknown command 'frob'"],
    ] as const) {
      const run = await cli([...args], env);
      expect(run.code, `keygate ${args.join(" ")}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toContain(message);
    }

    const noToken = await cli(["keys", "list"], { ...env, KEYGATE_TOKEN: undefined });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain("pass --token or set KEYGATE_TOKEN");
    const noProject = await cli(["keys", "list"]);
    expect(noProject.code).toBe(2);
    expect(noProject.stderr).toContain("pass --project (-p) or set KEYGATE_PROJECT");
    // Flags beat variables: -p names the project even with KEYGATE_PROJECT set to another.
    expect(await json(["-p", "flow", "deployments", "list"], { KEYGATE_PROJECT: "demo" })).toEqual(expect.arrayContaining([expect.objectContaining({ project: "flow" })]));

    // An origin header's value comes only from the environment: an unset variable, or a value typed where the
    // variable's name belongs, is a usage error that does not echo it.
    const unset = await cli(["deployments", "create", "x", "--origin-url", keygate.originUrl, "--origin-header", "Authorization=NOT_SET_ANYWHERE"], env);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain("the environment variable NOT_SET_ANYWHERE is not set");
    const typed = await cli(["deployments", "create", "x", "--origin-url", keygate.originUrl, "--origin-header", "Authorization=Bearer sk-typed-secret"], env);
    expect(typed.code).toBe(2);
    expect(typed.stderr).not.toContain("sk-typed-secret");
    // A token that is all letters and digits looks like a name to a lax rule; variable names are upper case.
    const token = await cli(["deployments", "create", "x", "--origin-url", keygate.originUrl, "--origin-header", "Authorization=hf_AbCdEf0123456789"], env);
    expect(token.code).toBe(2);
    expect(token.stderr).not.toContain("AbCdEf0123456789");
    const badJson = await cli(["deployments", "create", "x", "--data", '{"origin": {"url": "x", "headers": {"Authorization": Bearer sk-in-json}}}'], env);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain("--data is not valid JSON");
    expect(badJson.stderr).not.toContain("sk-in-json");
    expect((await cli(["deployments", "get", "x"], env)).code).toBe(1);
  });

  it("gives a read_only token exit 1 scope_insufficient on a write, and lets it read", async () => {
    const created = await ok(["tokens", "create", "--name", "dashboards", "--role", "read_only"], { KEYGATE_PROJECT: "flow" });
    const token = created.trimEnd().split("\n").at(-1)!;
    expect(token).toMatch(/^ik_sdk_\w+$/);
    const id = /^id +(tok_\w+)$/m.exec(created)![1]!;
    expect(await json(["tokens", "get", id], { KEYGATE_PROJECT: "flow" })).toMatchObject({ id, role: "read_only", revoked_at: null });

    const env = { KEYGATE_PROJECT: "flow", KEYGATE_TOKEN: token };
    expect((await json(["keys", "list"], env)).length).toBeGreaterThan(0);
    const write = await cli(["keys", "create", "--name", "nope", "--scope", "chat"], env);
    expect(write.code).toBe(1);
    expect(write.stderr).toMatch(/error scope_insufficient \(HTTP 403\)/);

    await ok(["tokens", "revoke", id], { KEYGATE_PROJECT: "flow" });
    const revoked = await cli(["keys", "list"], env);
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toContain("invalid_api_key");
  });

  it("answers --help on every command and group with exit 0 and a usage line", async () => {
    const groups = [...new Set(COMMANDS.filter((c) => c.name.includes(" ")).map((c) => c.name.split(" ")[0]!))];
    const targets = [[], ...groups.map((group) => [group]), ...COMMANDS.map((c) => c.name.split(" "))];
    // A few at a time: each is a Node start-up (about a second on a busy machine), hence this test's own timeout.
    for (let i = 0; i < targets.length; i += 6) {
      await Promise.all(targets.slice(i, i + 6).map(async (words) => {
        const run = await cli([...words, "--help"], { KEYGATE_TOKEN: undefined });
        expect(run.code, `keygate ${words.join(" ")} --help: ${run.stderr}`).toBe(0);
        expect(run.stdout).toContain(words.length === 0 ? "Usage: keygate <command>" : `Usage: keygate ${words.join(" ")}`);
      }));
    }
    // --version is the package's own, read from package.json (a release changes only that).
    const version = await cli(["--version"], { KEYGATE_TOKEN: undefined });
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);
  }, 300_000);
});
