/**
 * Every denial of the data plane through the Worker's fetch: the contract's status and code, the error shape with
 * `cache-control: no-store` (and `WWW-Authenticate: Bearer` on 401) — and the origin never called.
 */
import { describe, expect, it } from "vitest";
import {
  admin,
  call,
  createDeployment,
  createKey,
  createProject,
  createToken,
  expectError,
  fixture,
  recordingOrigin,
  unknownApiKey,
  type CallOptions,
} from "../helpers";

/** Calls the data plane with an origin that records; asserts the error and that the origin saw nothing. */
async function denied(path: string, options: CallOptions, status: number, code: string) {
  const { origin, seen } = recordingOrigin();
  const res = await call(path, { ...options, origin });
  const body = await expectError(res, status, code);
  expect(seen).toHaveLength(0);
  return body;
}

const CHAT = "/v1/chat/completions";

describe("credential denials", () => {
  it("no credential: 401 missing_api_key", async () => {
    const f = await fixture();
    await denied(`${f.path}${CHAT}`, { body: { model: "m" } }, 401, "missing_api_key");
    await denied(`${f.path}${CHAT}`, { body: { model: "m" }, headers: { authorization: "" } }, 401, "missing_api_key");
  });

  it("a key in the query string or a cookie is not read: 401 missing_api_key", async () => {
    const f = await fixture();
    await denied(`${f.path}/v1/models?api_key=${f.key.key}`, {}, 401, "missing_api_key");
    await denied(`${f.path}/v1/models?key=${f.key.key}&access_token=${f.key.key}`, {}, 401, "missing_api_key");
    await denied(`${f.path}/v1/models`, { headers: { cookie: `api_key=${f.key.key}` } }, 401, "missing_api_key");
  });

  it("malformed, bad checksum, truncated, extended: 401 invalid_api_key", async () => {
    const f = await fixture();
    const k = f.key.key;
    const last = k.at(-1)!;
    const badChecksum = k.slice(0, -1) + (last === "A" ? "B" : "A");
    for (const secret of ["ik_live_short", badChecksum, k.slice(0, -1), `${k}A`, `${k.slice(0, 20)}-${k.slice(21)}`, "sk-openai-style-key"]) {
      const body = await denied(`${f.path}${CHAT}`, { token: secret, body: {} }, 401, "invalid_api_key");
      expect(body.error.message).not.toContain(secret);
    }
    await denied(`${f.path}${CHAT}`, { headers: { authorization: "Bearer" }, body: {} }, 401, "invalid_api_key");
    await denied(`${f.path}${CHAT}`, { headers: { authorization: `Bearer ${k} extra` }, body: {} }, 401, "invalid_api_key");
    await denied(`${f.path}${CHAT}`, { headers: { "x-api-key": k.slice(0, -2) }, body: {} }, 401, "invalid_api_key");
  });

  it("another Authorization scheme: 401 invalid_api_key", async () => {
    const f = await fixture();
    await denied(`${f.path}${CHAT}`, { headers: { authorization: `Basic ${btoa(`user:${f.key.key}`)}` } }, 401, "invalid_api_key");
    await denied(`${f.path}${CHAT}`, { headers: { authorization: `Token ${f.key.key}` } }, 401, "invalid_api_key");
  });

  it("an unknown well-formed key: 401 invalid_api_key", async () => {
    const f = await fixture();
    await denied(`${f.path}${CHAT}`, { token: unknownApiKey(), body: {} }, 401, "invalid_api_key");
    await denied(`${f.path}${CHAT}`, { headers: { "x-api-key": unknownApiKey() }, body: {} }, 401, "invalid_api_key");
  });

  it("a revoked key: 401 invalid_api_key", async () => {
    const f = await fixture();
    expect((await admin("DELETE", `/projects/${f.project.slug}/keys/${f.key.id}`)).status).toBe(200);
    await denied(`${f.path}${CHAT}`, { token: f.key.key, body: {} }, 401, "invalid_api_key");
  });

  it("a key created with expires_at in the past: 401 expired_api_key", async () => {
    const f = await fixture({}, { expires_at: new Date(Date.now() - 60_000).toISOString() });
    await denied(`${f.path}${CHAT}`, { token: f.key.key, body: {} }, 401, "expired_api_key");
  });

  it("a management token: 403 wrong_credential_type, known or not, in either header", async () => {
    const f = await fixture();
    const token = await createToken(f.project.slug, "full");
    await denied(`${f.path}${CHAT}`, { token: token.token, body: {} }, 403, "wrong_credential_type");
    await denied(`${f.path}${CHAT}`, { headers: { "x-api-key": token.token }, body: {} }, 403, "wrong_credential_type");
    await denied(`${f.path}${CHAT}`, { token: "ik_sdk_not-even-well-formed", body: {} }, 403, "wrong_credential_type");
  });

  it("two different credentials: 400 invalid_request", async () => {
    const f = await fixture();
    const other = await createKey(f.project.slug, [`${f.project.slug}/*`]);
    const headers = { authorization: `Bearer ${f.key.key}`, "x-api-key": other.key };
    await denied(`${f.path}${CHAT}`, { headers, body: {} }, 400, "invalid_request");
  });
});

