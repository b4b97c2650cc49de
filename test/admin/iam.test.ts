/**
 * The management API of applications, policies and application keys: objects, validation (a 400 naming the field
 * and nothing written), audit events for every write, what a delete takes with it, and tenant isolation.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  admin,
  createApplication,
  createApplicationKey,
  createDeployment,
  createKey,
  createPolicy,
  createProject,
  createToken,
  expectError,
  call,
  rowCount,
} from "../helpers";

async function setup() {
  const project = await createProject();
  const a = await createDeployment(project.slug);
  const b = await createDeployment(project.slug);
  const app = await createApplication(project.slug, "backend");
  return { p: project.slug, projectId: project.id, a: a.slug, b: b.slug, app };
}

/** Every row the IAM tables and keys hold, to check that a refused write changed nothing. */
async function iamRows(): Promise<string> {
  const tables = ["applications", "policies", "policy_rules", "policy_rule_deployments", "api_keys", "audit_events"];
  const dumps = await env.DB.batch(tables.map((t) => env.DB.prepare(`SELECT * FROM ${t} ORDER BY 1`)));
  return JSON.stringify(dumps.map((d) => d.results));
}

async function actions(projectId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT action FROM audit_events WHERE project_id = ? ORDER BY id")
    .bind(projectId)
    .all<{ action: string }>();
  return results.map((r) => r.action);
}

describe("applications", () => {
  it("are created, listed in pages, read, renamed and deleted, each write audited", async () => {
    const { p, projectId, app } = await setup();
    expect(app).toMatchObject({ object: "application", project: p, name: "backend", description: null });
    expect(app.id).toMatch(/^app_[0-9a-z]{26}$/);
    const second = await createApplication(p, "ci");
    const page = await admin("GET", `/projects/${p}/applications?limit=1`);
    expect(page.body).toMatchObject({ object: "list", has_more: true, next_cursor: app.id });
    expect(page.body.data.map((x: { id: string }) => x.id)).toEqual([app.id]);
    const next = await admin("GET", `/projects/${p}/applications?limit=1&cursor=${app.id}`);
    expect(next.body.data.map((x: { id: string }) => x.id)).toEqual([second.id]);
    const patched = await admin("PATCH", `/projects/${p}/applications/${app.id}`, { description: "the API" });
    expect(patched.body).toMatchObject({ name: "backend", description: "the API" });
    expect((await admin("GET", `/projects/${p}/applications/${app.id}`)).body.description).toBe("the API");
    const deleted = await admin("DELETE", `/projects/${p}/applications/${app.id}`);
    expect(deleted.body).toMatchObject({ id: app.id, description: "the API" });
    await expectError(await call(`/admin/v1/projects/${p}/applications/${app.id}`, { token: "test-admin-token-0123456789" }), 404, "not_found");
    expect((await actions(projectId)).filter((a) => a.startsWith("application."))).toEqual([
      "application.create",
      "application.create",
      "application.update",
      "application.delete",
    ]);
  });

  it("names are unique in a project (409 naming `name`), on create and on rename", async () => {
    const { p, app } = await setup();
    const dup = await admin("POST", `/projects/${p}/applications`, { name: "backend" });
    expect(dup).toMatchObject({ status: 409, body: { error: { code: "conflict", param: "name" } } });
    const other = await createApplication(p, "other");
    const rename = await admin("PATCH", `/projects/${p}/applications/${other.id}`, { name: app.name });
    expect(rename).toMatchObject({ status: 409, body: { error: { code: "conflict", param: "name" } } });
    // Another project may use the same name.
    expect((await createApplication((await createProject()).slug, "backend")).name).toBe("backend");
  });

  it("deleting one deletes its policies and revokes its keys in one batch, one audit event each", async () => {
    const { p, projectId, a, app } = await setup();
    const policy = await createPolicy(p, app.id, [{ permission_set: "InferenceFullAccess", deployments: [a] }]);
    const k1 = await createApplicationKey(p, app.id);
    const k2 = await createApplicationKey(p, app.id);
    await admin("DELETE", `/projects/${p}/keys/${k2.id}`); // already revoked: not revoked again
    const standalone = await createKey(p, [`${p}/${a}`]);
    const before = await actions(projectId);
    expect((await admin("DELETE", `/projects/${p}/applications/${app.id}`)).status).toBe(200);
    const added = (await actions(projectId)).slice(before.length);
    expect(added.sort()).toEqual(["application.delete", "key.revoke", "policy.delete"]);
    expect((await admin("GET", `/projects/${p}/policies/${policy.id}`)).status).toBe(404);
    expect(await rowCount("SELECT count(*) AS n FROM policy_rules WHERE policy_id = ?", policy.id)).toBe(0);
    const key = await admin("GET", `/projects/${p}/keys/${k1.id}`);
    expect(key.body.revoked_at).not.toBeNull();
    expect(key.body.application_id).toBe(app.id); // its history still reads
    expect((await admin("GET", `/projects/${p}/keys/${standalone.id}`)).body.revoked_at).toBeNull();
  });
});

