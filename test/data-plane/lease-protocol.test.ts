/**
 * The next-request promise with a lease long enough that luck cannot keep it: AUTH_CACHE_LEASE_MS=400, the data
 * plane and the admin API both running with it (in production every isolate has the same variables). Query
 * counts prove the cache is really serving the warm key; the write's own latency proves it waited the lease out.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, call, countingDb, expectError, fixture, recordingOrigin, withEnv } from "../helpers";
import { openAiOrigin } from "../openai-origin";

const LEASE_MS = 400;
const { origin } = recordingOrigin();

/** A data-plane env with the long lease and a DB that counts reads, and an admin env with the same lease. */
function envs() {
  const counter = countingDb();
  const data = withEnv({ AUTH_CACHE_LEASE_MS: String(LEASE_MS), DB: counter.db });
  const control = withEnv({ AUTH_CACHE_LEASE_MS: String(LEASE_MS) });
  const reads = () => counter.executed.filter((s) => /^\s*SELECT/i.test(s.sql)).length;
  return { data, control, reads };
}

async function warm(path: string, token: string, data: ReturnType<typeof envs>["data"], reads: () => number) {
  const before = reads();
  const first = await call(`${path}/v1/models`, { token, origin, env: data, settle: false });
  expect(first.status).toBe(200);
  const second = await call(`${path}/v1/models`, { token, origin, env: data, settle: false });
  expect(second.status).toBe(200);
  // The first request read D1 once; the second was decided from the cache.
  expect(reads() - before).toBe(1);
}

/**
 * env.DB whose next read, once D1 has answered it, runs `during` before handing the answer back: a read that was
 * sent before a write committed and returns after the write has answered.
 */
function racingDb() {
  let during: (() => Promise<unknown>) | null = null;
  const wrap = (stmt: D1PreparedStatement): D1PreparedStatement =>
    ({
      bind: (...values: unknown[]) => wrap(stmt.bind(...values)),
      first: async () => {
        const row = await stmt.first();
        const hook = during;
        during = null;
        if (hook) await hook();
        return row;
      },
    }) as unknown as D1PreparedStatement;
  const db = new Proxy(env.DB, {
    get: (target, prop) => (prop === "prepare" ? (sql: string) => wrap(target.prepare(sql)) : Reflect.get(target, prop)),
  });
  return { db, raceNextRead: (write: () => Promise<unknown>) => (during = write) };
}

