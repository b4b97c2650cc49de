/**
 * The security table (STYLE.md §12): every management route against every way a caller can be wrong.
 * Each denial must give the contract's status and code, and change nothing in the store.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { generateSecret } from "../../src/secrets/format";
import { admin, createDeployment, createKey, createProject, createToken } from "../helpers";

interface World {
  project: string;
  deployment: string;
  keyId: string;
  tokenId: string;
  apiKey: string;
  readOnly: string;
  otherProjectToken: string;
  revoked: string;
  expired: string;
}

let w: World;

beforeAll(async () => {
  const project = await createProject();
  const other = await createProject();
  const deployment = await createDeployment(project.slug);
  const key = await createKey(project.slug, [`${project.slug}/*`]);
  const full = await createToken(project.slug, "full");
  const revoked = await createToken(project.slug, "full");
  await admin("DELETE", `/projects/${project.slug}/tokens/${revoked.id}`);
  const expired = await createToken(project.slug, "full", { expires_at: "2020-01-01T00:00:00Z" });
  w = {
    project: project.slug,
    deployment: deployment.slug,
    keyId: key.id,
    tokenId: full.id,
    apiKey: key.key,
    readOnly: (await createToken(project.slug, "read_only")).token,
    otherProjectToken: (await createToken(other.slug, "full")).token,
    revoked: revoked.token,
    expired: expired.token,
  };
});

/** Every route of the contract's management table, with a body that would succeed for the root admin. */
const routes = (): [string, string, unknown][] => [
  ["POST", "/projects", { slug: "sec-new-project" }],
  ["GET", `/projects/${w.project}`, undefined],
  ["PATCH", `/projects/${w.project}`, { name: "x" }],
  ["DELETE", `/projects/${w.project}`, undefined],
  ["POST", `/projects/${w.project}/deployments`, { slug: "sec-new", origin: { url: "https://a.example.com" } }],
  ["GET", `/projects/${w.project}/deployments`, undefined],
  ["GET", `/projects/${w.project}/deployments/${w.deployment}`, undefined],
  ["PATCH", `/projects/${w.project}/deployments/${w.deployment}`, { name: "x" }],
  ["DELETE", `/projects/${w.project}/deployments/${w.deployment}`, undefined],
  ["GET", `/projects/${w.project}/deployments/${w.deployment}/keys`, undefined],
  ["PUT", `/projects/${w.project}/deployments/${w.deployment}/keys/${w.keyId}`, undefined],
  ["DELETE", `/projects/${w.project}/deployments/${w.deployment}/keys/${w.keyId}`, undefined],
  ["POST", `/projects/${w.project}/keys`, { name: "x", scopes: [] }],
  ["GET", `/projects/${w.project}/keys`, undefined],
  ["GET", `/projects/${w.project}/keys/${w.keyId}`, undefined],
  ["PATCH", `/projects/${w.project}/keys/${w.keyId}`, { name: "x" }],
  ["DELETE", `/projects/${w.project}/keys/${w.keyId}`, undefined],
  ["POST", `/projects/${w.project}/keys/${w.keyId}/roll`, {}],
  ["POST", `/projects/${w.project}/tokens`, { name: "x", role: "full" }],
  ["GET", `/projects/${w.project}/tokens`, undefined],
  ["DELETE", `/projects/${w.project}/tokens/${w.tokenId}`, undefined],
  ["GET", `/projects/${w.project}/audit`, undefined],
];

async function snapshot(): Promise<string> {
  const tables = ["projects", "deployments", "api_keys", "api_key_secrets", "api_key_deployments", "management_tokens", "audit_events"];
  const dumps = await env.DB.batch(tables.map((t) => env.DB.prepare(`SELECT * FROM ${t} ORDER BY 1`)));
  return JSON.stringify(dumps.map((d) => d.results));
}

async function expectDenied(method: string, path: string, body: unknown, token: string | null, status: number, code: string) {
  const before = await snapshot();
  const res = await admin(method, path, body, token);
  expect({ method, path, status: res.status, code: res.body?.error?.code }).toEqual({ method, path, status, code });
  if (status === 401) expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  expect(await snapshot()).toBe(before);
}

const isWrite = (method: string) => method !== "GET";

describe("every management route denies", () => {
  it("no credential: 401 missing_api_key", async () => {
    for (const [m, p, b] of routes()) await expectDenied(m, p, b, null, 401, "missing_api_key");
  });
  it("a malformed credential: 401 invalid_api_key", async () => {
    for (const [m, p, b] of routes()) await expectDenied(m, p, b, "ik_sdk_short", 401, "invalid_api_key");
  });
  it("an unknown, well-formed token: 401 invalid_api_key", async () => {
    for (const [m, p, b] of routes()) await expectDenied(m, p, b, generateSecret("management_token"), 401, "invalid_api_key");
  });
  it("an API key: 403 wrong_credential_type", async () => {
    for (const [m, p, b] of routes()) await expectDenied(m, p, b, w.apiKey, 403, "wrong_credential_type");
    for (const [m, p, b] of routes()) await expectDenied(m, p, b, generateSecret("api_key"), 403, "wrong_credential_type");
  });
  it("another project's token: 403 project_scope_mismatch (creating projects: scope_insufficient)", async () => {
    for (const [m, p, b] of routes()) {
      if (p === "/projects") await expectDenied(m, p, b, w.otherProjectToken, 403, "scope_insufficient");
      else await expectDenied(m, p, b, w.otherProjectToken, 403, "project_scope_mismatch");
    }
  });
  it("a read-only token writing: 403 scope_insufficient", async () => {
    for (const [m, p, b] of routes().filter(([m]) => isWrite(m))) {
      await expectDenied(m, p, b, w.readOnly, 403, "scope_insufficient");
    }
  });
  it("a revoked token: 401 invalid_api_key", async () => {
    for (const [m, p, b] of routes()) await expectDenied(m, p, b, w.revoked, 401, "invalid_api_key");
  });
  it("an expired token: 401 expired_api_key", async () => {
    for (const [m, p, b] of routes()) await expectDenied(m, p, b, w.expired, 401, "expired_api_key");
  });
  it("a Basic scheme: 401 invalid_api_key", async () => {
    const res = await admin("GET", "/projects", undefined, null);
    expect(res.status).toBe(401);
  });
});

describe("a read-only token reads", () => {
  it("every read route answers 200", async () => {
    for (const [m, p] of routes().filter(([m]) => !isWrite(m))) {
      const res = await admin(m, p, undefined, w.readOnly);
      expect({ p, status: res.status }).toEqual({ p, status: 200 });
    }
  });
  it("lists only its own project", async () => {
    const res = await admin("GET", "/projects?limit=100", undefined, w.readOnly);
    expect(res.body.data.map((p: { slug: string }) => p.slug)).toEqual([w.project]);
  });
});