describe("policies", () => {
  it("hold ordered rules, shown canonically; PATCH replaces the rules whole", async () => {
    const { p, projectId, a, b, app } = await setup();
    const res = await admin("POST", `/projects/${p}/policies`, {
      name: "backend-access",
      application_id: app.id,
      rules: [
        { permission_set: "InferenceFullAccess", deployments: [b, a, a], conditions: { ip_allow: ["203.0.113.9/24"] } },
        { permission_set: "InferenceReadOnly", deployments: ["*"] },
      ],
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ object: "policy", project: p, application_id: app.id, name: "backend-access", description: null });
    expect(res.body.id).toMatch(/^pol_/);
    expect(res.body.rules).toEqual([
      { permission_set: "InferenceFullAccess", deployments: [a, b].sort(), conditions: { ip_allow: ["203.0.113.0/24"] } },
      { permission_set: "InferenceReadOnly", deployments: ["*"], conditions: {} },
    ]);
    const patched = await admin("PATCH", `/projects/${p}/policies/${res.body.id}`, {
      rules: [{ permission_set: "InferenceReadOnly", deployments: [b] }],
    });
    expect(patched.body.rules).toEqual([{ permission_set: "InferenceReadOnly", deployments: [b], conditions: {} }]);
    const renamed = await admin("PATCH", `/projects/${p}/policies/${res.body.id}`, { name: "renamed" });
    expect(renamed.body).toMatchObject({ name: "renamed", rules: patched.body.rules });
    expect((await admin("DELETE", `/projects/${p}/policies/${res.body.id}`)).body.name).toBe("renamed");
    expect((await actions(projectId)).filter((x) => x.startsWith("policy."))).toEqual([
      "policy.create",
      "policy.update",
      "policy.update",
      "policy.delete",
    ]);
  });

  it("are listed in pages and filtered by application", async () => {
    const { p, a, app } = await setup();
    const other = await createApplication(p, "other");
    const rules = [{ permission_set: "InferenceFullAccess" as const, deployments: [a] }];
    const p1 = await createPolicy(p, app.id, rules);
    const p2 = await createPolicy(p, other.id, rules);
    const p3 = await createPolicy(p, app.id, rules);
    const mine = await admin("GET", `/projects/${p}/policies?application_id=${app.id}`);
    expect(mine.body.data.map((x: { id: string }) => x.id)).toEqual([p1.id, p3.id]);
    const page = await admin("GET", `/projects/${p}/policies?limit=2`);
    expect(page.body).toMatchObject({ has_more: true, next_cursor: p2.id });
  });

  it("a deleted deployment leaves every rule; a rule left with none shows []", async () => {
    const { p, a, b, app } = await setup();
    const policy = await createPolicy(p, app.id, [
      { permission_set: "InferenceFullAccess", deployments: [a, b] },
      { permission_set: "InferenceFullAccess", deployments: [b] },
    ]);
    await admin("DELETE", `/projects/${p}/deployments/${b}`);
    const read = await admin("GET", `/projects/${p}/policies/${policy.id}`);
    expect(read.body.rules.map((r: { deployments: string[] }) => r.deployments)).toEqual([[a], []]);
  });

  it("an application has at most 10 policies", async () => {
    const { p, a, app } = await setup();
    for (let i = 0; i < 10; i++) await createPolicy(p, app.id, [{ permission_set: "InferenceReadOnly", deployments: [a] }]);
    const res = await admin("POST", `/projects/${p}/policies`, {
      name: "eleventh",
      application_id: app.id,
      rules: [{ permission_set: "InferenceReadOnly", deployments: [a] }],
    });
    expect(res).toMatchObject({ status: 400, body: { error: { param: "application_id" } } });
  });
});

