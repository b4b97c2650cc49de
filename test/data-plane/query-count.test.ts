/**
 * Query counts, tested without timing (issue 5): a warm key costs no D1 query, a cold one exactly one, a
 * malformed key on a warm deployment none, and an unknown key repeated is answered from the negative cache.
 *
 * What is counted: every statement executed through env.DB (first/all/run/raw, and batch/exec/withSession on
 * the database), via a proxy passed as the request's env. The decision only reads, so its cost is the number of
 * SELECTs. An allowed request also records usage — an UPDATE through ctx.waitUntil — and the first use of a key
 * in an isolate starts that write synchronously, before fetch even returns, so waiting less cannot exclude it;
 * instead the writes are checked separately: at most that one UPDATE, never anything else.
 *
 * The lease here is long (10 s) so that "warm" cannot expire between two calls on a slow machine; every test
 * uses its own rows, so nothing another test cached can make a cold read look warm.
 */
import { describe, expect, it } from "vitest";
import {
  call,
  countingDb,
  createDeployment,
  createKey,
  createProject,
  fixture,
  recordingOrigin,
  testWorker,
  unknownApiKey,
  withEnv,
} from "../helpers";

const { origin } = recordingOrigin();

function counted(lease = "10000") {
  const counter = countingDb();
  // The default usage interval: the calls here do not wait for the request's background work, so the writes counted
  // are the ones each call set off at once.
  const env = withEnv({ AUTH_CACHE_LEASE_MS: lease, DB: counter.db, USAGE_FLUSH_MS: "5000" });
  const selects = () => counter.executed.filter((s) => /^\s*SELECT/i.test(s.sql));
  const writes = () => counter.executed.filter((s) => !/^\s*SELECT/i.test(s.sql));
  /** The reads one data-plane call made, and its status. */
  const decide = async (path: string, options: { token?: string; headers?: Record<string, string> } = {}) => {
    const before = selects().length;
    const res = await call(`${path}/v1/models`, { ...options, origin, env, settle: false });
    await res.body?.cancel();
    return { status: res.status, reads: selects().length - before };
  };
  return { decide, selects, writes, executed: counter.executed };
}

describe("D1 queries per decision", () => {
  it("cold key: exactly one read (one statement, one round trip); warm key: none", async () => {
    const f = await fixture();
    const { decide, selects, writes, executed } = counted();
    expect(await decide(f.path, { token: f.key.key })).toEqual({ status: 200, reads: 1 });
    expect(selects()[0]!.method).toBe("first");
    // On the D1 primary: no read-replica session (withSession) on this path, so a committed write is visible.
    expect(executed.some((s) => s.method === "withSession")).toBe(false);
    expect(await decide(f.path, { token: f.key.key })).toEqual({ status: 200, reads: 0 });
    expect(await decide(f.path, { headers: { "x-api-key": f.key.key } })).toEqual({ status: 200, reads: 0 });
    // The only write is the isolate's coalesced usage batch (the first at once, later counts deferred to the next).
    expect(writes().map((w) => w.method)).toEqual(["batch"]);
  });

  it("a second key on a warm deployment costs one read, then none", async () => {
    const f = await fixture();
    const second = await createKey(f.project.slug, [`${f.project.slug}/*`]);
    const { decide } = counted();
    expect((await decide(f.path, { token: f.key.key })).reads).toBe(1);
    expect(await decide(f.path, { token: second.key })).toEqual({ status: 200, reads: 1 });
    expect(await decide(f.path, { token: second.key })).toEqual({ status: 200, reads: 0 });
  });

  it("malformed, missing and management credentials on a warm deployment: no query", async () => {
    const f = await fixture();
    const { decide, writes } = counted();
    expect((await decide(f.path, { token: f.key.key })).reads).toBe(1);
    const bad = f.key.key.slice(0, -1) + (f.key.key.endsWith("A") ? "B" : "A");
    expect(await decide(f.path, { token: bad })).toEqual({ status: 401, reads: 0 });
    expect(await decide(f.path, { token: "ik_live_x" })).toEqual({ status: 401, reads: 0 });
    expect(await decide(f.path, { headers: { authorization: "Basic Zm9vOmJhcg==" } })).toEqual({ status: 401, reads: 0 });
    expect(await decide(f.path)).toEqual({ status: 401, reads: 0 });
    expect(await decide(f.path, { token: "ik_sdk_anything" })).toEqual({ status: 403, reads: 0 });
    expect(writes().length).toBeLessThanOrEqual(1); // denials record no usage
  });

  it("an unknown key is read once, then served from the negative cache", async () => {
    const f = await fixture();
    const { decide } = counted();
    const unknown = unknownApiKey();
    expect(await decide(f.path, { token: unknown })).toEqual({ status: 401, reads: 1 });
    expect(await decide(f.path, { token: unknown })).toEqual({ status: 401, reads: 0 });
    expect(await decide(f.path, { token: unknown })).toEqual({ status: 401, reads: 0 });
    // The negative entry did not poison the deployment: the real key still works.
    expect((await decide(f.path, { token: f.key.key })).status).toBe(200);
  });

  it("an unknown deployment is cached too", async () => {
    const project = await createProject();
    const key = await createKey(project.slug, [`${project.slug}/*`]);
    const { decide } = counted();
    const path = `/endpoint/${project.slug}/nope`;
    expect(await decide(path, { token: key.key })).toEqual({ status: 404, reads: 1 });
    expect(await decide(path, { token: key.key })).toEqual({ status: 404, reads: 0 });
    expect(await decide(path)).toEqual({ status: 401, reads: 0 });
  });

  it("an auth-disabled deployment: one read, then none, with or without a key", async () => {
    const project = await createProject();
    const dep = await createDeployment(project.slug, { auth_enabled: false });
    const { decide } = counted();
    const path = `/endpoint/${project.slug}/${dep.slug}`;
    expect(await decide(path)).toEqual({ status: 200, reads: 1 });
    expect(await decide(path)).toEqual({ status: 200, reads: 0 });
    expect(await decide(path, { token: "garbage" })).toEqual({ status: 200, reads: 0 });
  });

  it("AUTH_CACHE_LEASE_MS=0 turns the cache off: every decision reads once", async () => {
    const f = await fixture();
    const { decide } = counted("0");
    for (let i = 0; i < 3; i++) expect(await decide(f.path, { token: f.key.key })).toEqual({ status: 200, reads: 1 });
    expect(await decide(f.path, { token: "ik_live_x" })).toEqual({ status: 401, reads: 1 });
  });

  it("the cache is bounded: with AUTH_CACHE_MAX_ENTRIES=1 a second key evicts the first", async () => {
    const f = await fixture();
    const second = await createKey(f.project.slug, [`${f.project.slug}/*`]);
    const counter = countingDb();
    const env = withEnv({ AUTH_CACHE_LEASE_MS: "10000", AUTH_CACHE_MAX_ENTRIES: "1", DB: counter.db });
    const worker = testWorker(); // its cache is sized by the first request it serves
    const reads = async (token: string) => {
      const before = counter.executed.length;
      const res = await call(`${f.path}/v1/models`, { token, origin, env, worker, settle: false });
      expect(res.status).toBe(200);
      return counter.executed.slice(before).filter((s) => /^\s*SELECT/i.test(s.sql)).length;
    };
    expect(await reads(f.key.key)).toBe(1);
    expect(await reads(f.key.key)).toBe(0);
    expect(await reads(second.key)).toBe(1);
    expect(await reads(f.key.key)).toBe(1); // evicted by the second key
  });
});
