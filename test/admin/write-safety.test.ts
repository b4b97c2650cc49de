/**
 * Writes that stay correct under races and odd input: concurrent PATCHes, times past year 9999, origins that only
 * look public, a roll racing a revoke. Each test failed on the code before its fix.
 */
import { describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  admin,
  call,
  createDeployment,
  createKey,
  createProject,
  createToken,
  dbWithWriteBeforeBatch,
  expectError,
  fixture,
  recordingOrigin,
  withEnv,
} from "../helpers";

describe("concurrent PATCHes of different fields never undo each other", () => {
  it("keys: an expiry and a rename sent at once both stick, and the key is refused", async () => {
    const f = await fixture();
    const base = `/projects/${f.project.slug}/keys/${f.key.id}`;
    for (let i = 0; i < 3; i++) {
      const [restrict, rename] = await Promise.all([
        admin("PATCH", base, { expires_at: "2000-01-01T00:00:00Z", conditions: { ip_allow: ["10.0.0.0/8"] } }),
        admin("PATCH", base, { name: `renamed-${i}` }),
      ]);
      expect([restrict.status, rename.status]).toEqual([200, 200]);
    }
    const key = await admin("GET", base);
    expect(key.body).toMatchObject({ name: "renamed-2", expires_at: "2000-01-01T00:00:00.000Z", conditions: { ip_allow: ["10.0.0.0/8"] } });
    const res = await call(`${f.path}/v1/models`, { token: f.key.key, origin: recordingOrigin().origin });
    expect(res.status).toBe(401);
  });

  it("deployments: turning auth on and a rename sent at once both stick", async () => {
    const project = await createProject();
    const dep = await createDeployment(project.slug, { auth_enabled: false });
    const base = `/projects/${project.slug}/deployments/${dep.slug}`;
    await Promise.all([admin("PATCH", base, { auth_enabled: true }), admin("PATCH", base, { name: "renamed" })]);
    expect((await admin("GET", base)).body).toMatchObject({ auth_enabled: true, name: "renamed" });
  });
});

describe("times beyond year 9999 are refused", () => {
  it("a token cannot mint a child that outlives it through a 5-digit UTC year", async () => {
    const project = await createProject();
    const parent = await createToken(project.slug, "full", { expires_at: "2099-01-01T00:00:00Z" });
    const res = await admin("POST", `/projects/${project.slug}/tokens`, { name: "c", role: "full", expires_at: "9999-12-31T23:59:59-23:59" }, parent.token);
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe("expires_at");
  });
});

describe("times beyond year 9999 are refused in key conditions too", () => {
  it.each(["not_before", "not_after"])("%s in year 10000 once in UTC is a 400 naming the field", async (field) => {
    const project = await createProject();
    const res = await admin("POST", `/projects/${project.slug}/keys`, {
      name: "k",
      scopes: [`${project.slug}/*`],
      conditions: { [field]: "9999-12-31T23:59:59-01:00" },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "invalid_request", param: `conditions.${field}` });
    expect(res.body.error.message).toMatch(/year 9999/);
  });

  it("the last instant of year 9999 is stored as written, in UTC", async () => {
    const project = await createProject();
    const key = await createKey(project.slug, [`${project.slug}/*`], {
      conditions: { not_after: "9999-12-31T23:59:59.999Z", not_before: null, countries: null },
    });
    const res = await admin("GET", `/projects/${project.slug}/keys/${key.id}`);
    expect(res.body.conditions).toEqual({ not_after: "9999-12-31T23:59:59.999Z" });
  });
});

describe("bodies that are not labelled as JSON", () => {
  it.each([
    ["curl's default form type", "application/x-www-form-urlencoded"],
    ["text/plain", "text/plain"],
    ["no Content-Type at all", null],
  ])("%s is a 400 saying what to send, and nothing is written", async (_, type) => {
    const slug = `ct-${crypto.randomUUID().slice(0, 8)}`;
    const headers: Record<string, string> = type === null ? {} : { "content-type": type };
    const body = new TextEncoder().encode(JSON.stringify({ slug }));
    const res = await call("/admin/v1/projects", { method: "POST", token: ADMIN_TOKEN, headers, body });
    const error = await expectError(res, 400, "invalid_request");
    expect(error.error.message).toMatch(/Content-Type: application\/json/);
    expect((await admin("GET", `/projects/${slug}`)).status).toBe(404);
  });
});

describe("revoking something that vanished meanwhile", () => {
  /** The row is deleted (by another request) just before the revoke commits: its UPDATE then changes nothing. */
  const deletedBeforeTheRevoke = (sql: string, id: string) => dbWithWriteBeforeBatch((db) => db.prepare(sql).bind(id).run());

  it("keys and tokens answer the same: 404, and no audit event", async () => {
    const project = await createProject();
    const key = await createKey(project.slug, [`${project.slug}/*`]);
    const token = await createToken(project.slug, "full");
    const cases = [
      [`/projects/${project.slug}/keys/${key.id}`, "DELETE FROM api_keys WHERE id = ?", key.id],
      [`/projects/${project.slug}/tokens/${token.id}`, "DELETE FROM management_tokens WHERE id = ?", token.id],
    ] as const;
    for (const [path, sql, id] of cases) {
      const res = await admin("DELETE", path, undefined, ADMIN_TOKEN, withEnv({ DB: deletedBeforeTheRevoke(sql, id) }));
      expect(res.status, path).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
    const audit = await admin("GET", `/projects/${project.slug}/audit?limit=100`);
    const actions = audit.body.data.map((event: { action: string }) => event.action);
    expect(actions).not.toContain("key.revoke");
    expect(actions).not.toContain("token.revoke");
  });
});

describe("origins that only look public", () => {
  it.each(["https://localhost.", "https://metadata.google.internal.", "https://[::7f00:1]", "https://[::a9fe:a9fe]"])(
    "refuses %s",
    async (url) => {
      const project = await createProject();
      const res = await admin("POST", `/projects/${project.slug}/deployments`, { slug: "d", origin: { url } });
      expect(res.status).toBe(400);
      expect(res.body.error.param).toBe("origin.url");
    },
  );
});

describe("rolling still works after the race fix", () => {
  it("a roll of a live key answers 201 and records one event", async () => {
    const project = await createProject();
    const key = await createKey(project.slug, [`${project.slug}/*`]);
    expect((await admin("POST", `/projects/${project.slug}/keys/${key.id}/roll`, {})).status).toBe(201);
    const audit = await admin("GET", `/projects/${project.slug}/audit`);
    expect(audit.body.data.filter((e: { action: string }) => e.action === "key.roll")).toHaveLength(1);
  });
});
