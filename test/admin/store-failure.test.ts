/** A failing D1 is an outage: 503 store_unavailable, no internal message on the wire, nothing half-written. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, createProject, rowCount, uniqueSlug } from "../helpers";

/**
 * D1 whose writes fail (batch), optionally reads too, with a message that must never reach a client.
 * Like real D1, statements are prepared locally and fail when executed.
 */
function failingDb(failReads: boolean): D1Database {
  const boom = async () => {
    throw new Error("D1_ERROR: internal detail SECRET-INTERNAL-42");
  };
  const failingStatement = { bind: () => failingStatement, first: boom, all: boom, run: boom, raw: boom };
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "batch") return boom;
      if (prop === "prepare" && failReads) return () => failingStatement;
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function post(path: string, body: unknown, db: D1Database) {
  const res = await call(`/admin/v1${path}`, { method: "POST", body, token: ADMIN_TOKEN, env: { ...env, DB: db } });
  return { status: res.status, text: await res.text() };
}

describe("store failures", () => {
  it("a failed write is a 503 and leaves nothing behind", async () => {
    const slug = uniqueSlug("fail");
    const res = await post("/projects", { slug }, failingDb(false));
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text).error.code).toBe("store_unavailable");
    expect(res.text).not.toContain("SECRET-INTERNAL-42");
    expect(await rowCount("SELECT count(*) AS n FROM projects WHERE slug = ?", slug)).toBe(0);
    expect(await rowCount("SELECT count(*) AS n FROM audit_events a JOIN projects p ON p.id = a.project_id WHERE p.slug = ?", slug)).toBe(0);
  });

  it("a failed key write creates neither key nor secret nor audit event", async () => {
    const project = await createProject();
    const res = await post(`/projects/${project.slug}/keys`, { name: "k", scopes: [`${project.slug}/*`] }, failingDb(false));
    expect(res.status).toBe(503);
    expect(await rowCount("SELECT count(*) AS n FROM api_keys WHERE project_id = ?", project.id)).toBe(0);
    expect(await rowCount("SELECT count(*) AS n FROM audit_events WHERE project_id = ? AND action = 'key.create'", project.id)).toBe(0);
  });

  it("a failed credential lookup denies with 503, never passes", async () => {
    const res = await call("/admin/v1/projects", {
      token: "ik_sdk_" + "A".repeat(30),
      env: { ...env, DB: failingDb(true) },
    });
    // The malformed checksum is rejected before any lookup; a well-formed token needs the store:
    expect(res.status).toBe(401);
    const { generateSecret } = await import("../../src/secrets/format");
    const real = await call("/admin/v1/projects", { token: generateSecret("management_token"), env: { ...env, DB: failingDb(true) } });
    expect(real.status).toBe(503);
    expect(await real.text()).not.toContain("SECRET-INTERNAL-42");
  });
});