describe("scope denials", () => {
  it("a key of another project: 403 project_scope_mismatch", async () => {
    const mine = await fixture();
    const theirs = await fixture();
    await denied(`${mine.path}${CHAT}`, { token: theirs.key.key, body: {} }, 403, "project_scope_mismatch");
    // …and it cannot probe which deployments exist there.
    await denied(`/endpoint/${mine.project.slug}/no-such-dep${CHAT}`, { token: theirs.key.key }, 403, "project_scope_mismatch");
  });

  it("a key not scoped to this deployment: 403 scope_insufficient", async () => {
    const f = await fixture();
    const sibling = await createDeployment(f.project.slug);
    await denied(`/endpoint/${f.project.slug}/${sibling.slug}${CHAT}`, { token: f.key.key, body: {} }, 403, "scope_insufficient");
    const noScopes = await createKey(f.project.slug, []);
    await denied(`${f.path}${CHAT}`, { token: noScopes.key, body: {} }, 403, "scope_insufficient");
  });

  it("an unknown deployment: 404 for an authenticated caller, 401 without a key", async () => {
    const project = await createProject();
    const key = await createKey(project.slug, [`${project.slug}/*`]);
    await denied(`/endpoint/${project.slug}/missing${CHAT}`, { token: key.key, body: {} }, 404, "not_found");
    await denied(`/endpoint/${project.slug}/missing${CHAT}`, { body: {} }, 401, "missing_api_key");
    await denied(`/endpoint/no-such-project/missing${CHAT}`, { body: {} }, 401, "missing_api_key");
    await denied(`/endpoint/no-such-project/missing${CHAT}`, { token: unknownApiKey(), body: {} }, 401, "invalid_api_key");
  });

  it("an incomplete endpoint path is a 404", async () => {
    const f = await fixture();
    await denied(`/endpoint/${f.project.slug}`, { token: f.key.key }, 404, "not_found");
    await denied(`/endpoint/${f.project.slug}/`, { token: f.key.key }, 404, "not_found");
  });
});

describe("path denials (after authentication)", () => {
  it("a server's admin route is a 404: vLLM's /v1/load_lora_adapter", async () => {
    const f = await fixture();
    await denied(`${f.path}/v1/load_lora_adapter`, { token: f.key.key, body: { lora_name: "x", lora_path: "/tmp" } }, 404, "not_found");
    await denied(`${f.path}/v1/unload_lora_adapter`, { token: f.key.key, body: {} }, 404, "not_found");
    await denied(`${f.path}/metrics`, { token: f.key.key }, 404, "not_found");
    await denied(`${f.path}/`, { token: f.key.key }, 404, "not_found");
  });

  it("dot-segment and encoded-slash escapes are normalised before the check", async () => {
    const f = await fixture();
    for (const rest of [
      "/v1/models%2F..%2Fload_lora_adapter",
      "/v1/models/..%2F..%2Fadmin",
      "/v1/models/%2e%2e%2f%2e%2e%2fadmin",
      "/v1%2F..%2F..%2F..%2Fetc",
      "/v1/models%5c..%5c..%5cadmin",
      "/v1/chat/completions%00",
    ]) {
      await denied(`${f.path}${rest}`, { token: f.key.key }, 404, "not_found");
    }
  });

  it("a path outside allowed_paths is checked only after the key: 401 without one", async () => {
    const f = await fixture();
    await denied(`${f.path}/v1/load_lora_adapter`, { body: {} }, 401, "missing_api_key");
  });

  it("custom allowed_paths replace the defaults", async () => {
    const f = await fixture({ allowed_paths: ["/v1/embeddings", "/custom/*"] });
    await denied(`${f.path}${CHAT}`, { token: f.key.key, body: {} }, 404, "not_found");
    const { origin, seen } = recordingOrigin();
    expect((await call(`${f.path}/custom/a/b`, { token: f.key.key, origin })).status).toBe(200);
    expect(new URL(seen[0]!.url).pathname).toBe("/custom/a/b");
    await denied(`${f.path}/custom`, { token: f.key.key, settle: false }, 404, "not_found");
  });
});
