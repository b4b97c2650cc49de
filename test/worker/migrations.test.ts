/**
 * An existing database upgrades in place: the schema of 0001–0002 with data in it, then the later migrations
 * applied as `wrangler d1 migrations apply` would. Keys made before IAM become standalone keys with full access and
 * keep working through the Worker; the project's revision starts at 0 and every audited write raises it.
 */
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { generateSecret } from "../../src/secrets/format";
import { hashSecret } from "../../src/secrets/hash";
import { admin, call, recordingOrigin, withEnv } from "../helpers";

const WAVE_1 = ["0001_init.sql", "0002_created_by.sql"];
const KEY_ID = "key_01jcz9x7k2m3n4p5q6r7s8t9v0";

describe("migrations", () => {
  it("upgrade a wave-1 database in place, and its keys keep working", async () => {
    const db = env.UPGRADE_DB;
    const wave1 = env.TEST_MIGRATIONS.filter((m) => WAVE_1.includes(m.name));
    expect(wave1.map((m) => m.name)).toEqual(WAVE_1);
    await applyD1Migrations(db, wave1);

    const secret = generateSecret("api_key");
    const { hash, version } = await hashSecret(secret, "test-pepper");
    const t = "2026-01-01T00:00:00.000Z";
    await db.batch([
      db.prepare("INSERT INTO projects (id, slug, name, created_at) VALUES ('prj_old', 'legacy', 'Legacy', ?)").bind(t),
      db
        .prepare(
          `INSERT INTO deployments (id, project_id, slug, name, origin_url, allowed_paths, created_at, updated_at)
           VALUES ('dep_old', 'prj_old', 'llm', 'llm', 'https://origin.example.com', '["/v1/chat/completions"]', ?, ?)`,
        )
        .bind(t, t),
      db
        .prepare(
          `INSERT INTO api_keys (id, project_id, name, start, all_deployments, created_at)
           VALUES (?, 'prj_old', 'old key', ?, 1, ?)`,
        )
        .bind(KEY_ID, secret.slice(0, 12), t),
      db
        .prepare("INSERT INTO api_key_secrets (hash, hash_version, key_id, created_at) VALUES (?, ?, ?, ?)")
        .bind(hash, version, KEY_ID, t),
    ]);

    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    const key = await db.prepare("SELECT application_id, permission_set FROM api_keys WHERE id = ?").bind(KEY_ID).first();
    expect(key).toEqual({ application_id: null, permission_set: "InferenceFullAccess" });
    const revision = () => db.prepare("SELECT revision FROM projects WHERE id = 'prj_old'").first<number>("revision");
    expect(await revision()).toBe(0);

    const upgraded = withEnv({ DB: db });
    const { origin } = recordingOrigin();
    const res = await call("/endpoint/legacy/llm/v1/chat/completions", { env: upgraded, origin, token: secret, body: { messages: [] } });
    expect(res.status).toBe(200);
    await res.body?.cancel();

    const read = await admin("GET", `/projects/legacy/keys/${KEY_ID}`, undefined, undefined, upgraded);
    expect(read.body).toMatchObject({ scopes: ["legacy/*"], application_id: null, permission_set: "InferenceFullAccess" });
    await admin("PATCH", `/projects/legacy/keys/${KEY_ID}`, { name: "renamed" }, undefined, upgraded);
    expect(await revision()).toBe(1);
  });
});
