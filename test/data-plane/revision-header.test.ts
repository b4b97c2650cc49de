/**
 * `keygate-revision` (docs/api.md, "Revision"): on every management write's answer, the project's revision after
 * it; on every data-plane answer decided for a caller the project knows (its key, or a deployment with auth off),
 * the revision of the state that decided it; never on a 401. A request that starts after a write's answer carries at
 * least the write's revision — checked with traffic running against two isolates while writes are made.
 */
import { describe, expect, it } from "vitest";
import {
  admin,
  call,
  createDeployment,
  createKey,
  expectError,
  fixture,
  recordingOrigin,
  sleep,
  testWorker,
  unknownApiKey,
  withEnv,
  type TestWorker,
} from "../helpers";

const { origin } = recordingOrigin();
const revisionOf = (res: { headers: Headers }) => {
  const value = res.headers.get("keygate-revision");
  return value === null ? null : Number(value);
};

describe("on management writes", () => {
  it("every write answers with the revision after it; reads carry none; a write that changes nothing keeps it", async () => {
    const created = await admin("POST", "/projects", { slug: `rev-${Date.now().toString(36)}` });
    expect(created.status).toBe(201);
    const first = revisionOf(created)!;
    expect(first).toBeGreaterThan(0);
    const slug = created.body.slug as string;
    const deployment = await admin("POST", `/projects/${slug}/deployments`, { slug: "chat", origin: { url: "https://origin.example.com" } });
    expect(revisionOf(deployment)).toBe(first + 1);
    const key = await admin("POST", `/projects/${slug}/keys`, { name: "k", scopes: [`${slug}/chat`] });
    expect(revisionOf(key)).toBe(first + 2);
    expect(revisionOf(await admin("GET", `/projects/${slug}/keys/${key.body.id}`))).toBeNull();
    const unchanged = await admin("PATCH", `/projects/${slug}/keys/${key.body.id}`, {});
    expect(unchanged.status).toBe(200);
    expect(revisionOf(unchanged)).toBe(first + 2);
    const revoked = await admin("DELETE", `/projects/${slug}/keys/${key.body.id}`);
    expect(revisionOf(revoked)).toBe(first + 3);
    // A deleted project has no revision to report.
    const deleted = await admin("DELETE", `/projects/${slug}`);
    expect(deleted.status).toBe(200);
    expect(revisionOf(deleted)).toBeNull();
    // Created again under the same slug, it starts above every revision it had before.
    const again = await admin("POST", "/projects", { slug });
    expect(revisionOf(again)).toBeGreaterThan(first + 3);
  });
});

describe("on the data plane", () => {
  it("allowed, 403 and 404 answers for the project's key carry the revision of the state that decided them", async () => {
    const f = await fixture({ allowed_paths: ["/v1/models"] });
    const linkedNowhere = await createKey(f.project.slug, []);
    const latest = revisionOf(await admin("PATCH", `/projects/${f.project.slug}/keys/${f.key.id}`, { name: "renamed" }))!;
    const allowed = await call(`${f.path}/v1/models`, { token: f.key.key, origin, settle: false });
    expect(allowed.status).toBe(200);
    expect(revisionOf(allowed)).toBe(latest);
    const notAllowedPath = await call(`${f.path}/v1/chat/completions`, { token: f.key.key, origin, settle: false });
    expect(revisionOf(notAllowedPath)).toBe(latest);
    await expectError(notAllowedPath, 404, "not_found");
    const outOfScope = await call(`${f.path}/v1/models`, { token: linkedNowhere.key, origin, settle: false });
    expect(revisionOf(outOfScope)).toBe(latest);
    await expectError(outOfScope, 403, "scope_insufficient");
  });

  it("a deployment with auth off tells anyone; a 401, and a key of another project, never", async () => {
    const open = await fixture({ auth_enabled: false });
    const anyone = await call(`${open.path}/v1/models`, { origin, settle: false });
    expect(anyone.status).toBe(200);
    expect(revisionOf(anyone)).toBeGreaterThan(0);

    const f = await fixture();
    for (const token of [undefined, unknownApiKey()]) {
      const res = await call(`${f.path}/v1/models`, { ...(token ? { token } : {}), origin, settle: false });
      expect(res.status).toBe(401);
      expect(revisionOf(res)).toBeNull();
    }
    await admin("DELETE", `/projects/${f.project.slug}/keys/${f.key.id}`);
    const revoked = await call(`${f.path}/v1/models`, { token: f.key.key, origin, settle: false });
    expect(revoked.status).toBe(401);
    expect(revisionOf(revoked)).toBeNull();

    const stranger = await fixture();
    const elsewhere = await call(`${f.path}/v1/models`, { token: stranger.key.key, origin, settle: false });
    expect(revisionOf(elsewhere)).toBeNull();
    await expectError(elsewhere, 403, "project_scope_mismatch");
  });

  it("a 429 carries it; a 503 does not", async () => {
    const f = await fixture();
    const refuseAll: RateLimit = { limit: async () => ({ success: false }) };
    const limited = await call(`${f.path}/v1/models`, { token: f.key.key, origin, env: withEnv({ KEY_RATE_LIMITER: refuseAll }), settle: false });
    expect(revisionOf(limited)).toBeGreaterThan(0);
    await expectError(limited, 429, "rate_limited");
    const down = { prepare: () => { throw new Error("D1 is down"); } } as unknown as D1Database;
    const unavailable = await call(`${f.path}/v1/models`, { token: f.key.key, origin, env: withEnv({ DB: down }), worker: testWorker(), settle: false });
    expect(revisionOf(unavailable)).toBeNull();
    await expectError(unavailable, 503, "store_unavailable");
  });
});

describe("the promise in numbers", () => {
  it("a request that starts after a write's answer carries a revision at least the write's, on every isolate", async () => {
    const LEASE = "60";
    const data = withEnv({ AUTH_CACHE_LEASE_MS: LEASE });
    const control = withEnv({ AUTH_CACHE_LEASE_MS: LEASE });
    const f = await fixture();
    const second = await createDeployment(f.project.slug);
    expect((await admin("PUT", `/projects/${f.project.slug}/deployments/${second.slug}/keys/${f.key.id}`)).status).toBe(200);
    const isolates: TestWorker[] = [testWorker(), testWorker()];
    const targets = [f.path, `/endpoint/${f.project.slug}/${second.slug}`];
    const get = async (worker: TestWorker, path: string) => {
      const res = await call(`${path}/v1/models`, { token: f.key.key, origin, env: data, worker, settle: false });
      await res.body?.cancel();
      expect(res.status).toBe(200);
      return revisionOf(res)!;
    };
    let running = true;
    const traffic = isolates.map(async (worker, i) => {
      while (running) {
        await get(worker, targets[i % 2]!);
        await sleep(3);
      }
    });
    for (let i = 0; i < 8; i++) {
      const written = await admin("PATCH", `/projects/${f.project.slug}/keys/${f.key.id}`, { name: `name ${i}` }, undefined, control);
      const n = revisionOf(written)!;
      // Every isolate, every deployment: the first request started after the answer.
      const seen = await Promise.all(isolates.flatMap((worker) => targets.map((path) => get(worker, path))));
      for (const m of seen) expect(m).toBeGreaterThanOrEqual(n);
    }
    running = false;
    await Promise.all(traffic);
  });
});
