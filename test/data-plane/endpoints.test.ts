/**
 * Endpoints through the Worker's fetch: the deployment's `endpoints` in the admin API, the private endpoint (its
 * handler as the PrivateEndpoint entrypoint calls it; e2e/private-endpoint.test.ts goes through a real service
 * binding), PRIVATE_HOSTNAME with `request.cf.tlsClientAuth` fixtures, host-based URLs, the kill switch, and the
 * next request seeing each of these writes.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  admin,
  call,
  captureConsole,
  createToken,
  dbWithWriteBeforeBatch,
  createDeployment,
  createKey,
  createProject,
  expectError,
  fixture,
  recordingOrigin,
  withEnv,
} from "../helpers";

const { origin } = recordingOrigin();
const FINGERPRINT = "ab".repeat(32);
const verified = (fingerprint = FINGERPRINT) => ({
  tlsClientAuth: { certPresented: "1", certVerified: "SUCCESS", certRevoked: "0", certFingerprintSHA256: fingerprint },
});
const PRIVATE_HOST = "private.keygate.test";
const mtlsEnv = withEnv({ PRIVATE_HOSTNAME: PRIVATE_HOST });

/** settle: false — the same key is used again at once; its coalesced usage write must not delay the test. */
function use(path: string, key: string | null, extra: Parameters<typeof call>[1] = {}) {
  return call(`${path}/v1/models`, { origin, settle: false, ...(key ? { token: key } : {}), ...extra });
}
const viaBinding = { privateProps: { caller: "billing-api" } };

async function ok(res: Response | Promise<Response>) {
  const r = await res;
  expect(r.status, await r.clone().text()).toBe(200);
  await r.body?.cancel();
}

async function write(status: number, method: string, path: string, body?: unknown, callEnv?: typeof env) {
  const res = await admin(method, path, body, undefined, callEnv);
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  return res.body;
}

describe("a deployment's endpoints in the admin API", () => {
  it("default to public on and private off, both with auth; PATCH is partial", async () => {
    const project = await createProject();
    const d = await createDeployment(project.slug);
    expect((d as any).endpoints).toEqual({
      public: { enabled: true, auth_enabled: true },
      private: { enabled: false, auth_enabled: true, client_cert_fingerprints: null },
    });
    const patched = await write(200, "PATCH", `/projects/${project.slug}/deployments/${d.slug}`, {
      endpoints: { private: { enabled: true, client_cert_fingerprints: [FINGERPRINT.toUpperCase().replace(/(..)(?!$)/g, "$1:")] } },
    });
    expect(patched.endpoints).toEqual({
      public: { enabled: true, auth_enabled: true },
      private: { enabled: true, auth_enabled: true, client_cert_fingerprints: [FINGERPRINT] },
    });
    // The top-level auth_enabled is the public endpoint's toggle.
    const off = await write(200, "PATCH", `/projects/${project.slug}/deployments/${d.slug}`, { auth_enabled: false });
    expect(off.endpoints.public).toEqual({ enabled: true, auth_enabled: false });
    const on = await write(200, "PATCH", `/projects/${project.slug}/deployments/${d.slug}`, { endpoints: { public: { auth_enabled: true } } });
    expect(on.auth_enabled).toBe(true);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["both endpoints off", { endpoints: { public: { enabled: false } } }, "endpoints"],
    ["the two public auth toggles disagreeing", { auth_enabled: false, endpoints: { public: { auth_enabled: true } } }, "endpoints.public.auth_enabled"],
    ["a fingerprint that is not SHA-256", { endpoints: { private: { client_cert_fingerprints: ["abc"] } } }, "endpoints.private.client_cert_fingerprints[0]"],
    ["an empty fingerprint list", { endpoints: { private: { client_cert_fingerprints: [] } } }, "endpoints.private.client_cert_fingerprints"],
    ["an unknown endpoint", { endpoints: { internal: { enabled: true } } }, "endpoints.internal"],
  ])("refuses %s (400 naming the field), on create and on PATCH", async (_, body, param) => {
    const project = await createProject();
    const created = await admin("POST", `/projects/${project.slug}/deployments`, { slug: "x", origin: { url: "https://o.example.com" }, ...body });
    expect(created).toMatchObject({ status: 400, body: { error: { param } } });
    const d = await createDeployment(project.slug);
    const patched = await admin("PATCH", `/projects/${project.slug}/deployments/${d.slug}`, body);
    expect(patched).toMatchObject({ status: 400, body: { error: { param } } });
  });
});