describe(`with a ${LEASE_MS} ms lease`, () => {
  it("a read that raced a write is trusted only from when it was sent, so the next request sees the write", async () => {
    const f = await fixture();
    const { db, raceNextRead } = racingDb();
    const data = withEnv({ AUTH_CACHE_LEASE_MS: String(LEASE_MS), DB: db });
    const control = withEnv({ AUTH_CACHE_LEASE_MS: String(LEASE_MS) });
    raceNextRead(async () => {
      const revoked = await admin("DELETE", `/projects/${f.project.slug}/keys/${f.key.id}`, undefined, undefined, control);
      expect(revoked.status).toBe(200);
    });
    // Sent before the revoke committed, so it may be allowed; it caches what it read (the key, not revoked).
    expect((await call(`${f.path}/v1/models`, { token: f.key.key, origin, env: data, settle: false })).status).toBe(200);
    // The revoke has answered: this request started after it and must not be decided by that stale read.
    await expectError(await call(`${f.path}/v1/models`, { token: f.key.key, origin, env: data, settle: false }), 401, "invalid_api_key");
  });

  it("a revoke waits the lease out, and the very next request is denied", async () => {
    const f = await fixture();
    const { data, control, reads } = envs();
    await warm(f.path, f.key.key, data, reads);
    const started = performance.now();
    const revoked = await admin("DELETE", `/projects/${f.project.slug}/keys/${f.key.id}`, undefined, undefined, control);
    expect(revoked.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(LEASE_MS - 5);
    const before = reads();
    await expectError(await call(`${f.path}/v1/models`, { token: f.key.key, origin, env: data }), 401, "invalid_api_key");
    // The stale entry was not trusted: a revision check found the revoke among the changes and dropped the key (one
    // read), then the key was read again (one more).
    expect(reads() - before).toBe(2);
  });

  it("a retried revoke waits the lease out too: its answer also means the revoke is in effect", async () => {
    const f = await fixture();
    const { control } = envs();
    const path = `/projects/${f.project.slug}/keys/${f.key.id}`;
    expect((await admin("DELETE", path, undefined, undefined, control)).status).toBe(200);
    const started = performance.now();
    const again = await admin("DELETE", path, undefined, undefined, control);
    expect(again.status).toBe(200);
    expect(again.body.revoked_at).toBeTruthy();
    expect(performance.now() - started).toBeGreaterThanOrEqual(LEASE_MS - 5);
  });

  it("an unlink, an expiry and a condition edit are each seen by the next request", async () => {
    const edits: [string, string, unknown, number, string][] = [
      ["DELETE", "/deployments/{d}/keys/{k}", undefined, 403, "scope_insufficient"],
      ["PATCH", "/keys/{k}", { expires_at: new Date(Date.now() - 1000).toISOString() }, 401, "expired_api_key"],
      ["PATCH", "/keys/{k}", { conditions: { countries: ["DE"] } }, 403, "condition_not_met"],
    ];
    for (const [method, template, body, status, code] of edits) {
      const f = await fixture();
      const { data, control, reads } = envs();
      await warm(f.path, f.key.key, data, reads);
      const path = `/projects/${f.project.slug}${template.replace("{d}", f.deployment.slug).replace("{k}", f.key.id)}`;
      expect((await admin(method, path, body, undefined, control)).status).toBe(200);
      await expectError(await call(`${f.path}/v1/models`, { token: f.key.key, origin, env: data, settle: false }), status, code);
    }
  });

  it("the auth toggle is seen by the next request without a key", async () => {
    const f = await fixture();
    const { data, control } = envs();
    await expectError(await call(`${f.path}/v1/models`, { origin, env: data }), 401, "missing_api_key");
    const patch = `/projects/${f.project.slug}/deployments/${f.deployment.slug}`;
    expect((await admin("PATCH", patch, { auth_enabled: false }, undefined, control)).status).toBe(200);
    expect((await call(`${f.path}/v1/models`, { origin, env: data })).status).toBe(200);
    expect((await admin("PATCH", patch, { auth_enabled: true }, undefined, control)).status).toBe(200);
    await expectError(await call(`${f.path}/v1/models`, { origin, env: data }), 401, "missing_api_key");
  });

  it("control: a write that did not wait the lease out would be missed — the wait is what keeps the promise", async () => {
    // Not a supported setup (every isolate shares its variables); it shows that the cache really holds state
    // for the whole lease, so the passing tests above are the protocol's doing, not a cold cache's.
    const f = await fixture();
    const { data, reads } = envs();
    await warm(f.path, f.key.key, data, reads);
    const noWait = withEnv({ AUTH_CACHE_LEASE_MS: "0" });
    expect((await admin("DELETE", `/projects/${f.project.slug}/keys/${f.key.id}`, undefined, undefined, noWait)).status).toBe(200);
    const stale = await call(`${f.path}/v1/models`, { token: f.key.key, origin, env: data, settle: false });
    expect(stale.status).toBe(200);
    // …until the lease runs out.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS));
    await expectError(await call(`${f.path}/v1/models`, { token: f.key.key, origin, env: data, settle: false }), 401, "invalid_api_key");
  });
});

describe(`budget writes, with a ${LEASE_MS} ms lease`, () => {
  const CHAT = "/v1/chat/completions";
  /** Within what a hard budget can bound: its cap is 10. */
  const bounded = { model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 10 };
  /**
   * A cap a lenient origin reads as 50: a hard budget refuses it (400) before asking its counter, an unbudgeted or
   * soft-budgeted request forwards it. Whether it is refused is decided from the budgets the data plane holds for the
   * key, not by the counter, so it shows what the (cached) records say.
   */
  const loose = { ...bounded, max_tokens: "50" };

  it("a key's first budget, a limit down to the spend, hard→soft, soft→hard and a delete are each seen by the next request", async () => {
    const f = await fixture();
    const { data, control, reads } = envs();
    const { origin: answers, calls } = openAiOrigin({ prompt_tokens: 5, completion_tokens: 5 }); // 10 tokens an answer
    const send = async (body: unknown) => call(`${f.path}${CHAT}`, { token: f.key.key, origin: answers, env: data, body });
    const status = async (body: unknown) => (await send(body)).status;
    const budgets = `/projects/${f.project.slug}/budgets`;
    let id = "";
    const spent = async () => (await admin("GET", `${budgets}/${id}`)).body.spent_tokens as number;
    /**
     * The key's records are held and trusted: a decision now reads nothing from D1. (Right after an earlier write
     * they are not: it waited their lease out. The first request renews them.)
     */
    const cached = async (what: string) => {
      await call(`${f.path}/v1/models`, { token: f.key.key, origin, env: data });
      const before = reads();
      await call(`${f.path}/v1/models`, { token: f.key.key, origin, env: data, settle: false });
      expect(reads() - before, `the key's records are cached before ${what}`).toBe(0);
    };
    /** A budget write made while the key's records are cached; it answers only once the lease is waited out. */
    const write = async (method: string, path: string, body?: unknown) => {
      await cached(`${method} ${JSON.stringify(body)}`);
      const started = performance.now();
      const res = await admin(method, path, body, undefined, control);
      expect(res.status).toBe(method === "POST" ? 201 : 200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(LEASE_MS - 5);
      return res.body as { id: string };
    };

    await warm(f.path, f.key.key, data, reads);
    expect(await status(loose)).toBe(200); // no budget: forwarded as sent

    // Created with nothing to spend: the next request is refused, not forwarded.
    id = (await write("POST", budgets, { subject: { type: "key", id: f.key.id }, limit_tokens: 0, period: "total" })).id;
    await expectError(await send(bounded), 429, "insufficient_quota");
    expect(calls()).toBe(1);
    await write("PATCH", `${budgets}/${id}`, { limit_tokens: 1_000 });
    expect(await status(bounded)).toBe(200);
    expect(await spent()).toBe(10);

    // A limit down to what is spent: the next request is refused.
    await write("PATCH", `${budgets}/${id}`, { limit_tokens: 10 });
    await expectError(await send(bounded), 429, "insufficient_quota");

    // Room left (5) but not for a reservation (input + 10): hard refuses; soft admits while spent < limit.
    await write("PATCH", `${budgets}/${id}`, { limit_tokens: 15 });
    await expectError(await send(bounded), 429, "insufficient_quota");
    await write("PATCH", `${budgets}/${id}`, { mode: "soft" });
    // Records still saying hard would refuse this body (400); a counter still hard would refuse it (429).
    expect(await status(loose)).toBe(200);
    expect(await spent()).toBe(20);

    // Soft with room (20 of 25): the switch to hard refuses the loose body at the data plane, and a bounded one at
    // the counter (20 + input + 10 > 25).
    await write("PATCH", `${budgets}/${id}`, { limit_tokens: 25 });
    await write("PATCH", `${budgets}/${id}`, { mode: "hard" });
    expect((await expectError(await send(loose), 400, "invalid_request")).error.param).toBe("max_tokens");
    await expectError(await send(bounded), 429, "insufficient_quota");
    expect(await spent()).toBe(20);

    // Deleted: the next request passes, the loose body too (records still holding the hard budget would refuse it).
    await write("DELETE", `${budgets}/${id}`);
    expect(await status(loose)).toBe(200);
    expect(await status(bounded)).toBe(200);
    expect(calls()).toBe(5);
  });

  it("control: a budget created without waiting the lease out is missed by the cached records until the lease ends", async () => {
    // Not a supported setup (see the control above): it shows the budgets a request is held to are cached with its
    // key, so the first-budget case above is kept by the protocol, not by a cold cache.
    const f = await fixture();
    const { data, reads } = envs();
    const { origin: answers } = openAiOrigin();
    const send = () => call(`${f.path}${CHAT}`, { token: f.key.key, origin: answers, env: data, body: bounded, settle: false });
    await warm(f.path, f.key.key, data, reads);
    const noWait = withEnv({ AUTH_CACHE_LEASE_MS: "0" });
    const budget = { subject: { type: "key", id: f.key.id }, limit_tokens: 0, period: "total" };
    expect((await admin("POST", `/projects/${f.project.slug}/budgets`, budget, undefined, noWait)).status).toBe(201);
    expect((await send()).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS));
    await expectError(await send(), 429, "insufficient_quota");
  });
});
