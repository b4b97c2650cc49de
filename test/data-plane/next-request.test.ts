/**
 * The product's promise: a change made through the management API takes effect on the next request. Each test
 * first makes a request that succeeds (which warms this isolate's lease cache), then makes the change, then at
 * once a request that must see it. The cache is on (AUTH_CACHE_LEASE_MS=30 in tests); lease-protocol.test.ts
 * repeats the key cases with a longer lease.
 */
import { describe, expect, it } from "vitest";
import { admin, call, createDeployment, createKey, expectError, fixture, recordingOrigin } from "../helpers";

const { origin } = recordingOrigin();
/** settle: false — the same key is used again at once; its coalesced usage write must not delay the test. */
const use = (path: string, token?: string, extra: Record<string, unknown> = {}) =>
  call(`${path}/v1/models`, { origin, settle: false, ...(token ? { token } : {}), ...extra });

async function ok(path: string, token?: string, extra: Record<string, unknown> = {}) {
  const res = await use(path, token, extra);
  expect(res.status).toBe(200);
  await res.body?.cancel();
}

async function changed(status: number, path: string, body?: unknown) {
  const [method, url] = path.split(" ") as [string, string];
  const res = await admin(method, url, body);
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  return res.body;
}

describe("the next request sees", () => {
  it("a revoke", async () => {
    const f = await fixture();
    await ok(f.path, f.key.key);
    await changed(200, `DELETE /projects/${f.project.slug}/keys/${f.key.id}`);
    await expectError(await use(f.path, f.key.key), 401, "invalid_api_key");
  });

  it("an expiry set to the past", async () => {
    const f = await fixture();
    await ok(f.path, f.key.key);
    await changed(200, `PATCH /projects/${f.project.slug}/keys/${f.key.id}`, { expires_at: new Date(Date.now() - 1000).toISOString() });
    await expectError(await use(f.path, f.key.key), 401, "expired_api_key");
    await changed(200, `PATCH /projects/${f.project.slug}/keys/${f.key.id}`, { expires_at: null });
    await ok(f.path, f.key.key);
  });

  it("an unlink", async () => {
    const f = await fixture();
    await ok(f.path, f.key.key);
    await changed(200, `DELETE /projects/${f.project.slug}/deployments/${f.deployment.slug}/keys/${f.key.id}`);
    await expectError(await use(f.path, f.key.key), 403, "scope_insufficient");
  });

  it("a link", async () => {
    const f = await fixture();
    const other = await createDeployment(f.project.slug);
    const otherPath = `/endpoint/${f.project.slug}/${other.slug}`;
    await ok(f.path, f.key.key);
    await expectError(await use(otherPath, f.key.key), 403, "scope_insufficient");
    await changed(200, `PUT /projects/${f.project.slug}/deployments/${other.slug}/keys/${f.key.id}`);
    await ok(otherPath, f.key.key);
  });

  it("a scopes edit, both ways", async () => {
    const f = await fixture();
    await ok(f.path, f.key.key);
    await changed(200, `PATCH /projects/${f.project.slug}/keys/${f.key.id}`, { scopes: [] });
    await expectError(await use(f.path, f.key.key), 403, "scope_insufficient");
    await changed(200, `PATCH /projects/${f.project.slug}/keys/${f.key.id}`, { scopes: [`${f.project.slug}/*`] });
    await ok(f.path, f.key.key);
  });

  it("a roll without grace: the old secret fails at once, the new one works", async () => {
    const f = await fixture();
    await ok(f.path, f.key.key);
    const rolled = await changed(201, `POST /projects/${f.project.slug}/keys/${f.key.id}/roll`, { grace_seconds: 0 });
    await expectError(await use(f.path, f.key.key), 401, "invalid_api_key");
    await ok(f.path, rolled.key);
  });

  it("a roll with grace: both work; a second roll without grace ends both older secrets; an expiry ends all", async () => {
    const f = await fixture();
    await ok(f.path, f.key.key);
    const first = await changed(201, `POST /projects/${f.project.slug}/keys/${f.key.id}/roll`, { grace_seconds: 60 });
    await ok(f.path, f.key.key);
    await ok(f.path, first.key);
    const second = await changed(201, `POST /projects/${f.project.slug}/keys/${f.key.id}/roll`, { grace_seconds: 0 });
    await expectError(await use(f.path, f.key.key), 401, "invalid_api_key");
    await expectError(await use(f.path, first.key), 401, "invalid_api_key");
    await ok(f.path, second.key);
    await changed(200, `PATCH /projects/${f.project.slug}/keys/${f.key.id}`, { expires_at: new Date(Date.now() - 1000).toISOString() });
    await expectError(await use(f.path, second.key), 401, "expired_api_key");
  });

  it("a secret in its grace period still dies with its key's revocation", async () => {
    const f = await fixture();
    const rolled = await changed(201, `POST /projects/${f.project.slug}/keys/${f.key.id}/roll`, { grace_seconds: 3600 });
    await ok(f.path, f.key.key);
    await ok(f.path, rolled.key);
    await changed(200, `DELETE /projects/${f.project.slug}/keys/${f.key.id}`);
    await expectError(await use(f.path, f.key.key), 401, "invalid_api_key");
    await expectError(await use(f.path, rolled.key), 401, "invalid_api_key");
  });

  it("a condition edit, both ways", async () => {
    const f = await fixture();
    const from = { headers: { "cf-connecting-ip": "203.0.113.5" } };
    await ok(f.path, f.key.key, from);
    await changed(200, `PATCH /projects/${f.project.slug}/keys/${f.key.id}`, { conditions: { ip_allow: ["198.51.100.0/24"] } });
    await expectError(await use(f.path, f.key.key, from), 403, "ip_not_allowed");
    await changed(200, `PATCH /projects/${f.project.slug}/keys/${f.key.id}`, { conditions: {} });
    await ok(f.path, f.key.key, from);
  });

  it("the auth toggle, off and on", async () => {
    const f = await fixture();
    await ok(f.path, f.key.key);
    await expectError(await use(f.path), 401, "missing_api_key");
    await changed(200, `PATCH /projects/${f.project.slug}/deployments/${f.deployment.slug}`, { auth_enabled: false });
    await ok(f.path);
    await ok(f.path, "Bearer-less-garbage");
    await changed(200, `PATCH /projects/${f.project.slug}/deployments/${f.deployment.slug}`, { auth_enabled: true });
    await expectError(await use(f.path), 401, "missing_api_key");
    await ok(f.path, f.key.key);
  });

  it("an allowed_paths edit and an origin move", async () => {
    const f = await fixture();
    const { origin: recorder, seen } = recordingOrigin();
    await ok(f.path, f.key.key, { origin: recorder });
    await changed(200, `PATCH /projects/${f.project.slug}/deployments/${f.deployment.slug}`, {
      allowed_paths: ["/v1/chat/completions"],
    });
    await expectError(await use(f.path, f.key.key), 404, "not_found");
    await changed(200, `PATCH /projects/${f.project.slug}/deployments/${f.deployment.slug}`, {
      allowed_paths: ["/v1/models"],
      origin: { url: "https://moved.example.com" },
    });
    await ok(f.path, f.key.key, { origin: recorder });
    expect(seen.map((r) => new URL(r.url).host)).toEqual(["origin.example.com", "moved.example.com"]);
  });

  it("a deployment delete, and a new deployment under the same slug", async () => {
    const f = await fixture();
    const wildcard = await createKey(f.project.slug, [`${f.project.slug}/*`]);
    await ok(f.path, f.key.key);
    await ok(f.path, wildcard.key);
    await changed(200, `DELETE /projects/${f.project.slug}/deployments/${f.deployment.slug}`);
    await expectError(await use(f.path, f.key.key), 404, "not_found");
    await expectError(await use(f.path, wildcard.key), 404, "not_found");
    await expectError(await use(f.path), 401, "missing_api_key");
    // The old link went with the old deployment: the same slug is a new deployment the key is not scoped to.
    await createDeployment(f.project.slug, {}, f.deployment.slug);
    await expectError(await use(f.path, f.key.key), 403, "scope_insufficient");
    await ok(f.path, wildcard.key);
  });

  it("a deployment created where a request just got 404 (the unknown deployment was cached)", async () => {
    const f = await fixture();
    const wildcard = await createKey(f.project.slug, [`${f.project.slug}/*`]);
    const later = `/endpoint/${f.project.slug}/later`;
    await expectError(await use(later, wildcard.key), 404, "not_found");
    await expectError(await use(later), 401, "missing_api_key");
    await createDeployment(f.project.slug, { auth_enabled: false }, "later");
    await ok(later);
    await ok(later, wildcard.key);
  });

  it("a project delete", async () => {
    const f = await fixture();
    await ok(f.path, f.key.key);
    await changed(200, `DELETE /projects/${f.project.slug}`);
    await expectError(await use(f.path, f.key.key), 401, "invalid_api_key");
    await expectError(await use(f.path), 401, "missing_api_key");
  });
});
