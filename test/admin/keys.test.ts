import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, createDeployment, createKey, createProject, rowCount } from "../helpers";

describe("API keys", () => {
  it("shows the secret once, stores only its hash, and shows `start` afterwards", async () => {
    const project = await createProject();
    const dep = await createDeployment(project.slug);
    const res = await admin("POST", `/projects/${project.slug}/keys`, {
      name: "ci",
      description: "for CI",
      scopes: [`${project.slug}/${dep.slug}`],
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const secret: string = res.body.key;
    expect(secret).toMatch(/^ik_live_[0-9A-Za-z]{30}$/);
    expect(res.body).toMatchObject({ object: "api_key", name: "ci", start: secret.slice(0, 12), revoked_at: null });
    expect(res.body.scopes).toEqual([`${project.slug}/${dep.slug}`]);

    const read = await admin("GET", `/projects/${project.slug}/keys/${res.body.id}`);
    expect(read.body.key).toBeUndefined();
    expect(read.body.start).toBe(secret.slice(0, 12));
    const listed = await admin("GET", `/projects/${project.slug}/keys`);
    expect(JSON.stringify(listed.body)).not.toContain(secret);

    const stored = await env.DB.prepare("SELECT hash, hash_version FROM api_key_secrets WHERE key_id = ?")
      .bind(res.body.id)
      .first<{ hash: string; hash_version: number }>();
    expect(stored?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored?.hash_version).toBe(1); // KEY_PEPPER is set in tests: HMAC
    const dump = JSON.stringify(await env.DB.prepare("SELECT * FROM api_keys").all());
    expect(dump).not.toContain(secret);
    const audit = JSON.stringify(await env.DB.prepare("SELECT * FROM audit_events").all());
    expect(audit).not.toContain(secret);
  });

  it("accepts a project wildcard and canonicalises conditions", async () => {
    const project = await createProject();
    const res = await admin("POST", `/projects/${project.slug}/keys`, {
      name: "wild",
      scopes: [`${project.slug}/*`],
      conditions: { ip_allow: ["203.0.113.7/24", "2001:db8::1"], countries: ["de"], user_agents: ["OpenAI/*"] },
    });
    expect(res.status).toBe(201);
    expect(res.body.scopes).toEqual([`${project.slug}/*`]);
    expect(res.body.conditions.ip_allow).toEqual(["203.0.113.0/24", "2001:db8::1/128"]);
    expect(res.body.conditions.countries).toEqual(["DE"]);
  });

  it.each([
    [{ name: "k", scopes: ["other-project/*"] }, "scopes[0]"],
    [{ name: "k", scopes: ["PROJECT/nope"] }, "scopes[0]"],
    [{ name: "k" }, "scopes"],
    [{ name: "k", scopes: [], conditions: { ip_allow: ["300.1.1.1"] } }, "conditions.ip_allow[0]"],
    [{ name: "k", scopes: [], conditions: { ip_deny: ["10.0.0.0/33"] } }, "conditions.ip_deny[0]"],
    [{ name: "k", scopes: [], conditions: { countries: ["Germany"] } }, "conditions.countries[0]"],
    [{ name: "k", scopes: [], conditions: { asns: [-1] } }, "conditions.asns[0]"],
    [{ name: "k", scopes: [], conditions: { planet: ["earth"] } }, "conditions.planet"],
    [{ name: "k", scopes: [], expires_at: "tomorrow" }, "expires_at"],
    [{ name: "k", scopes: [], expires_at: "2026-02-30T00:00:00Z" }, "expires_at"],
    [{ name: "k", scopes: [], conditions: { not_before: "2030-01-01T00:00:00Z", not_after: "2029-01-01T00:00:00Z" } }, "conditions.not_after"],
    [{ name: "", scopes: [] }, "name"],
    [{ name: "k", scopes: [], key: "ik_live_chosen" }, "key"],
  ])("rejects %j with 400 naming %s, writing nothing", async (body, param) => {
    const project = await createProject();
    const res = await admin("POST", `/projects/${project.slug}/keys`, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "invalid_request", param });
    expect(await rowCount("SELECT count(*) AS n FROM api_keys WHERE project_id = ?", project.id)).toBe(0);
  });

  it("rejects a scope naming a deployment that does not exist", async () => {
    const project = await createProject();
    const res = await admin("POST", `/projects/${project.slug}/keys`, { name: "k", scopes: [`${project.slug}/ghost`] });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe("scopes[0]");
  });

  it("patches name, scopes, conditions and expiry", async () => {
    const project = await createProject();
    const a = await createDeployment(project.slug);
    const b = await createDeployment(project.slug);
    const key = await createKey(project.slug, [`${project.slug}/${a.slug}`]);
    const res = await admin("PATCH", `/projects/${project.slug}/keys/${key.id}`, {
      name: "renamed",
      scopes: [`${project.slug}/${b.slug}`],
      conditions: { asns: [13335] },
      expires_at: "2020-01-01T00:00:00+02:00",
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: "renamed", conditions: { asns: [13335] }, expires_at: "2019-12-31T22:00:00.000Z" });
    expect(res.body.scopes).toEqual([`${project.slug}/${b.slug}`]);
  });

  it("revokes idempotently and refuses to roll a revoked key", async () => {
    const project = await createProject();
    const key = await createKey(project.slug, [`${project.slug}/*`]);
    const revoked = await admin("DELETE", `/projects/${project.slug}/keys/${key.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).toMatch(/Z$/);
    const again = await admin("DELETE", `/projects/${project.slug}/keys/${key.id}`);
    expect(again.body.revoked_at).toBe(revoked.body.revoked_at);
    expect(await rowCount("SELECT count(*) AS n FROM audit_events WHERE target = ? AND action = 'key.revoke'", key.id)).toBe(1);
    const roll = await admin("POST", `/projects/${project.slug}/keys/${key.id}/roll`, {});
    expect(roll.status).toBe(409);
    expect(roll.body.error.code).toBe("conflict");
  });

  it("rolls a key: a new secret, the same id, the old secret kept only for the grace", async () => {
    const project = await createProject();
    const key = await createKey(project.slug, [`${project.slug}/*`]);
    const rolled = await admin("POST", `/projects/${project.slug}/keys/${key.id}/roll`, { grace_seconds: 60 });
    expect(rolled.status).toBe(201);
    expect(rolled.body.id).toBe(key.id);
    expect(rolled.body.key).not.toBe(key.key);
    expect(rolled.body.start).toBe(rolled.body.key.slice(0, 12));
    const secrets = await env.DB.prepare("SELECT retire_at FROM api_key_secrets WHERE key_id = ? ORDER BY created_at")
      .bind(key.id)
      .all<{ retire_at: string | null }>();
    expect(secrets.results).toHaveLength(2);
    expect(secrets.results.filter((s) => s.retire_at === null)).toHaveLength(1);
    const tooLong = await admin("POST", `/projects/${project.slug}/keys/${key.id}/roll`, { grace_seconds: 7 * 86400 + 1 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.param).toBe("grace_seconds");
  });

  it("returns 404 for a key of another project", async () => {
    const a = await createProject();
    const b = await createProject();
    const key = await createKey(a.slug, [`${a.slug}/*`]);
    expect((await admin("GET", `/projects/${b.slug}/keys/${key.id}`)).status).toBe(404);
  });
});
