// The SDK end to end: every resource of ManagementClient once, its errors and lists, and DataClient with the official
// openai package, against keygate as `npm start` runs it (wrangler dev in front of the demo origin). One keygate for
// the file; the tests run in order and build on each other's objects.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { DataClient, KeygateError, ManagementClient } from "../sdk/index.ts";
import type { ApiKeyWithSecret, Application, Deployment, Policy } from "../sdk/index.ts";
import { freePorts, type Keygate, startKeygate } from "./lib/keygate.ts";

const PROJECT = "sdk-e2e";
const OTHER = "sdk-other";
const ORIGIN_MODEL = "demo-model";
const REQUEST_ID = /^req_[0-9a-f]{32}$/;

let keygate: Keygate;
/** The root admin, for PROJECT; `env: {}` so a KEYGATE_* variable of the shell running the tests changes nothing. */
let kg: ManagementClient;
/** The x-request-id of every answer the recording client got, in order. */
const requestIds: (string | null)[] = [];
const recordingFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  requestIds.push(response.headers.get("x-request-id"));
  return response;
};

let chat: Deployment;
let standalone: ApiKeyWithSecret;
let application: Application;
let appKey: ApiKeyWithSecret;
let policy: Policy;

const data = (apiKey: string) => new DataClient({ baseUrl: keygate.url, apiKey, project: PROJECT, env: {} });

/** The KeygateError `promise` rejects with (fails the test when it resolves or rejects with something else). */
async function failure(promise: Promise<unknown>): Promise<KeygateError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(KeygateError);
  return error as KeygateError;
}

/** Polls `read` until `done` holds (usage and budgets are written after the answer). */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not there after 20 s: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  // Usage written 20 ms after a request instead of 5 s, so usage() sees it at once.
  keygate = await startKeygate({ vars: { USAGE_FLUSH_MS: "20" } });
  kg = new ManagementClient({ baseUrl: keygate.url, token: keygate.adminToken, project: PROJECT, env: {}, fetch: recordingFetch });
});

afterAll(async () => {
  await keygate?.stop();
});

