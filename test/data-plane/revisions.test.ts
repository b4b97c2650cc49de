/**
 * Project revisions (src/store/revisions.ts): a warm key's trust is renewed by one small validation query started
 * ahead in the background, and every kind of write is still seen by the next request — with the validation path
 * active, renewed several times before the write, and traffic running while the write is made. A control shows the
 * revision is what makes that work: a change written without raising it stays unseen however often trust is renewed.
 *
 * The lease is 300 ms for the data plane and the admin API alike (every isolate shares its variables); each test
 * builds its own Worker, so no other test's cache or validation is involved.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  admin,
  call,
  countingDb,
  createApplication,
  createApplicationKey,
  createDeployment,
  createKey,
  createPolicy,
  createProject,
  expectError,
  fixture,
  recordingOrigin,
  sleep,
  testWorker,
  withEnv,
  type TestWorker,
} from "../helpers";

const LEASE_MS = 300;
const { origin } = recordingOrigin();
/** The revisions query of src/store/authorization.ts (loadProjectsNow). */
const isValidation = (sql: string) => sql.includes("JOIN projects p ON p.id = h.id");
const isFullRead = (sql: string) => sql.includes("FROM (SELECT 1) AS base");

/** A Worker of its own, a data env with the lease and a DB that counts, and an admin env with the same lease. */
function setup(lease = LEASE_MS) {
  const counter = countingDb();
  const worker = testWorker();
  const data = withEnv({ AUTH_CACHE_LEASE_MS: String(lease), DB: counter.db });
  const control = withEnv({ AUTH_CACHE_LEASE_MS: String(lease) });
  const count = (test: (sql: string) => boolean) => counter.executed.filter((s) => test(s.sql)).length;
  const get = (path: string, token?: string) =>
    call(`${path}/v1/models`, { ...(token ? { token } : {}), origin, env: data, worker, settle: false });
  return {
    worker,
    data,
    control,
    get,
    validations: () => count(isValidation),
    fullReads: () => count(isFullRead),
  };
}

/** Calls every 20 ms for `ms`, each answered `status`: steady use across several refresh-ahead validations. */
async function keepUsing(get: () => Promise<Response>, ms: number, status = 200): Promise<number> {
  const until = Date.now() + ms;
  let calls = 0;
  while (Date.now() < until) {
    const res = await get();
    await res.body?.cancel();
    expect(res.status).toBe(status);
    calls += 1;
    await sleep(20);
  }
  return calls;
}

/**
 * Warms the caller, keeps it in use for three leases (so its trust is renewed by validation, not by re-reads), then
 * makes the write while traffic keeps running, and returns the first request that started after the write answered.
 */
async function afterRenewedTrust(s: ReturnType<typeof setup>, get: () => Promise<Response>, write: () => Promise<{ status: number }>) {
  await keepUsing(get, 3 * LEASE_MS);
  expect(s.fullReads()).toBe(1); // one read, then trust renewed only by validation…
  expect(s.validations()).toBeGreaterThanOrEqual(3); // …several times
  let writing = true;
  const traffic = (async () => {
    while (writing) {
      await (await get()).body?.cancel();
      await sleep(10);
    }
  })();
  const written = await write();
  writing = false;
  expect(written.status).toBeLessThan(300);
  const next = await get();
  await traffic;
  return next;
}