describe("bad input: 400 naming the field, nothing written", () => {
  const rule = (deployments: string[], extra: Record<string, unknown> = {}) => ({ permission_set: "InferenceFullAccess", deployments, ...extra });

  it.each<[string, (w: Awaited<ReturnType<typeof setup>> & { foreignDeployment: string; foreignApp: string }) => unknown, string]>([
    ["an unknown deployment slug", (w) => ({ rules: [rule([w.a]), rule([w.b, "nope"])] }), "rules[1].deployments[1]"],
    ["another project's deployment", (w) => ({ rules: [rule([w.foreignDeployment])] }), "rules[0].deployments[0]"],
    ["a scope-shaped entry", (w) => ({ rules: [rule([`${w.p}/${w.a}`])] }), "rules[0].deployments[0]"],
    ["'*' mixed with slugs", (w) => ({ rules: [rule(["*", w.a])] }), "rules[0].deployments"],
    ["no deployments", () => ({ rules: [rule([])] }), "rules[0].deployments"],
    ["an unknown permission set", (w) => ({ rules: [{ permission_set: "InferenceAdmin", deployments: [w.a] }] }), "rules[0].permission_set"],
    ["no rules", () => ({ rules: [] }), "rules"],
    ["51 rules", (w) => ({ rules: Array.from({ length: 51 }, () => rule([w.a])) }), "rules"],
    [
      "more than 256 deployments named across its rules",
      () => ({ rules: Array.from({ length: 3 }, (_, i) => rule(Array.from({ length: 90 }, (_, j) => `d-${i}-${j}`))) }),
      "rules",
    ],
    ["a bad rule condition", (w) => ({ rules: [rule([w.a], { conditions: { ip_allow: ["300.0.0.1"] } })] }), "rules[0].conditions.ip_allow[0]"],
    ["an unknown rule field", (w) => ({ rules: [rule([w.a], { effect: "deny" })] }), "rules[0].effect"],
    ["an application of another project", (w) => ({ application_id: w.foreignApp, rules: [rule([w.a])] }), "application_id"],
    ["an application id that is not one", (w) => ({ application_id: "key_01jcz9x7k2m3n4p5q6r7s8t9v0", rules: [rule([w.a])] }), "application_id"],
  ])("a policy with %s", async (_, body, param) => {
    const w = await setup();
    const foreign = await createProject();
    const world = { ...w, foreignDeployment: (await createDeployment(foreign.slug)).slug, foreignApp: (await createApplication(foreign.slug)).id };
    const before = await iamRows();
    const res = await call(`/admin/v1/projects/${w.p}/policies`, {
      token: "test-admin-token-0123456789",
      method: "POST",
      body: { name: "x", application_id: w.app.id, ...(body(world) as object) },
    });
    const error = await expectError(res, 400, "invalid_request");
    expect(error.error.param).toBe(param);
    expect(await iamRows()).toBe(before);
  });

  it.each<[string, (w: { p: string; a: string; app: string; foreignApp: string }) => unknown, string]>([
    ["both scopes and an application", (w) => ({ scopes: [`${w.p}/${w.a}`], application_id: w.app }), "scopes"],
    ["an empty scopes list and an application", (w) => ({ scopes: [], application_id: w.app }), "scopes"],
    ["a permission set and an application", (w) => ({ permission_set: "InferenceReadOnly", application_id: w.app }), "permission_set"],
    ["neither scopes nor an application", () => ({}), "scopes"],
    ["an application of another project", (w) => ({ application_id: w.foreignApp }), "application_id"],
    ["an unknown permission set", (w) => ({ scopes: [`${w.p}/${w.a}`], permission_set: "Admin" }), "permission_set"],
  ])("a key with %s", async (_, body, param) => {
    const w = await setup();
    const foreignApp = (await createApplication((await createProject()).slug)).id;
    const before = await iamRows();
    const res = await call(`/admin/v1/projects/${w.p}/keys`, {
      token: "test-admin-token-0123456789",
      method: "POST",
      body: { name: "k", ...(body({ p: w.p, a: w.a, app: w.app.id, foreignApp }) as object) },
    });
    expect((await expectError(res, 400, "invalid_request")).error.param).toBe(param);
    expect(await iamRows()).toBe(before);
  });

  it("an application key cannot be given scopes, a permission set, or a deployment link", async () => {
    const w = await setup();
    const key = await createApplicationKey(w.p, w.app.id);
    const before = await iamRows();
    for (const [body, param] of [[{ scopes: [`${w.p}/*`] }, "scopes"], [{ permission_set: "InferenceReadOnly" }, "permission_set"]] as const) {
      const res = await admin("PATCH", `/projects/${w.p}/keys/${key.id}`, body);
      expect(res).toMatchObject({ status: 400, body: { error: { param } } });
    }
    expect((await admin("PUT", `/projects/${w.p}/deployments/${w.a}/keys/${key.id}`)).status).toBe(409);
    expect(await iamRows()).toBe(before);
  });
});