describe("ManagementClient, resource by resource", () => {
  it("projects: create, list, get, update (name and the kill switch), delete", async () => {
    const created = await kg.projects.create({ slug: PROJECT, name: "SDK end to end" });
    expect(created).toMatchObject({ object: "project", slug: PROJECT, name: "SDK end to end", suspended: false });
    await kg.projects.create({ slug: OTHER });
    const scratch = await kg.projects.create({ slug: "sdk-scratch" });

    expect((await kg.projects.list().toArray()).map((p) => p.slug)).toEqual([PROJECT, OTHER, "sdk-scratch"]);
    expect(await kg.projects.get()).toEqual(created);
    expect(await kg.projects.get(OTHER)).toMatchObject({ slug: OTHER, name: OTHER });

    expect(await kg.projects.update({ name: "SDK e2e" })).toMatchObject({ slug: PROJECT, name: "SDK e2e" });
    expect(await kg.projects.update({ suspended: true }, OTHER)).toMatchObject({ slug: OTHER, suspended: true });
    expect(await kg.projects.update({ suspended: false }, OTHER)).toMatchObject({ suspended: false });

    expect(await kg.projects.delete(scratch.slug)).toMatchObject({ slug: "sdk-scratch" });
    const gone = await failure(kg.projects.get("sdk-scratch"));
    expect([gone.status, gone.code]).toEqual([404, "not_found"]);
  });

  it("deployments: create, list, get, update, delete", async () => {
    chat = await kg.deployments.create({ slug: "chat", origin: { url: keygate.originUrl }, model: ORIGIN_MODEL });
    expect(chat).toMatchObject({ object: "deployment", project: PROJECT, slug: "chat", model: ORIGIN_MODEL });
    expect(chat.url).toBe(`${keygate.url}/endpoint/${PROJECT}/chat`);
    const spare = await kg.deployments.create({ slug: "spare", origin: { url: keygate.originUrl } });

    expect((await kg.deployments.list().toArray()).map((d) => d.slug)).toEqual(["chat", "spare"]);
    expect(await kg.deployments.get("chat")).toEqual(chat);
    const renamed = await kg.deployments.update("spare", { name: "Spare", allowed_paths: ["/v1/models"] });
    expect(renamed).toMatchObject({ name: "Spare", allowed_paths: ["/v1/models"] });

    expect(await kg.deployments.delete(spare.slug)).toMatchObject({ slug: "spare" });
    expect((await kg.deployments.list().toArray()).map((d) => d.slug)).toEqual(["chat"]);
  });

  it("keys: create (the secret once), get, update; a deployment's keys(), link and unlink", async () => {
    standalone = await kg.keys.create({ name: "standalone", scopes: [`${PROJECT}/chat`] });
    expect(standalone.key).toMatch(/^ik_live_/);
    expect(standalone).toMatchObject({ object: "api_key", scopes: [`${PROJECT}/chat`], application_id: null });

    const read = await kg.keys.get(standalone.id);
    expect(read).not.toHaveProperty("key");
    expect(read.start).toBe(standalone.key.slice(0, 12));

    const updated = await kg.keys.update(standalone.id, { description: "from the SDK test" });
    expect(updated).toMatchObject({ name: "standalone", description: "from the SDK test" });

    expect((await kg.deployments.keys("chat").toArray()).map((k) => k.id)).toEqual([standalone.id]);
    const other = await kg.deployments.create({ slug: "other", origin: { url: keygate.originUrl } });
    const linked = await kg.deployments.link(other.slug, standalone.id);
    expect(linked.scopes).toEqual(expect.arrayContaining([`${PROJECT}/chat`, `${PROJECT}/other`]));
    expect((await kg.deployments.keys("other").toArray()).map((k) => k.id)).toEqual([standalone.id]);
    expect((await kg.deployments.unlink(other.slug, standalone.id)).scopes).toEqual([`${PROJECT}/chat`]);
    expect(await kg.deployments.keys("other").toArray()).toEqual([]);
  });

  it("applications and policies: create, get, update, list, delete; application keys listed by application_id", async () => {
    application = await kg.applications.create({ name: "support-bot" });
    expect(application).toMatchObject({ object: "application", project: PROJECT, name: "support-bot", description: null });
    expect(await kg.applications.get(application.id)).toEqual(application);
    expect(await kg.applications.update(application.id, { description: "answers tickets" })).toMatchObject({
      description: "answers tickets",
    });

    policy = await kg.policies.create({
      name: "read-chat",
      application_id: application.id,
      rules: [{ permission_set: "InferenceReadOnly", deployments: ["chat"] }],
    });
    expect(policy).toMatchObject({ object: "policy", application_id: application.id, rules: [{ deployments: ["chat"] }] });
    expect(await kg.policies.get(policy.id)).toEqual(policy);
    policy = await kg.policies.update(policy.id, { rules: [{ permission_set: "InferenceFullAccess", deployments: ["chat"] }] });
    expect(policy.rules[0]?.permission_set).toBe("InferenceFullAccess");
    expect((await kg.policies.list({ application_id: application.id }).toArray()).map((p) => p.id)).toEqual([policy.id]);

    appKey = await kg.keys.create({ name: "support-bot key", application_id: application.id });
    expect(appKey).toMatchObject({ application_id: application.id, scopes: [], permission_set: null });
    expect((await kg.keys.list({ application_id: application.id }).toArray()).map((k) => k.id)).toEqual([appKey.id]);
    expect((await kg.keys.list().toArray()).map((k) => k.id)).toEqual([standalone.id, appKey.id]);

    // A second application, to delete: its policy goes with it.
    const doomed = await kg.applications.create({ name: "doomed" });
    const doomedPolicy = await kg.policies.create({
      name: "doomed-rule",
      application_id: doomed.id,
      rules: [{ permission_set: "InferenceReadOnly", deployments: ["*"] }],
    });
    expect((await kg.applications.list().toArray()).map((a) => a.name)).toEqual(["support-bot", "doomed"]);
    expect(await kg.policies.delete(doomedPolicy.id)).toMatchObject({ name: "doomed-rule" });
    expect(await kg.applications.delete(doomed.id)).toMatchObject({ name: "doomed" });
    expect((await kg.applications.list().toArray()).map((a) => a.name)).toEqual(["support-bot"]);
  });

  it("explain: why the data plane would allow a key, and which policy decided", async () => {
    const standaloneDecision = await kg.explain({ key_id: standalone.id, deployment: "chat" });
    expect(standaloneDecision).toMatchObject({ object: "decision", allowed: true, status: 200, code: null });

    const appDecision = await kg.explain({ key_id: appKey.id, deployment: "chat", method: "POST", path: "/v1/chat/completions" });
    expect(appDecision).toMatchObject({ allowed: true, policy_id: policy.id, rule_index: 0 });

    const denied = await kg.explain({ key_id: appKey.id, deployment: "other" });
    expect(denied).toMatchObject({ allowed: false, status: 403, code: "scope_insufficient" });
  });

  it("tokens: create (the secret once), list, revoke; a token's client is limited to its project", async () => {
    const token = await kg.tokens.create({ name: "ci", role: "full" });
    expect(token.token).toMatch(/^ik_sdk_/);
    const listed = await kg.tokens.list().toArray();
    expect(listed.map((t) => t.id)).toEqual([token.id]);
    expect(listed[0]).not.toHaveProperty("token");

    const scoped = new ManagementClient({ baseUrl: keygate.url, token: token.token, project: PROJECT, env: {} });
    expect((await scoped.deployments.list().toArray()).map((d) => d.slug)).toEqual(["chat", "other"]);
    expect((await scoped.projects.list().toArray()).map((p) => p.slug)).toEqual([PROJECT]);
    const elsewhere = await failure(scoped.withProject(OTHER).deployments.list().toArray());
    expect(elsewhere).toMatchObject({ status: 403, type: "permission_error", code: "project_scope_mismatch" });
    const noProjects = await failure(scoped.projects.create({ slug: "sdk-by-token" }));
    expect([noProjects.status, noProjects.code]).toEqual([403, "scope_insufficient"]);

    expect((await kg.tokens.revoke(token.id)).revoked_at).not.toBeNull();
    const revoked = await failure(scoped.projects.get());
    expect([revoked.status, revoked.code]).toEqual([401, "invalid_api_key"]);
  });
});