describe("with trust renewed by revision checks, the next request sees", () => {
  const keyWrites: [string, (f: Awaited<ReturnType<typeof fixture>>) => [string, string, unknown?], number, string][] = [
    ["a revoke", (f) => ["DELETE", `/projects/${f.project.slug}/keys/${f.key.id}`], 401, "invalid_api_key"],
    ["an unlink", (f) => ["DELETE", `/projects/${f.project.slug}/deployments/${f.deployment.slug}/keys/${f.key.id}`], 403, "scope_insufficient"],
    ["an expiry", (f) => ["PATCH", `/projects/${f.project.slug}/keys/${f.key.id}`, { expires_at: new Date(Date.now() - 1000).toISOString() }], 401, "expired_api_key"],
    ["a condition edit", (f) => ["PATCH", `/projects/${f.project.slug}/keys/${f.key.id}`, { conditions: { countries: ["DE"] } }], 403, "condition_not_met"],
    ["a suspension", (f) => ["PATCH", `/projects/${f.project.slug}`, { suspended: true }], 403, "project_suspended"],
    ["an endpoint turned off", (f) => ["PATCH", `/projects/${f.project.slug}/deployments/${f.deployment.slug}`, { endpoints: { public: { enabled: false }, private: { enabled: true } } }], 404, "not_found"],
  ];
  for (const [name, write, status, code] of keyWrites) {
    it(name, async () => {
      const f = await fixture();
      const s = setup();
      const get = () => s.get(f.path, f.key.key);
      const [method, path, body] = write(f);
      const next = await afterRenewedTrust(s, get, () => admin(method, path, body, undefined, s.control));
      await expectError(next, status, code);
    });
  }

  it("the auth toggle, for a caller without a key", async () => {
    const f = await fixture({ auth_enabled: false });
    const s = setup();
    const get = () => s.get(f.path);
    const path = `/projects/${f.project.slug}/deployments/${f.deployment.slug}`;
    const next = await afterRenewedTrust(s, get, () => admin("PATCH", path, { auth_enabled: true }, undefined, s.control));
    await expectError(next, 401, "missing_api_key");
  });

  it("a policy edit that takes the deployment out of the application's rules", async () => {
    const project = await createProject();
    const granted = await createDeployment(project.slug);
    const other = await createDeployment(project.slug);
    const app = await createApplication(project.slug);
    const policy = await createPolicy(project.slug, app.id, [{ permission_set: "InferenceFullAccess", deployments: [granted.slug] }]);
    const key = await createApplicationKey(project.slug, app.id);
    const s = setup();
    const get = () => s.get(`/endpoint/${project.slug}/${granted.slug}`, key.key);
    const rules = [{ permission_set: "InferenceFullAccess", deployments: [other.slug] }];
    const next = await afterRenewedTrust(s, get, () =>
      admin("PATCH", `/projects/${project.slug}/policies/${policy.id}`, { rules }, undefined, s.control),
    );
    await expectError(next, 403, "scope_insufficient");
  });

  it("control: a change written without raising the revision stays unseen while validation renews trust", async () => {
    const f = await fixture();
    const s = setup();
    const get = () => s.get(f.path, f.key.key);
    await keepUsing(get, LEASE_MS);
    // What no management write does: change a key and record nothing (as a hand-written SQL statement would).
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(new Date().toISOString(), f.key.id).run();
    const validationsBefore = s.validations();
    await keepUsing(get, 3 * LEASE_MS); // still allowed, three leases later: each renewal found the revision unchanged
    expect(s.validations() - validationsBefore).toBeGreaterThanOrEqual(3);
    expect(s.fullReads()).toBe(1);
    // Raising the revision is what makes it seen: the next validation drops the key, and it is read again.
    await env.DB.prepare("UPDATE projects SET revision = revision + 1 WHERE id = ?").bind(f.project.id).run();
    await sleep(LEASE_MS);
    await expectError(await get(), 401, "invalid_api_key");
  });
});

describe("validation", () => {
  it("is one query for every key and project held, and renews them all", async () => {
    const s = setup(1000);
    const projects = await Promise.all([fixture(), fixture(), fixture()]);
    const keys = [];
    for (const f of projects) {
      for (let i = 0; i < 10; i++) keys.push({ path: f.path, key: (await createKey(f.project.slug, [`${f.project.slug}/${f.deployment.slug}`])).key });
    }
    for (const k of keys) expect((await s.get(k.path, k.key)).status).toBe(200);
    expect(s.fullReads()).toBe(30);
    // Past three quarters of the lease (the default refresh margin): one request starts the validation.
    await sleep(800);
    expect((await s.get(keys[0]!.path, keys[0]!.key)).status).toBe(200);
    await expect.poll(() => s.validations(), { timeout: 2000, interval: 5 }).toBe(1);
    // Past the end of every original read's lease: all 30 keys are still decided without a read.
    await sleep(300);
    for (const k of keys) expect((await s.get(k.path, k.key)).status).toBe(200);
    expect(s.fullReads()).toBe(30);
    expect(s.validations()).toBe(1);
  });

  it("that fails renews nothing: trust ends on time and the next request reads D1 (503 while it is down)", async () => {
    const f = await fixture();
    const failing = { on: false };
    const counter = countingDb();
    const db = new Proxy(counter.db, {
      get: (target, prop) =>
        prop === "prepare"
          ? (sql: string) => {
              if (failing.on) throw new Error("D1 is down");
              return target.prepare(sql);
            }
          : Reflect.get(target, prop),
    });
    const worker: TestWorker = testWorker();
    const data = withEnv({ AUTH_CACHE_LEASE_MS: String(LEASE_MS), DB: db });
    const get = () => call(`${f.path}/v1/models`, { token: f.key.key, origin, env: data, worker, settle: false });
    expect((await get()).status).toBe(200);
    failing.on = true;
    await sleep(LEASE_MS * 0.8);
    expect((await get()).status).toBe(200); // still trusted; its refresh-ahead fails in the background
    await sleep(LEASE_MS * 0.3);
    await expectError(await get(), 503, "store_unavailable");
  });
});

