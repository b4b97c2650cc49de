/**
 * The next-request promise with a lease long enough that luck cannot keep it: AUTH_CACHE_LEASE_MS=400, the data
 * plane and the admin API both running with it (in production every isolate has the same variables). Query
 * counts prove the cache is really serving the warm key; the write's own latency proves it waited the lease out.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, call, countingDb, expectError, fixture, recordingOrigin, withEnv } from "../helpers";

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