describe("DataClient", () => {
  it("fetch(deployment, path) with the client's key", async () => {
    const res = await data(standalone.key).fetch("chat", "/v1/models");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toMatch(REQUEST_ID);
    expect(((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id)).toEqual([ORIGIN_MODEL]);
    expect((await data(standalone.key).fetch("other", "v1/models")).status).toBe(403);
  });

  it("openai(deployment): the official client, a chat completion through keygate", async () => {
    const client = new DataClient({ baseUrl: keygate.url, apiKey: appKey.key, project: PROJECT, env: {} });
    expect(client.openaiBaseUrl("chat")).toBe(`${chat.url}/v1`);
    const ai = await client.openai("chat", { maxRetries: 0 });
    const reply = await ai.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "Hello SDK" }] });
    expect(reply.choices[0]?.message.content).toBe("You said: Hello SDK");
    expect(reply.model).toBe(ORIGIN_MODEL);
  });

  it("the kill switch: a suspended project's deployments answer 403 project_suspended", async () => {
    await kg.projects.update({ suspended: true });
    const res = await data(standalone.key).fetch("chat", "/v1/models");
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("project_suspended");
    await kg.projects.update({ suspended: false });
    expect((await data(standalone.key).fetch("chat", "/v1/models")).status).toBe(200);
  });
});

describe("budgets and usage", () => {
  it("budgets: create, get (spent and reserved), update, list, delete; a request's tokens are charged", async () => {
    const budget = await kg.budgets.create({ subject: { type: "key", id: standalone.id }, limit_tokens: 100_000, period: "day" });
    expect(budget).toMatchObject({
      object: "budget",
      subject: { type: "key", id: standalone.id },
      limit_tokens: 100_000,
      period: "day",
      mode: "hard",
      spent_tokens: 0,
      reserved_tokens: 0,
    });
    expect(Date.parse(budget.resets_at!)).toBeGreaterThan(Date.now());
    expect(await kg.budgets.update(budget.id, { limit_tokens: 50_000, mode: "soft" })).toMatchObject({
      limit_tokens: 50_000,
      mode: "soft",
    });

    const ai = await data(standalone.key).openai("chat", { maxRetries: 0 });
    const reply = await ai.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "count me" }] });
    const tokens = reply.usage!.prompt_tokens + reply.usage!.completion_tokens;
    expect(tokens).toBeGreaterThan(0);
    const charged = await eventually(() => kg.budgets.get(budget.id), (b) => b.spent_tokens > 0, "the budget's spend");
    expect(charged).toMatchObject({ spent_tokens: tokens, reserved_tokens: 0 });

    expect((await kg.budgets.list().toArray()).map((b) => b.id)).toEqual([budget.id]);
    expect(await kg.budgets.delete(budget.id)).toMatchObject({ id: budget.id });
    expect(await kg.budgets.list().toArray()).toEqual([]);
  });

  it("usage(): requests and tokens per day, key and deployment", async () => {
    const rows = await eventually(
      () => kg.usage({ key_id: standalone.id }).toArray(),
      (r) => r.some((row) => row.prompt_tokens > 0),
      "the standalone key's usage",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ key_id: standalone.id, deployment: "chat", date: new Date().toISOString().slice(0, 10) });
    // The models list twice, the kill switch's allowed request once, the budget's completion once.
    expect(rows[0]!.requests).toBeGreaterThanOrEqual(3);
    expect(rows[0]!.completion_tokens).toBeGreaterThan(0);
  });
});

