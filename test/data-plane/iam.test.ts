/**
 * Application keys and permission sets through the Worker's fetch, on real D1: a key made for an application is
 * decided by its application's policies, and every kind of IAM write — a policy edit, a rule removed, a policy
 * deleted, an application deleted, a deployment deleted from a rule, a key's permission set — is seen by the
 * next request (the same protocol as next-request.test.ts: warm the lease cache with a request that succeeds,
 * write, and at once send the request that must see it). The application key's cold decision is one D1 read.
 */
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
  recordingOrigin,
  withEnv,
  type RuleBody,
} from "../helpers";

const { origin, seen } = recordingOrigin();
const OFFICE = "203.0.113.7";

/** settle: false — the same key is used again at once; its coalesced usage write must not delay the test. */
function send(path: string, key: string, op: "infer" | "list" = "infer", ip = OFFICE) {
  const headers = { "cf-connecting-ip": ip };
  return op === "infer"
    ? call(`${path}/v1/chat/completions`, { origin, settle: false, token: key, headers, body: { model: "m", messages: [] } })
    : call(`${path}/v1/models`, { origin, settle: false, token: key, headers });
}

async function ok(res: Response | Promise<Response>) {
  const r = await res;
  expect(r.status, await r.clone().text()).toBe(200);
  await r.body?.cancel();
}

async function write(status: number, method: string, path: string, body?: unknown) {
  const res = await admin(method, path, body);
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  return res.body;
}

/** A project with two deployments, an application with one policy, and a key for it. */
async function world(rules: (d: { a: string; b: string }) => RuleBody[]) {
  const project = await createProject();
  const a = await createDeployment(project.slug);
  const b = await createDeployment(project.slug);
  const app = await createApplication(project.slug);
  const policy = await createPolicy(project.slug, app.id, rules({ a: a.slug, b: b.slug }));
  const key = await createApplicationKey(project.slug, app.id);
  const at = (d: { slug: string }) => `/endpoint/${project.slug}/${d.slug}`;
  return { project: project.slug, a, b, app, policy, key: key.key, keyId: key.id, pathA: at(a), pathB: at(b) };
}

describe("an application key", () => {
  it("is allowed where a rule grants it, and the origin gets the request without the key", async () => {
    const w = await world((d) => [{ permission_set: "InferenceFullAccess", deployments: [d.a] }]);
    const before = seen.length;
    await ok(send(w.pathA, w.key));
    expect(seen.length).toBe(before + 1);
    expect(seen.at(-1)!.headers.get("authorization")).toBeNull();
    await expectError(await send(w.pathB, w.key), 403, "scope_insufficient");
  });

  it("follows its rules' permission sets and conditions", async () => {
    const w = await world((d) => [
      { permission_set: "InferenceFullAccess", deployments: [d.a], conditions: { ip_allow: ["203.0.113.0/24"] } },
      { permission_set: "InferenceReadOnly", deployments: ["*"] },
    ]);
    await ok(send(w.pathA, w.key, "infer"));
    await ok(send(w.pathB, w.key, "list"));
    const readOnly = await expectError(await send(w.pathB, w.key, "infer"), 403, "scope_insufficient");
    expect(readOnly.error.message).toContain("InferenceReadOnly");
    // Outside the office the full rule fails its condition; the read-only rule still allows listing.
    await expectError(await send(w.pathA, w.key, "infer", "198.51.100.1"), 403, "ip_not_allowed");
    await ok(send(w.pathA, w.key, "list", "198.51.100.1"));
  });

  it("costs one D1 read when cold (key, secret, deployment and rules in one statement), none when warm", async () => {
    const w = await world((d) => [
      { permission_set: "InferenceReadOnly", deployments: [d.b] },
      { permission_set: "InferenceFullAccess", deployments: [d.a], conditions: { countries: ["DE"] } },
    ]);
    const counter = countingDb();
    const env = withEnv({ AUTH_CACHE_LEASE_MS: "10000", DB: counter.db });
    const reads = () => counter.executed.filter((s) => /^\s*SELECT/i.test(s.sql)).length;
    const decide = async () => {
      const res = await call(`${w.pathA}/v1/chat/completions`, {
        origin, env, settle: false, token: w.key, cf: { country: "DE" }, body: { model: "m", messages: [] },
      });
      await res.body?.cancel();
      return res.status;
    };
    expect(await decide()).toBe(200);
    expect(reads()).toBe(1);
    expect(await decide()).toBe(200);
    expect(reads()).toBe(1);
  });
});

