import { describe, expect, it } from "vitest";
import { admin, createDeployment, createKey, createProject, createToken } from "../helpers";

describe("deployment ↔ key links", () => {
  it("links and unlinks from the deployment's side, editing the key's scopes", async () => {
    const project = await createProject();
    const dep = await createDeployment(project.slug);
    const key = await createKey(project.slug, []);
    const base = `/projects/${project.slug}/deployments/${dep.slug}/keys`;
    expect((await admin("GET", base)).body.data).toHaveLength(0);
    const linked = await admin("PUT", `${base}/${key.id}`);
    expect(linked.status).toBe(200);
    expect(linked.body.scopes).toEqual([`${project.slug}/${dep.slug}`]);
    expect((await admin("GET", base)).body.data.map((k: { id: string }) => k.id)).toEqual([key.id]);
    const unlinked = await admin("DELETE", `${base}/${key.id}`);
    expect(unlinked.status).toBe(200);
    expect(unlinked.body.scopes).toEqual([]);
    expect((await admin("DELETE", `${base}/${key.id}`)).status).toBe(404);
  });

  it("lists project-wide keys as covering the deployment, and refuses to unlink them (409)", async () => {
    const project = await createProject();
    const dep = await createDeployment(project.slug);
    const key = await createKey(project.slug, [`${project.slug}/*`]);
    const base = `/projects/${project.slug}/deployments/${dep.slug}/keys`;
    expect((await admin("GET", base)).body.data.map((k: { id: string }) => k.id)).toEqual([key.id]);
    const res = await admin("DELETE", `${base}/${key.id}`);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("conflict");
    expect(res.body.error.message).toContain(`${project.slug}/*`);
  });

  it("cannot link a key of another project", async () => {
    const a = await createProject();
    const b = await createProject();
    const dep = await createDeployment(a.slug);
    const foreign = await createKey(b.slug, []);
    expect((await admin("PUT", `/projects/${a.slug}/deployments/${dep.slug}/keys/${foreign.id}`)).status).toBe(404);
  });
});

describe("management tokens", () => {
  it("creates (secret once), lists without secrets, revokes", async () => {
    const project = await createProject();
    const res = await admin("POST", `/projects/${project.slug}/tokens`, { name: "terraform", role: "read_only" });
    expect(res.status).toBe(201);
    expect(res.body.token).toMatch(/^ik_sdk_[0-9A-Za-z]{30}$/);
    expect(res.body).toMatchObject({ object: "management_token", role: "read_only", start: res.body.token.slice(0, 12) });
    const list = await admin("GET", `/projects/${project.slug}/tokens`);
    expect(JSON.stringify(list.body)).not.toContain(res.body.token);
    const revoked = await admin("DELETE", `/projects/${project.slug}/tokens/${res.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    expect((await admin("GET", "/projects", undefined, res.body.token)).status).toBe(401);
  });

  it("a full token manages its own project but cannot create projects", async () => {
    const project = await createProject();
    const { token } = await createToken(project.slug, "full");
    const dep = await admin("POST", `/projects/${project.slug}/deployments`, { slug: "d", origin: { url: "https://a.example.com" } }, token);
    expect(dep.status).toBe(201);
    const denied = await admin("POST", "/projects", { slug: "nope-by-token" }, token);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe("scope_insufficient");
  });

  it("a token cannot mint a token that outlives it", async () => {
    const project = await createProject();
    const parent = await createToken(project.slug, "full", { expires_at: "2099-01-01T00:00:00Z" });
    const longer = await admin("POST", `/projects/${project.slug}/tokens`, { name: "c", role: "full", expires_at: "2100-01-01T00:00:00Z" }, parent.token);
    expect(longer.status).toBe(403);
    const inherited = await admin("POST", `/projects/${project.slug}/tokens`, { name: "c", role: "read_only" }, parent.token);
    expect(inherited.status).toBe(201);
    expect(inherited.body.expires_at).toBe("2099-01-01T00:00:00.000Z");
  });

  it("rejects an unknown role", async () => {
    const project = await createProject();
    const res = await admin("POST", `/projects/${project.slug}/tokens`, { name: "x", role: "owner" });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe("role");
  });
});

describe("audit log", () => {
  it("records exactly one event per mutation, newest first, with actor and request id, never a secret", async () => {
    const project = await createProject();
    const { token, id: tokenId } = await createToken(project.slug, "full");
    const dep = await admin("POST", `/projects/${project.slug}/deployments`, {
      slug: "d",
      origin: { url: "https://a.example.com", headers: { Authorization: "Bearer very-secret-origin" } },
    }, token);
    const key = await admin("POST", `/projects/${project.slug}/keys`, { name: "k", scopes: [`${project.slug}/d`] }, token);
    await admin("DELETE", `/projects/${project.slug}/keys/${key.body.id}`, undefined, token);
    const log = await admin("GET", `/projects/${project.slug}/audit`);
    expect(log.status).toBe(200);
    expect(log.body.data.map((e: { action: string }) => e.action)).toEqual([
      "key.revoke",
      "key.create",
      "deployment.create",
      "token.create",
      "project.create",
    ]);
    const [revoke] = log.body.data;
    expect(revoke).toMatchObject({ object: "audit_event", actor: `token:${tokenId}`, target: key.body.id });
    expect(revoke.request_id).toMatch(/^req_/);
    expect(log.body.data[2].target).toBe(dep.body.id);
    const text = JSON.stringify(log.body);
    for (const secret of [token, key.body.key, "very-secret-origin"]) expect(text).not.toContain(secret);
  });

  it("echoes the request id of the change", async () => {
    const project = await createProject();
    const log = await admin("GET", `/projects/${project.slug}/audit`);
    expect(log.body.data[0].action).toBe("project.create");
    expect(log.body.data[0].request_id).toMatch(/^req_[0-9a-f]{32}$/);
  });
});