describe("a write drops only what it touched", () => {
  /** Two keys of one project warmed on a Worker of their own, kept in use across a write made meanwhile. */
  async function twoKeys() {
    const f = await fixture();
    const other = await createKey(f.project.slug, [`${f.project.slug}/${f.deployment.slug}`]);
    const s = setup();
    const use = (token: string) => s.get(f.path, token);
    for (const token of [f.key.key, other.key]) expect((await use(token)).status).toBe(200);
    expect(s.fullReads()).toBe(2);
    return { f, other, s, use };
  }

  /** Keeps both keys in use while `write` runs and for a lease after it: validation sees the write's events. */
  async function whileInUse(use: (token: string) => Promise<Response>, tokens: string[], write: () => Promise<{ status: number }>) {
    let writing = true;
    const traffic = (async () => {
      while (writing) {
        for (const token of tokens) await (await use(token)).body?.cancel();
        await sleep(10);
      }
    })();
    const written = await write();
    writing = false;
    await traffic;
    expect(written.status).toBeLessThan(300);
  }

  it("a revoke: the revoked key is denied next request, the project's other key is still served from memory", async () => {
    const { f, other, s, use } = await twoKeys();
    await keepUsing(() => use(other.key), LEASE_MS);
    await whileInUse(use, [other.key], () => admin("DELETE", `/projects/${f.project.slug}/keys/${f.key.id}`, undefined, undefined, s.control));
    await expectError(await use(f.key.key), 401, "invalid_api_key");
    const before = s.fullReads();
    await keepUsing(() => use(other.key), LEASE_MS);
    expect(s.fullReads() - before).toBe(0);
  });

  it("creating keys costs the keys in use nothing", async () => {
    const { f, other, s, use } = await twoKeys();
    for (let i = 0; i < 3; i++) {
      await whileInUse(use, [f.key.key, other.key], () =>
        admin("POST", `/projects/${f.project.slug}/keys`, { name: `new ${i}`, scopes: [`${f.project.slug}/*`] }, undefined, s.control),
      );
    }
    await keepUsing(() => use(other.key), LEASE_MS);
    expect(s.fullReads()).toBe(2);
    expect(s.validations()).toBeGreaterThanOrEqual(3);
  });

  it("a deployment created under a slug held as unknown is served next request", async () => {
    const f = await fixture();
    const s = setup();
    const slug = `later-${Date.now().toString(36)}`;
    const later = `/endpoint/${f.project.slug}/${slug}`;
    await keepUsing(() => s.get(f.path, f.key.key), LEASE_MS);
    await expectError(await s.get(later, f.key.key), 404, "not_found");
    await whileInUse((token) => s.get(later, token), [f.key.key], () =>
      admin("POST", `/projects/${f.project.slug}/deployments`, { slug, origin: { url: "https://origin.example.com" } }, undefined, s.control),
    );
    // The key is not linked to it: the answer is the key's scope, no longer "no such deployment".
    await expectError(await s.get(later, f.key.key), 403, "scope_insufficient");
  });

  it("events missing after the held revision (a change made by hand) drop the whole project", async () => {
    const { f, other, s, use } = await twoKeys();
    await keepUsing(() => use(other.key), LEASE_MS / 2);
    await env.DB.prepare("UPDATE projects SET revision = revision + 1 WHERE id = ?").bind(f.project.id).run();
    await sleep(LEASE_MS);
    await keepUsing(() => use(other.key), LEASE_MS);
    expect((await use(f.key.key)).status).toBe(200);
    expect(s.fullReads()).toBe(4); // both keys read again
  });
});

describe("the cache's bounds", () => {
  it("made-up deployment slugs of a real project cannot evict its real deployments", async () => {
    const f = await fixture();
    const counter = countingDb();
    const worker = testWorker();
    const data = withEnv({ AUTH_CACHE_LEASE_MS: "10000", AUTH_CACHE_MAX_ENTRIES: "20", DB: counter.db });
    const get = (path: string) => call(`${path}/v1/models`, { token: f.key.key, origin, env: data, worker, settle: false });
    expect((await get(f.path)).status).toBe(200);
    for (let i = 0; i < 50; i++) await expectError(await get(`/endpoint/${f.project.slug}/made-up-${i}`), 404, "not_found");
    const before = counter.executed.filter((x) => isFullRead(x.sql)).length;
    expect((await get(f.path)).status).toBe(200);
    expect(counter.executed.filter((x) => isFullRead(x.sql)).length - before).toBe(0);
  });
});
