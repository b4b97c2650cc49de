import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../src/errors";
import { call } from "../helpers";

/** The management routes of docs/api.md, as OpenAPI paths. */
const DOCUMENTED_ROUTES = [
  ["post", "/projects"],
  ["get", "/projects"],
  ["get", "/projects/{project}"],
  ["patch", "/projects/{project}"],
  ["delete", "/projects/{project}"],
  ["post", "/projects/{project}/deployments"],
  ["get", "/projects/{project}/deployments"],
  ["get", "/projects/{project}/deployments/{deployment}"],
  ["patch", "/projects/{project}/deployments/{deployment}"],
  ["delete", "/projects/{project}/deployments/{deployment}"],
  ["get", "/projects/{project}/deployments/{deployment}/keys"],
  ["put", "/projects/{project}/deployments/{deployment}/keys/{key_id}"],
  ["delete", "/projects/{project}/deployments/{deployment}/keys/{key_id}"],
  ["post", "/projects/{project}/keys"],
  ["get", "/projects/{project}/keys"],
  ["get", "/projects/{project}/keys/{key_id}"],
  ["patch", "/projects/{project}/keys/{key_id}"],
  ["delete", "/projects/{project}/keys/{key_id}"],
  ["post", "/projects/{project}/keys/{key_id}/roll"],
  ["post", "/projects/{project}/tokens"],
  ["get", "/projects/{project}/tokens"],
  ["delete", "/projects/{project}/tokens/{token_id}"],
  ["get", "/projects/{project}/audit"],
  ["post", "/projects/{project}/applications"],
  ["get", "/projects/{project}/applications"],
  ["get", "/projects/{project}/applications/{application_id}"],
  ["patch", "/projects/{project}/applications/{application_id}"],
  ["delete", "/projects/{project}/applications/{application_id}"],
  ["post", "/projects/{project}/policies"],
  ["get", "/projects/{project}/policies"],
  ["get", "/projects/{project}/policies/{policy_id}"],
  ["patch", "/projects/{project}/policies/{policy_id}"],
  ["delete", "/projects/{project}/policies/{policy_id}"],
  ["post", "/projects/{project}/explain"],
] as const;

describe("OpenAPI document", () => {
  it("is served without auth and names every route of the contract", async () => {
    const res = await call("/admin/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as any;
    expect(doc.openapi).toBe("3.1.0");
    for (const [method, path] of DOCUMENTED_ROUTES) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
  });

  it("lists exactly the error codes the code can send", async () => {
    const doc = (await (await call("/admin/v1/openapi.json")).json()) as any;
    expect(doc.components.schemas.Error.properties.error.properties.code.enum.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it("renders a readable reference at /admin/docs", async () => {
    const res = await call("/admin/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain("/admin/v1/projects/{project}/keys/{key_id}/roll");
    expect(html).toContain("ApiKeyWithSecret");
  });
});

describe("the rest of the surface", () => {
  it("GET /healthz answers without auth", async () => {
    const res = await call("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("an unknown route is a 404 in the error shape, with a request id", async () => {
    const res = await call("/nope", { headers: { "x-request-id": "client-chosen-id-1" } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe("not_found");
    expect(res.headers.get("x-request-id")).toBe("client-chosen-id-1");
  });
});
