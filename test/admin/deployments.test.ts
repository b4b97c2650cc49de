import { describe, expect, it } from "vitest";
import { admin, createDeployment, createKey, createProject, rowCount } from "../helpers";

describe("deployments", () => {
  it("creates with defaults and never shows origin header values", async () => {
    const project = await createProject();
    const res = await admin("POST", `/projects/${project.slug}/deployments`, {
      slug: "llama",
      origin: { url: "https://vllm.example.com/", headers: { Authorization: "Bearer origin-secret-value" } },
      model: "meta-llama/Llama-3.1-8B-Instruct",
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      object: "deployment",
      project: project.slug,
      slug: "llama",
      origin: { url: "https://vllm.example.com", header_names: ["Authorization"] },
      model: "meta-llama/Llama-3.1-8B-Instruct",
      auth_enabled: true,
      url: `https://keygate.test/endpoint/${project.slug}/llama`,
    });
    expect(res.body.allowed_paths).toContain("/v1/chat/completions");
    expect(JSON.stringify(res.body)).not.toContain("origin-secret-value");
    const read = await admin("GET", `/projects/${project.slug}/deployments/llama`);
    expect(JSON.stringify(read.body)).not.toContain("origin-secret-value");
    expect((await admin("GET", `/projects/${project.slug}/deployments`)).body.data).toHaveLength(1);
  });

  it("patches fields and keeps the slug", async () => {
    const project = await createProject();
    const dep = await createDeployment(project.slug);
    const res = await admin("PATCH", `/projects/${project.slug}/deployments/${dep.slug}`, {
      auth_enabled: false,
      allowed_paths: ["/v1/chat/completions", "/v1/models/*"],
      model: null,
      name: "Renamed",
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ auth_enabled: false, model: null, name: "Renamed", slug: dep.slug });
    expect(res.body.allowed_paths).toEqual(["/v1/chat/completions", "/v1/models/*"]);
    const slugChange = await admin("PATCH", `/projects/${project.slug}/deployments/${dep.slug}`, { slug: "other" });
    expect(slugChange.status).toBe(400);
    expect(slugChange.body.error.param).toBe("slug");
  });

  it("refuses to move an origin with secret headers without resending them", async () => {
    const project = await createProject();
    const dep = await createDeployment(project.slug, { origin: { url: "https://a.example.com", headers: { "X-Origin-Key": "s" } } });
    const moved = await admin("PATCH", `/projects/${project.slug}/deployments/${dep.slug}`, {
      origin: { url: "https://attacker.example.net" },
    });
    expect(moved.status).toBe(400);
    expect(moved.body.error.param).toBe("origin.headers");
    const resent = await admin("PATCH", `/projects/${project.slug}/deployments/${dep.slug}`, {
      origin: { url: "https://b.example.com", headers: { "X-Origin-Key": "s2" } },
    });
    expect(resent.status).toBe(200);
    expect(resent.body.origin).toEqual({ url: "https://b.example.com", header_names: ["X-Origin-Key"], assertion: false });
  });

  it.each([
    [{ origin: { url: "http://vllm.example.com" } }, "origin.url"],
    [{ origin: { url: "https://127.0.0.1:8000" } }, "origin.url"],
    [{ origin: { url: "https://10.1.2.3" } }, "origin.url"],
    [{ origin: { url: "https://[::1]/" } }, "origin.url"],
    [{ origin: { url: "https://localhost:8000" } }, "origin.url"],
    [{ origin: { url: "https://vllm.internal" } }, "origin.url"],
    [{ origin: { url: "https://user:pw@example.com" } }, "origin.url"],
    [{ origin: { url: "not a url" } }, "origin.url"],
    [{ origin: { url: "https://example.com", headers: { "Bad Name": "x" } } }, "origin.headers.Bad Name"],
    [{ origin: { url: "https://example.com", headers: { "X-A": "line\r\nInjected: 1" } } }, "origin.headers.X-A"],
    [{ origin: { url: "https://example.com", headers: { Connection: "close" } } }, "origin.headers.Connection"],
    [{ origin: { url: "https://example.com", headers: { "Keygate-Assertion": "forged" } } }, "origin.headers.Keygate-Assertion"],
    [{ origin: { url: "https://example.com" }, allowed_paths: ["v1/chat"] }, "allowed_paths[0]"],
    [{ origin: { url: "https://example.com" }, allowed_paths: ["/v1/*/x"] }, "allowed_paths[0]"],
    [{ origin: { url: "https://example.com" }, auth_enabled: "yes" }, "auth_enabled"],
    [{ origin: { url: "https://example.com", extra: 1 } }, "origin.extra"],
  ])("rejects %j with 400 naming %s", async (extra, param) => {
    const project = await createProject();
    const res = await admin("POST", `/projects/${project.slug}/deployments`, { slug: "d", ...extra });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "invalid_request", param });
    expect(await rowCount("SELECT count(*) AS n FROM deployments WHERE project_id = ?", project.id)).toBe(0);
  });

  it("rejects a duplicate slug in the same project, allows it in another", async () => {
    const a = await createProject();
    const b = await createProject();
    await createDeployment(a.slug, {}, "same");
    const dup = await admin("POST", `/projects/${a.slug}/deployments`, { slug: "same", origin: { url: "https://x.example.com" } });
    expect(dup.status).toBe(409);
    expect((await createDeployment(b.slug, {}, "same")).slug).toBe("same");
  });

  it("deleting a deployment removes it from every key's scopes", async () => {
    const project = await createProject();
    const one = await createDeployment(project.slug);
    const two = await createDeployment(project.slug);
    const key = await createKey(project.slug, [`${project.slug}/${one.slug}`, `${project.slug}/${two.slug}`]);
    expect((await admin("DELETE", `/projects/${project.slug}/deployments/${one.slug}`)).status).toBe(200);
    const after = await admin("GET", `/projects/${project.slug}/keys/${key.id}`);
    expect(after.body.scopes).toEqual([`${project.slug}/${two.slug}`]);
    expect((await admin("GET", `/projects/${project.slug}/deployments/${one.slug}`)).status).toBe(404);
  });
});
