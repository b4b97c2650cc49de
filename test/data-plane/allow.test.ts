/**
 * An allowed request, end to end through the Worker's fetch: what the origin receives (method, path, query, body
 * byte for byte, headers) and what the client gets back (status, headers, body, x-request-id).
 */
import { describe, expect, it } from "vitest";
import { admin, call, createDeployment, createKey, createProject, fixture, recordingOrigin, withEnv } from "../helpers";

const ORIGIN_SECRET = "Bearer origin-secret-0000";

describe("an allowed request", () => {
  it("reaches {origin}/{rest} with method, query, body and headers as the contract says", async () => {
    const f = await fixture({
      origin: { url: "https://vllm.example.com/base/", headers: { Authorization: ORIGIN_SECRET, "X-Origin-Tag": "t1" } },
    });
    const { origin, seen } = recordingOrigin();
    const body = '{"model":"m","messages":[{"role":"user","content":"héllo  \\u00e9"}],  "stream":false}';
    const res = await call(`${f.path}/v1/chat/completions?api-version=2024-01-01&x=a%20b`, {
      method: "POST",
      body,
      origin,
      headers: {
        authorization: `Bearer ${f.key.key}`,
        cookie: "session=abc",
        "user-agent": "OpenAI/Python 1.0",
        "x-forwarded-for": "198.51.100.1",
        connection: "keep-alive, x-hop",
        "x-hop": "1",
        "x-custom": "kept",
      },
    });
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    const up = seen[0]!;
    expect(up.method).toBe("POST");
    expect(up.url).toBe("https://vllm.example.com/base/v1/chat/completions?api-version=2024-01-01&x=a%20b");
    expect(await up.text()).toBe(body);
    expect(up.headers.get("authorization")).toBe(ORIGIN_SECRET);
    expect(up.headers.get("x-origin-tag")).toBe("t1");
    expect(up.headers.get("cookie")).toBeNull();
    expect(up.headers.get("x-api-key")).toBeNull();
    expect(up.headers.get("x-forwarded-for")).toBeNull();
    expect(up.headers.get("x-hop")).toBeNull();
    expect(up.headers.get("x-custom")).toBe("kept");
    expect(up.headers.get("user-agent")).toBe("OpenAI/Python 1.0");
    expect(up.headers.get("x-request-id")).toBe(res.headers.get("x-request-id"));
    expect([...up.headers].map(([, v]) => v).join("\n")).not.toContain(f.key.key);
  });

  it("strips X-API-Key and forwards a binary body byte for byte", async () => {
    const f = await fixture();
    const { origin, seen } = recordingOrigin();
    const bytes = new Uint8Array([0, 1, 2, 0xff, 0xfe, 0x80, 0x7b, 0x22, 10, 13]);
    const res = await call(`${f.path}/v1/embeddings`, {
      method: "POST",
      body: bytes,
      headers: { "x-api-key": f.key.key, "content-type": "application/octet-stream" },
      origin,
    });
    expect(res.status).toBe(200);
    expect(new Uint8Array(await seen[0]!.arrayBuffer())).toEqual(bytes);
    expect(seen[0]!.headers.get("x-api-key")).toBeNull();
    expect(seen[0]!.headers.get("authorization")).toBeNull();
  });

  it("accepts the same key in both headers, and a lower-case bearer scheme", async () => {
    const f = await fixture();
    const { origin, seen } = recordingOrigin();
    const both = await call(`${f.path}/v1/models`, { headers: { authorization: `Bearer ${f.key.key}`, "x-api-key": f.key.key }, origin });
    expect(both.status).toBe(200);
    const lower = await call(`${f.path}/v1/models`, { headers: { authorization: `bearer ${f.key.key}` }, origin, settle: false });
    expect(lower.status).toBe(200);
    expect(seen.map((r) => [r.method, new URL(r.url).pathname])).toEqual([["GET", "/v1/models"], ["GET", "/v1/models"]]);
  });

  it("streams back the origin's status, headers and body; drops Set-Cookie", async () => {
    const f = await fixture();
    const { origin } = recordingOrigin(
      () =>
        new Response("created-by-origin", {
          status: 201,
          headers: { "content-type": "text/plain", "x-origin-header": "yes", "set-cookie": "a=b" },
        }),
    );
    const res = await call(`${f.path}/v1/completions`, { method: "POST", body: { prompt: "x" }, token: f.key.key, origin });
    expect(res.status).toBe(201);
    expect(await res.text()).toBe("created-by-origin");
    expect(res.headers.get("x-origin-header")).toBe("yes");
    expect(res.headers.get("content-type")).toBe("text/plain");
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("answers with the client's x-request-id when sane, a generated one otherwise", async () => {
    const f = await fixture();
    const { origin, seen } = recordingOrigin();
    const sane = await call(`${f.path}/v1/models`, { token: f.key.key, origin, headers: { "x-request-id": "client-req-12345" } });
    expect(sane.headers.get("x-request-id")).toBe("client-req-12345");
    expect(seen[0]!.headers.get("x-request-id")).toBe("client-req-12345");
    const insane = await call(`${f.path}/v1/models`, {
      token: f.key.key,
      origin,
      headers: { "x-request-id": "bad id with spaces" },
      settle: false,
    });
    const generated = insane.headers.get("x-request-id");
    expect(generated).toMatch(/^req_[0-9a-f]{32}$/);
    expect(seen[1]!.headers.get("x-request-id")).toBe(generated);
    const none = await call(`${f.path}/v1/models`, { token: f.key.key, origin, settle: false });
    expect(none.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    expect(none.headers.get("x-request-id")).not.toBe(generated);
  });

  it("pins `model` in a JSON body when the deployment has one: replaced, or added when absent", async () => {
    const f = await fixture({ model: "meta-llama/Llama-3.1-8B-Instruct" });
    const { origin, seen } = recordingOrigin();
    const sent = { model: "my-alias", messages: [{ role: "user", content: "hi" }], temperature: 0 };
    expect((await call(`${f.path}/v1/chat/completions`, { body: sent, token: f.key.key, origin })).status).toBe(200);
    const received = JSON.parse(await seen[0]!.text());
    expect(received).toEqual({ ...sent, model: "meta-llama/Llama-3.1-8B-Instruct" });
    expect(Object.keys(received)).toEqual(["model", "messages", "temperature"]);

    // No `model` field: the pinned one is added, so the origin cannot fall back to a default of its own.
    const noModel = '{ "input" : "x" }';
    await call(`${f.path}/v1/embeddings`, { body: noModel, token: f.key.key, origin, settle: false });
    expect(await seen[1]!.text()).toBe('{"model":"meta-llama/Llama-3.1-8B-Instruct", "input" : "x" }');
    // Not JSON: refused (test/data-plane/hardening.test.ts has the whole list).
    const text = '{"model": "alias"'; // truncated JSON
    const refused = await call(`${f.path}/v1/completions`, { body: text, token: f.key.key, origin, settle: false });
    expect(refused.status).toBe(400);
    expect(seen).toHaveLength(2);
  });

  it("does not rewrite `model` for a deployment without one", async () => {
    const f = await fixture();
    const { origin, seen } = recordingOrigin();
    const body = '{"model":  "client-choice", "prompt":"p"}';
    await call(`${f.path}/v1/completions`, { body, token: f.key.key, origin });
    expect(await seen[0]!.text()).toBe(body);
  });

  it("lets a project/* key call a deployment created after the key", async () => {
    const f = await fixture();
    const wildcard = await createKey(f.project.slug, [`${f.project.slug}/*`]);
    const later = await createDeployment(f.project.slug);
    const { origin, seen } = recordingOrigin();
    const res = await call(`/endpoint/${f.project.slug}/${later.slug}/v1/models`, { token: wildcard.key, origin });
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
  });

  it("accepts a key made before KEY_PEPPER was set (stored under plain SHA-256)", async () => {
    const project = await createProject();
    const dep = await createDeployment(project.slug);
    const noPepper = withEnv({ KEY_PEPPER: "" });
    const made = await admin("POST", `/projects/${project.slug}/keys`, { name: "old", scopes: [`${project.slug}/*`] }, undefined, noPepper);
    expect(made.status).toBe(201);
    const { origin, seen } = recordingOrigin();
    // The test env has KEY_PEPPER set: the lookup tries the HMAC form first, then the pre-pepper form.
    expect((await call(`/endpoint/${project.slug}/${dep.slug}/v1/models`, { token: made.body.key, origin })).status).toBe(200);
    expect(seen).toHaveLength(1);
  });
});
