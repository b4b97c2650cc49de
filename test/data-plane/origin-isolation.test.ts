/**
 * What an origin (or a client choosing for it) cannot do through keygate: serve active content on keygate's host,
 * or pick the model a deployment pins. Each test failed on the code before its fix.
 */
import { describe, expect, it } from "vitest";
import { call, fixture, recordingOrigin } from "../helpers";

describe("origin content cannot act on /admin in a browser", () => {
  it("data-plane responses are sandboxed and not sniffed", async () => {
    const f = await fixture();
    const html = () => new Response("<script>fetch('/admin/v1/projects')</script>", { headers: { "content-type": "text/html" } });
    const res = await call(`${f.path}/v1/models`, { token: f.key.key, origin: recordingOrigin(html).origin });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toBe("sandbox; default-src 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

describe("a pinned model cannot be chosen by relabelling the body", () => {
  it.each([
    ["no content-type", undefined],
    ["a +json media type", "application/vnd.example+json"],
  ])("rewrites `model` for %s", async (_name, type) => {
    const f = await fixture({ model: "pinned-model" });
    const { origin, seen } = recordingOrigin();
    const headers: Record<string, string> = type ? { "content-type": type } : {};
    const body = new TextEncoder().encode('{"model":"big-model","messages":[]}');
    const res = await call(`${f.path}/v1/chat/completions`, { method: "POST", token: f.key.key, headers, body, origin });
    expect(res.status).toBe(200);
    expect(JSON.parse(await seen[0]!.text()).model).toBe("pinned-model");
  });
});