describe("the private endpoint", () => {
  it("answers only when enabled; the public one can be turned off; the caller is in the log line", async () => {
    const f = await fixture();
    await expectError(await use(f.path, f.key.key, viaBinding), 404, "not_found");
    await write(200, "PATCH", `/projects/${f.project.slug}/deployments/${f.deployment.slug}`, {
      endpoints: { public: { enabled: false }, private: { enabled: true } },
    });
    const logs = captureConsole();
    try {
      await ok(use(f.path, f.key.key, viaBinding));
      await expectError(await use(f.path, f.key.key), 404, "not_found");
      const [allowed, refused] = await logs.endpointLinesOnceWritten(2);
      expect(allowed).toMatchObject({ endpoint: "private", caller: "billing-api", decision: "allow" });
      expect(refused).toMatchObject({ endpoint: "public", decision: "not_found", reason: "endpoint_disabled" });
      expect(refused).not.toHaveProperty("caller");
    } finally {
      logs.restore();
    }
  });

  it("a key for the private endpoint only (condition endpoints: [\"private\"])", async () => {
    const f = await fixture({ endpoints: { private: { enabled: true } } }, { conditions: { endpoints: ["private"] } });
    await ok(use(f.path, f.key.key, viaBinding));
    const refused = await expectError(await use(f.path, f.key.key), 403, "condition_not_met");
    expect(refused.error.message).toContain("public endpoint");
  });
});

describe("PRIVATE_HOSTNAME", () => {
  async function privateDeployment(fingerprints?: string[]) {
    return fixture({ endpoints: { private: { enabled: true, ...(fingerprints ? { client_cert_fingerprints: fingerprints } : {}) } } });
  }
  const onPrivateHost = (cf?: Record<string, unknown>) => ({ env: mtlsEnv, base: `https://${PRIVATE_HOST}`, ...(cf ? { cf } : {}) });

  it("needs a verified, unrevoked certificate; anything else is 403 client_certificate_required, before any key check", async () => {
    const f = await privateDeployment();
    await ok(use(f.path, f.key.key, onPrivateHost(verified())));
    const refusals: [string, Record<string, unknown> | undefined][] = [
      ["no tlsClientAuth (wrangler dev)", undefined],
      ["the placeholder", { tlsClientAuth: { certPresented: "0", certVerified: "NONE", certRevoked: "0", certFingerprintSHA256: "" } }],
      ["failed", { tlsClientAuth: { ...verified().tlsClientAuth, certVerified: "FAILED:unknown ca" } }],
      ["revoked", { tlsClientAuth: { ...verified().tlsClientAuth, certRevoked: "1" } }],
    ];
    for (const [, cf] of refusals) {
      await expectError(await use(f.path, f.key.key, onPrivateHost(cf)), 403, "client_certificate_required");
      await expectError(await use(f.path, null, onPrivateHost(cf)), 403, "client_certificate_required");
    }
    // The same deployment on the public host: its private endpoint is not reached.
    await ok(use(f.path, f.key.key, { env: mtlsEnv, cf: verified() }));
  });

  it("with client_cert_fingerprints, only those certificates", async () => {
    const f = await privateDeployment([FINGERPRINT]);
    await ok(use(f.path, f.key.key, onPrivateHost(verified())));
    await expectError(await use(f.path, f.key.key, onPrivateHost(verified("cd".repeat(32)))), 403, "client_certificate_required");
  });

  it("serves only the data plane", async () => {
    const res = await call("/admin/v1/projects", { ...onPrivateHost(verified()), token: "test-admin-token-0123456789" });
    await expectError(res, 404, "not_found");
  });
});

