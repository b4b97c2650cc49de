// Every failure the SDK reports is a KeygateError, whatever came back: keygate's error body, a proxy's page (as an
// error or as a 200), no answer, no answer in time. Pure: a stub fetch plays the other side.
import { describe, expect, it } from "vitest";
import { KeygateError, ManagementClient } from "../../sdk/index.ts";

const client = (fetch: typeof globalThis.fetch, timeoutMs?: number) =>
  new ManagementClient({ baseUrl: "http://keygate.test", token: "secret-token-value", project: "p", env: {}, fetch, timeoutMs });

async function failure(promise: Promise<unknown>): Promise<KeygateError> {
  const error = await promise.then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(KeygateError);
  return error as KeygateError;
}

describe("answers", () => {
  it("keygate's error body: its fields, and the x-request-id", async () => {
    const body = { error: { message: "No such deployment.", type: "not_found_error", code: "not_found", param: null } };
    const error = await failure(client(async () => Response.json(body, { status: 404, headers: { "x-request-id": "req_1234abcd" } })).deployments.get("x"));
    expect(error).toMatchObject({ status: 404, type: "not_found_error", code: "not_found", param: null, message: "No such deployment.", requestId: "req_1234abcd" });
  });

  it("an error that is not keygate's (a proxy's page): api_error with the status and the start of the body", async () => {
    const error = await failure(client(async () => new Response("<html>Bad gateway</html>", { status: 502 })).projects.get());
    expect(error).toMatchObject({ status: 502, type: "api_error", code: null, param: null, requestId: null });
    expect(error.message).toContain("<html>Bad gateway</html>");
  });

  it("a 200 whose body is not JSON (a captive portal, a misrouted host): api_error, not a SyntaxError", async () => {
    const error = await failure(client(async () => new Response("<html>Sign in</html>", { status: 200 })).projects.get());
    expect(error).toMatchObject({ status: 200, type: "api_error", code: null });
    expect(error.message).toContain("GET http://keygate.test/admin/v1/projects/p");
  });
});

describe("no answer", () => {
  it("fetch fails: connection_error, status 0, the cause kept, no secret in the message", async () => {
    const cause = new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:9") });
    const error = await failure(client(async () => { throw cause; }).projects.list().toArray());
    expect(error).toMatchObject({ status: 0, type: "connection_error", code: null, requestId: null, cause });
    expect(error.message).toContain("ECONNREFUSED");
    expect(error.message).not.toContain("secret-token-value");
  });

  it("no answer within timeoutMs: connection_error with code timeout", async () => {
    const hang: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
    const error = await failure(client(hang, 20).projects.get());
    expect(error).toMatchObject({ status: 0, type: "connection_error", code: "timeout" });
  });

  it("a body cut off after the headers: connection_error", async () => {
    const cut = new ReadableStream({ start: (controller) => controller.error(new Error("socket hang up")) });
    const error = await failure(client(async () => new Response(cut, { status: 200 })).projects.get());
    expect(error).toMatchObject({ status: 0, type: "connection_error" });
    expect(error.message).toContain("socket hang up");
  });
});