describe("the next request sees", () => {
  it("a policy edit that narrows and widens its rules", async () => {
    const w = await world((d) => [{ permission_set: "InferenceFullAccess", deployments: [d.a] }]);
    await ok(send(w.pathA, w.key));
    await write(200, "PATCH", `/projects/${w.project}/policies/${w.policy.id}`, {
      rules: [{ permission_set: "InferenceReadOnly", deployments: [w.a.slug] }],
    });
    await expectError(await send(w.pathA, w.key), 403, "scope_insufficient");
    await ok(send(w.pathA, w.key, "list"));
    await write(200, "PATCH", `/projects/${w.project}/policies/${w.policy.id}`, {
      rules: [{ permission_set: "InferenceFullAccess", deployments: ["*"] }],
    });
    await ok(send(w.pathB, w.key));
  });

  it("a rule condition added", async () => {
    const w = await world((d) => [{ permission_set: "InferenceFullAccess", deployments: [d.a] }]);
    await ok(send(w.pathA, w.key));
    await write(200, "PATCH", `/projects/${w.project}/policies/${w.policy.id}`, {
      rules: [{ permission_set: "InferenceFullAccess", deployments: [w.a.slug], conditions: { ip_allow: ["198.51.100.0/24"] } }],
    });
    await expectError(await send(w.pathA, w.key), 403, "ip_not_allowed");
  });

  it("a rule removed: the one that allowed is gone, the one left does not cover", async () => {
    const w = await world((d) => [
      { permission_set: "InferenceFullAccess", deployments: [d.a] },
      { permission_set: "InferenceFullAccess", deployments: [d.b] },
    ]);
    await ok(send(w.pathA, w.key));
    await write(200, "PATCH", `/projects/${w.project}/policies/${w.policy.id}`, {
      rules: [{ permission_set: "InferenceFullAccess", deployments: [w.b.slug] }],
    });
    await expectError(await send(w.pathA, w.key), 403, "scope_insufficient");
    await ok(send(w.pathB, w.key));
  });

  it("a policy deleted", async () => {
    const w = await world((d) => [{ permission_set: "InferenceFullAccess", deployments: ["*"] }]);
    await ok(send(w.pathA, w.key));
    await write(200, "DELETE", `/projects/${w.project}/policies/${w.policy.id}`);
    await expectError(await send(w.pathA, w.key), 403, "scope_insufficient");
  });

  it("a new policy granting what none did", async () => {
    const w = await world((d) => [{ permission_set: "InferenceFullAccess", deployments: [d.a] }]);
    await ok(send(w.pathA, w.key));
    await expectError(await send(w.pathB, w.key), 403, "scope_insufficient");
    await write(201, "POST", `/projects/${w.project}/policies`, {
      name: "more",
      application_id: w.app.id,
      rules: [{ permission_set: "InferenceFullAccess", deployments: [w.b.slug] }],
    });
    await ok(send(w.pathB, w.key));
  });

  it("an application deleted: its keys are revoked (401)", async () => {
    const w = await world((d) => [{ permission_set: "InferenceFullAccess", deployments: ["*"] }]);
    await ok(send(w.pathA, w.key));
    await write(200, "DELETE", `/projects/${w.project}/applications/${w.app.id}`);
    await expectError(await send(w.pathA, w.key), 401, "invalid_api_key");
  });

  it("a deployment deleted leaves the rule that named it; a deployment created later is covered by [\"*\"]", async () => {
    const w = await world((d) => [
      { permission_set: "InferenceFullAccess", deployments: [d.a, d.b] },
      { permission_set: "InferenceReadOnly", deployments: ["*"] },
    ]);
    await ok(send(w.pathB, w.key));
    await write(200, "DELETE", `/projects/${w.project}/deployments/${w.b.slug}`);
    // Recreated under the same slug, it is a new deployment: the full-access rule no longer names it.
    await createDeployment(w.project, {}, w.b.slug);
    await expectError(await send(w.pathB, w.key), 403, "scope_insufficient");
    await ok(send(w.pathB, w.key, "list"));
    const policy = await write(200, "GET", `/projects/${w.project}/policies/${w.policy.id}`);
    expect(policy.rules[0].deployments).toEqual([w.a.slug]);
  });

  it("a standalone key's permission set, both ways", async () => {
    const project = await createProject();
    const d = await createDeployment(project.slug);
    const key = await createKey(project.slug, [`${project.slug}/${d.slug}`]);
    const path = `/endpoint/${project.slug}/${d.slug}`;
    await ok(send(path, key.key));
    await write(200, "PATCH", `/projects/${project.slug}/keys/${key.id}`, { permission_set: "InferenceReadOnly" });
    await expectError(await send(path, key.key), 403, "scope_insufficient");
    await ok(send(path, key.key, "list"));
    await write(200, "PATCH", `/projects/${project.slug}/keys/${key.id}`, { permission_set: "InferenceFullAccess" });
    await ok(send(path, key.key));
  });
});
