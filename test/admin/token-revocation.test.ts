/**
 * Revoking a management token revokes every token it created, transitively, in the same write; keys and tokens
 * record who created them, and the lists filter on it, so what a leaked token made can be found.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, call, createProject, createToken, dbWithWriteBeforeBatch, expectError, fixture, withEnv } from "../helpers";

async function tokenMadeBy(project: string, parent: string, name: string) {
  const res = await admin("POST", `/projects/${project}/tokens`, { name, role: "full" }, parent);
  expect(res.status).toBe(201);
  return res.body as { id: string; token: string; created_by: string };
}

describe("revoking a management token", () => {
  it("revokes its children and theirs in one write, audited per token; the next request with any of them is 401", async () => {
    const project = await createProject();
    const root = await createToken(project.slug, "full");
    const child = await tokenMadeBy(project.slug, root.token, "child");
    const grandchild = await tokenMadeBy(project.slug, child.token, "grandchild");
    const sibling = await createToken(project.slug, "full"); // made by the admin: not part of the tree
    expect(child.created_by).toBe(`token:${root.id}`);
    expect(grandchild.created_by).toBe(`token:${child.id}`);

    const revoked = await admin("DELETE", `/projects/${project.slug}/tokens/${root.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();

    for (const token of [root, child, grandchild]) {
      await expectError(await call(`/admin/v1/projects/${project.slug}`, { token: token.token }), 401, "invalid_api_key");
    }
    expect((await call(`/admin/v1/projects/${project.slug}`, { token: sibling.token })).status).toBe(200);

    const audit = await admin("GET", `/projects/${project.slug}/audit?limit=100`);
    const revokes = audit.body.data.filter((event: { action: string }) => event.action === "token.revoke");
    expect(revokes.map((event: { target: string }) => event.target).sort()).toEqual([root.id, child.id, grandchild.id].sort());
    expect(new Set(revokes.map((event: { request_id: string }) => event.request_id)).size).toBe(1);
    for (const event of revokes) expect(event.id).toMatch(/^evt_[0-9a-z]{26}$/);
  });

  it("a repeat revokes nothing more and records nothing", async () => {
    const project = await createProject();
    const root = await createToken(project.slug, "full");
    await tokenMadeBy(project.slug, root.token, "child");
    await admin("DELETE", `/projects/${project.slug}/tokens/${root.id}`);
    const before = await admin("GET", `/projects/${project.slug}/audit?limit=100`);
    expect((await admin("DELETE", `/projects/${project.slug}/tokens/${root.id}`)).status).toBe(200);
    const after = await admin("GET", `/projects/${project.slug}/audit?limit=100`);
    expect(after.body.data.length).toBe(before.body.data.length);
  });

  it("a token being revoked cannot slip a child past the revoke", async () => {
    const project = await createProject();
    const parent = await createToken(project.slug, "full");
    // The parent authenticates, then is revoked (by another request) just before its create commits.
    const racing = dbWithWriteBeforeBatch((db) =>
      db.prepare("UPDATE management_tokens SET revoked_at = ? WHERE id = ?").bind(new Date().toISOString(), parent.id).run(),
    );
    const res = await call(`/admin/v1/projects/${project.slug}/tokens`, {
      method: "POST",
      token: parent.token,
      body: { name: "escapee", role: "full" },
      env: withEnv({ DB: racing }),
    });
    await expectError(res, 401, "invalid_api_key");
    const made = await env.DB.prepare("SELECT count(*) AS n FROM management_tokens WHERE created_by = ?")
      .bind(`token:${parent.id}`)
      .first<{ n: number }>();
    expect(made?.n).toBe(0);
  });
});

describe("created_by", () => {
  it("keys and tokens say who made them, and the lists filter on it", async () => {
    const f = await fixture();
    const maker = await createToken(f.project.slug, "full");
    const key = await admin("POST", `/projects/${f.project.slug}/keys`, { name: "made", scopes: [`${f.project.slug}/*`] }, maker.token);
    expect(key.status).toBe(201);
    expect(key.body.created_by).toBe(`token:${maker.id}`);
    const child = await tokenMadeBy(f.project.slug, maker.token, "child");

    const keys = await admin("GET", `/projects/${f.project.slug}/keys?created_by=token:${maker.id}`);
    expect(keys.body.data.map((k: { id: string }) => k.id)).toEqual([key.body.id]);
    const tokens = await admin("GET", `/projects/${f.project.slug}/tokens?created_by=token:${maker.id}`);
    expect(tokens.body.data.map((t: { id: string }) => t.id)).toEqual([child.id]);
    const byAdmin = await admin("GET", `/projects/${f.project.slug}/keys?created_by=admin`);
    expect(byAdmin.body.data.map((k: { id: string }) => k.id)).toEqual([f.key.id]);
    const garbage = await admin("GET", `/projects/${f.project.slug}/tokens?created_by=garbage`);
    expect(garbage.status).toBe(400);
    expect(garbage.body.error.param).toBe("created_by");
  });
});

describe("a token with an expiry", () => {
  it("cannot mint a child that never expires by sending expires_at: null", async () => {
    const project = await createProject();
    const parent = await createToken(project.slug, "full", { expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    const res = await admin("POST", `/projects/${project.slug}/tokens`, { name: "forever", role: "full", expires_at: null }, parent.token);
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: "scope_insufficient", param: "expires_at" });
  });
});