describe("host-based URLs", () => {
  const hostEnv = withEnv({ ENDPOINT_HOST_SUFFIX: "ai.keygate.test" });

  it("serve {deployment}.{project}.{suffix} as /endpoint/{project}/{deployment}, and the deployment's url shows that form", async () => {
    const f = await fixture();
    const res = await call("/v1/models", { env: hostEnv, base: `https://${f.deployment.slug}.${f.project.slug}.ai.keygate.test`, token: f.key.key, origin });
    await ok(res);
    const read = await admin("GET", `/projects/${f.project.slug}/deployments/${f.deployment.slug}`, undefined, undefined, hostEnv);
    expect(read.body.url).toBe(`https://${f.deployment.slug}.${f.project.slug}.ai.keygate.test`);
    // The path form still works.
    await ok(use(f.path, f.key.key, { env: hostEnv }));
    // An unknown deployment by host: 404 to the key's holder, as by path.
    const unknown = await call("/v1/models", { env: hostEnv, base: `https://nope.${f.project.slug}.ai.keygate.test`, token: f.key.key, origin });
    await expectError(unknown, 404, "not_found");
  });
});

describe("the kill switch", () => {
  it("suspends every data-plane request from the next one on, audited; resuming restores them; admin keeps working", async () => {
    const f = await fixture();
    const open = await createDeployment(f.project.slug, { auth_enabled: false });
    const openPath = `/endpoint/${f.project.slug}/${open.slug}`;
    await ok(use(f.path, f.key.key));
    await ok(use(openPath, null));
    const suspended = await write(200, "PATCH", `/projects/${f.project.slug}`, { suspended: true });
    expect(suspended.suspended).toBe(true);
    const before = recordingOrigin();
    await expectError(await use(f.path, f.key.key, { origin: before.origin }), 403, "project_suspended");
    await expectError(await use(openPath, null, { origin: before.origin }), 403, "project_suspended");
    expect(before.seen).toHaveLength(0);
    expect((await admin("GET", `/projects/${f.project.slug}/keys`)).status).toBe(200);
    await write(200, "PATCH", `/projects/${f.project.slug}`, { suspended: false });
    await ok(use(f.path, f.key.key));
    const log = await admin("GET", `/projects/${f.project.slug}/audit`);
    expect(log.body.data.slice(0, 2).map((e: { action: string }) => e.action)).toEqual(["project.resume", "project.suspend"]);
  });
});

describe("the next request sees", () => {
  it("the public endpoint turned off, and on again", async () => {
    const f = await fixture();
    await ok(use(f.path, f.key.key));
    await write(200, "PATCH", `/projects/${f.project.slug}/deployments/${f.deployment.slug}`, {
      endpoints: { public: { enabled: false }, private: { enabled: true } },
    });
    await expectError(await use(f.path, f.key.key), 404, "not_found");
    await write(200, "PATCH", `/projects/${f.project.slug}/deployments/${f.deployment.slug}`, { endpoints: { public: { enabled: true } } });
    await ok(use(f.path, f.key.key));
  });

  it("the private endpoint's auth toggled", async () => {
    const f = await fixture({ endpoints: { private: { enabled: true } } });
    await ok(use(f.path, f.key.key, viaBinding));
    await expectError(await use(f.path, null, viaBinding), 401, "missing_api_key");
    await write(200, "PATCH", `/projects/${f.project.slug}/deployments/${f.deployment.slug}`, { endpoints: { private: { auth_enabled: false } } });
    await ok(use(f.path, null, viaBinding));
    await expectError(await use(f.path, null), 401, "missing_api_key");
    await write(200, "PATCH", `/projects/${f.project.slug}/deployments/${f.deployment.slug}`, { endpoints: { private: { auth_enabled: true } } });
    await expectError(await use(f.path, null, viaBinding), 401, "missing_api_key");
  });

  it("a project suspended and resumed, for a key already cached", async () => {
    const project = await createProject();
    const d = await createDeployment(project.slug);
    const key = await createKey(project.slug, [`${project.slug}/*`]);
    const path = `/endpoint/${project.slug}/${d.slug}`;
    await ok(use(path, key.key));
    await write(200, "PATCH", `/projects/${project.slug}`, { suspended: true });
    await expectError(await use(path, key.key), 403, "project_suspended");
    await write(200, "PATCH", `/projects/${project.slug}`, { suspended: false });
    await ok(use(path, key.key));
  });
});