describe("keys: roll and revoke, seen by the openai client", () => {
  it("roll with grace: old and new secrets both work; revoke: the openai client gets 401", async () => {
    const rolled = await kg.keys.roll(standalone.id, { grace_seconds: 300 });
    expect(rolled.key).toMatch(/^ik_live_/);
    expect(rolled.key).not.toBe(standalone.key);
    expect((await data(standalone.key).fetch("chat", "/v1/models")).status).toBe(200);
    expect((await data(rolled.key).fetch("chat", "/v1/models")).status).toBe(200);

    expect((await kg.keys.revoke(standalone.id)).revoked_at).not.toBeNull();
    const ai = await data(rolled.key).openai("chat", { maxRetries: 0 });
    const error = await ai.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "hi" }] }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);
    expect((await data(standalone.key).fetch("chat", "/v1/models")).status).toBe(401);
  });
});

describe("audit", () => {
  it("audit(): every change, newest first, each with the x-request-id of the answer that made it", async () => {
    const events = await kg.audit().toArray();
    const actions = events.map((e) => e.action);
    for (const action of ["project.create", "deployment.create", "key.create", "key.link", "key.unlink", "key.roll",
      "key.revoke", "token.create", "token.revoke", "policy.update", "application.delete", "budget.delete"]) {
      expect(actions).toContain(action);
    }
    expect(actions[0]).toBe("key.revoke");
    for (const event of events) expect(event.request_id).toMatch(REQUEST_ID);

    // The recording client saw each answer's x-request-id: the audit event of a change names the same one.
    requestIds.length = 0;
    const made = await kg.applications.create({ name: "audited" });
    const latest = (await kg.audit({ limit: 1 }).pages().next()).value?.data[0];
    expect(latest).toMatchObject({ action: "application.create", target: made.id, actor: "admin", request_id: requestIds[0] });
  });
});

describe("errors", () => {
  it("a validation error: status, type, code, param, message and the answer's request id", async () => {
    requestIds.length = 0;
    const error = await failure(kg.deployments.create({ slug: "Not A Slug", origin: { url: keygate.originUrl } }));
    expect(error).toMatchObject({ name: "KeygateError", status: 400, type: "invalid_request_error", code: "invalid_request", param: "slug" });
    expect(error.message).not.toBe("");
    expect(error.requestId).toMatch(REQUEST_ID);
    expect(error.requestId).toBe(requestIds[0]);
  });

  it("a conflict names its field; an unknown object is 404", async () => {
    const taken = await failure(kg.projects.create({ slug: PROJECT }));
    expect(taken).toMatchObject({ status: 409, type: "invalid_request_error", code: "conflict", param: "slug" });
    const missing = await failure(kg.deployments.get("nowhere"));
    expect(missing).toMatchObject({ status: 404, type: "not_found_error", code: "not_found" });
  });

  it("a bad token is 401; an ik_live_ key is not a management credential (403)", async () => {
    const bad = new ManagementClient({ baseUrl: keygate.url, token: "ik_sdk_not-a-real-token", project: PROJECT, env: {} });
    const error = await failure(bad.projects.get());
    expect(error).toMatchObject({ status: 401, type: "authentication_error", code: "invalid_api_key" });
    expect(error.requestId).toMatch(REQUEST_ID);

    const withKey = new ManagementClient({ baseUrl: keygate.url, token: appKey.key, project: PROJECT, env: {} });
    expect(await failure(withKey.projects.get())).toMatchObject({ status: 403, code: "wrong_credential_type" });
  });

  it("nothing listening at baseUrl: status 0, connection_error", async () => {
    const [port] = await freePorts(1);
    const unreachable = new ManagementClient({ baseUrl: `http://127.0.0.1:${port}`, token: keygate.adminToken, project: PROJECT, env: {} });
    const error = await failure(unreachable.projects.list().toArray());
    expect(error).toMatchObject({ status: 0, type: "connection_error", requestId: null });
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).not.toContain(keygate.adminToken);
  });
});

describe("lists", () => {
  it("more items than a page: for await, toArray() and pages() each give every item exactly once", async () => {
    const pages = kg.withProject("sdk-pages");
    await kg.projects.create({ slug: "sdk-pages" });
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await pages.applications.create({ name: `app-${i}` })).id);

    const walked: string[] = [];
    for await (const app of pages.applications.list({ limit: 3 })) walked.push(app.id);
    expect(walked).toEqual(created);

    expect((await pages.applications.list({ limit: 3 }).toArray()).map((a) => a.id)).toEqual(created);

    requestIds.length = 0;
    const seen: { ids: string[]; has_more: boolean }[] = [];
    for await (const page of pages.applications.list({ limit: 3 }).pages()) {
      seen.push({ ids: page.data.map((a) => a.id), has_more: page.has_more });
    }
    expect(seen.map((p) => [p.ids.length, p.has_more])).toEqual([[3, true], [3, true], [1, false]]);
    expect(seen.flatMap((p) => p.ids)).toEqual(created);
    expect(requestIds).toHaveLength(3);

    // An exact multiple of the page size: no empty page and no item twice.
    expect((await pages.applications.list({ limit: 7 }).toArray()).map((a) => a.id)).toEqual(created);
  });
});