describe("a PATCH that names no field", () => {
  it("changes nothing and records nothing, for an application and a policy", async () => {
    const { p, projectId, a, app } = await setup();
    const policy = await createPolicy(p, app.id, [{ permission_set: "InferenceFullAccess", deployments: [a] }]);
    const before = await iamRows();
    const revision = await rowCount("SELECT revision AS n FROM projects WHERE id = ?", projectId);
    expect((await admin("PATCH", `/projects/${p}/applications/${app.id}`, {})).body.updated_at).toBe(app.updated_at);
    expect((await admin("PATCH", `/projects/${p}/policies/${policy.id}`, {})).body.updated_at).toBe(policy.updated_at);
    expect(await iamRows()).toBe(before);
    expect(await rowCount("SELECT revision AS n FROM projects WHERE id = ?", projectId)).toBe(revision);
  });
});

describe("keys", () => {
  it("an application key shows its application, no scopes and no permission set; a standalone key its set", async () => {
    const w = await setup();
    const appKey = await admin("GET", `/projects/${w.p}/keys/${(await createApplicationKey(w.p, w.app.id)).id}`);
    expect(appKey.body).toMatchObject({ application_id: w.app.id, scopes: [], permission_set: null });
    const readOnly = await admin("POST", `/projects/${w.p}/keys`, { name: "ide", scopes: [`${w.p}/*`], permission_set: "InferenceReadOnly" });
    expect(readOnly.body).toMatchObject({ application_id: null, permission_set: "InferenceReadOnly", scopes: [`${w.p}/*`] });
    const plain = await createKey(w.p, [`${w.p}/${w.a}`]);
    expect((await admin("GET", `/projects/${w.p}/keys/${plain.id}`)).body.permission_set).toBe("InferenceFullAccess");
    const listed = await admin("GET", `/projects/${w.p}/keys?application_id=${w.app.id}`);
    expect(listed.body.data.map((k: { id: string }) => k.id)).toEqual([appKey.body.id]);
  });
});

describe("tenant isolation", () => {
  it("a management token of project A never sees or changes project B's applications or policies", async () => {
    const b = await setup();
    const policy = await createPolicy(b.p, b.app.id, [{ permission_set: "InferenceFullAccess", deployments: [b.a] }]);
    const a = await createProject();
    const tokenA = (await createToken(a.slug, "full")).token;
    const before = await iamRows();
    // Through B's path: 403, whatever exists.
    for (const [method, path] of [
      ["GET", `/projects/${b.p}/applications`],
      ["GET", `/projects/${b.p}/applications/${b.app.id}`],
      ["DELETE", `/projects/${b.p}/applications/${b.app.id}`],
      ["GET", `/projects/${b.p}/policies/${policy.id}`],
      ["PATCH", `/projects/${b.p}/policies/${policy.id}`],
    ] as const) {
      const res = await admin(method, path, method === "PATCH" ? { name: "x" } : undefined, tokenA);
      expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 403, code: "project_scope_mismatch" });
    }
    // Through A's own path, B's ids do not exist.
    for (const [method, path] of [
      ["GET", `/projects/${a.slug}/applications/${b.app.id}`],
      ["DELETE", `/projects/${a.slug}/applications/${b.app.id}`],
      ["GET", `/projects/${a.slug}/policies/${policy.id}`],
      ["DELETE", `/projects/${a.slug}/policies/${policy.id}`],
    ] as const) {
      expect((await admin(method, path, undefined, tokenA)).status).toBe(404);
    }
    expect((await admin("GET", `/projects/${a.slug}/policies`, undefined, tokenA)).body.data).toEqual([]);
    // Nor can A make a policy or a key for B's application.
    const policyForB = await admin("POST", `/projects/${a.slug}/policies`, { name: "x", application_id: b.app.id, rules: [{ permission_set: "InferenceReadOnly", deployments: ["*"] }] }, tokenA);
    expect(policyForB).toMatchObject({ status: 400, body: { error: { param: "application_id" } } });
    const keyForB = await admin("POST", `/projects/${a.slug}/keys`, { name: "x", application_id: b.app.id }, tokenA);
    expect(keyForB).toMatchObject({ status: 400, body: { error: { param: "application_id" } } });
    expect(await iamRows()).toBe(before);
  });
});