describe("writes racing writes", () => {
  it("a PATCH of one endpoint field never writes back another admin's change to another (read before, written after)", async () => {
    const f = await fixture({ endpoints: { private: { enabled: true } } });
    const path = `/projects/${f.project.slug}/deployments/${f.deployment.slug}`;
    // Meanwhile, another admin turns the public endpoint off and auth on the private one off.
    const racing = withEnv({
      DB: dbWithWriteBeforeBatch((db) =>
        db.prepare("UPDATE deployments SET public_enabled = 0, private_auth_enabled = 0 WHERE id = ?").bind(f.deployment.id).run(),
      ),
    });
    const res = await admin("PATCH", path, { endpoints: { private: { client_cert_fingerprints: [FINGERPRINT] } } }, undefined, racing);
    expect(res.status).toBe(200);
    const row = await env.DB.prepare("SELECT public_enabled, private_auth_enabled, client_cert_fingerprints FROM deployments WHERE id = ?")
      .bind(f.deployment.id)
      .first();
    expect(row).toEqual({ public_enabled: 0, private_auth_enabled: 0, client_cert_fingerprints: JSON.stringify([FINGERPRINT]) });
  });

  it("turning off the last enabled endpoint is refused even when another admin turned the other off meanwhile", async () => {
    const f = await fixture({ endpoints: { private: { enabled: true } } });
    const racing = withEnv({
      DB: dbWithWriteBeforeBatch((db) => db.prepare("UPDATE deployments SET private_enabled = 0 WHERE id = ?").bind(f.deployment.id).run()),
    });
    const res = await admin("PATCH", `/projects/${f.project.slug}/deployments/${f.deployment.slug}`, { endpoints: { public: { enabled: false } } }, undefined, racing);
    expect(res).toMatchObject({ status: 400, body: { error: { param: "endpoints" } } });
    const row = await env.DB.prepare("SELECT public_enabled FROM deployments WHERE id = ?").bind(f.deployment.id).first();
    expect(row).toEqual({ public_enabled: 1 });
  });

  it("a suspend is written even when the handler read the project as suspended and another admin resumed it meanwhile", async () => {
    const f = await fixture();
    await write(200, "PATCH", `/projects/${f.project.slug}`, { suspended: true });
    const racing = withEnv({
      DB: dbWithWriteBeforeBatch((db) => db.prepare("UPDATE projects SET suspended = 0 WHERE id = ?").bind(f.project.id).run()),
    });
    expect((await admin("PATCH", `/projects/${f.project.slug}`, { suspended: true }, undefined, racing)).status).toBe(200);
    await expectError(await use(f.path, f.key.key), 403, "project_suspended");
  });
});

describe("who may pull the kill switch", () => {
  it("a project's full token may suspend it; only the root admin may resume it; a read-only token may do neither", async () => {
    const f = await fixture();
    const full = (await createToken(f.project.slug, "full")).token;
    const readOnly = (await createToken(f.project.slug, "read_only")).token;
    expect((await admin("PATCH", `/projects/${f.project.slug}`, { suspended: true }, readOnly)).status).toBe(403);
    expect((await admin("PATCH", `/projects/${f.project.slug}`, { suspended: true }, full)).body.suspended).toBe(true);
    const resume = await admin("PATCH", `/projects/${f.project.slug}`, { suspended: false }, full);
    expect(resume).toMatchObject({ status: 403, body: { error: { code: "scope_insufficient" } } });
    await expectError(await use(f.path, f.key.key), 403, "project_suspended");
    expect((await admin("PATCH", `/projects/${f.project.slug}`, { suspended: false })).body.suspended).toBe(false);
    await ok(use(f.path, f.key.key));
  });
});

describe("host names with a trailing dot", () => {
  it("PRIVATE_HOSTNAME. is the private hostname (a certificate is needed), and a host-based name. is that deployment", async () => {
    const f = await fixture({ endpoints: { private: { enabled: true } } });
    await expectError(await use(f.path, f.key.key, { env: mtlsEnv, base: `https://${PRIVATE_HOST}.` }), 403, "client_certificate_required");
    const hostEnv = withEnv({ ENDPOINT_HOST_SUFFIX: "ai.keygate.test" });
    const res = await call("/v1/models", { env: hostEnv, base: `https://${f.deployment.slug}.${f.project.slug}.ai.keygate.test.`, token: f.key.key, origin });
    await ok(res);
  });
});
