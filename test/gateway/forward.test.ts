import { describe, expect, it } from "vitest";
import type { DeploymentRecord } from "../../src/authz/types";
import { ApiError } from "../../src/errors";
import { forwardToOrigin, type ForwardOptions } from "../../src/gateway/forward";
import { DEFAULT_ALLOWED_PATHS } from "../../src/authz/paths";
import { deploymentRecord } from "../records";

const CLIENT = "https://keygate.test/endpoint/acme/llama";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function deployment(overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return deploymentRecord({ originUrl: "https://origin.test", allowedPaths: [...DEFAULT_ALLOWED_PATHS], ...overrides });
}

/** What the fake origin received. `body` holds the exact bytes, or the error reading them failed with. */
interface Received {
  request: Request;
  body: Uint8Array | null;
  bodyError: unknown;
}

/** Plays the origin: records each request (body read in full, as a server would) and answers with `respond`. */
function fakeOrigin(respond: (request: Request) => Response | Promise<Response> = () => new Response("ok")) {
  const received: Received[] = [];
  let notify: () => void = () => undefined;
  const called = new Promise<void>((resolve) => (notify = resolve));
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request && init === undefined ? input : new Request(input, init);
    const entry: Received = { request, body: null, bodyError: null };
    received.push(entry);
    notify();
    if (request.body !== null) {
      try {
        entry.body = new Uint8Array(await request.arrayBuffer());
      } catch (err) {
        entry.bodyError = err;
        throw err;
      }
    }
    return respond(request);
  };
  return { fetch: fetch satisfies typeof globalThis.fetch, received, called };
}

function options(fetch: typeof globalThis.fetch, overrides: Partial<ForwardOptions> = {}): ForwardOptions {
  return { fetch, requestId: "req_test", maxBodyBytes: 1024, timeoutMs: 2000, bodyTimeoutMs: 2000, ...overrides };
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw new Error(`expected an ApiError, got ${String(err)}`);
  }
  throw new Error("expected a rejection");
}

function only(received: Received[]): Received {
  expect(received).toHaveLength(1);
  return received[0]!;
}

/** `GET /v1/models` through forwardToOrigin: the shortest call, for tests about the origin's side. */
function getModels(fetch: typeof globalThis.fetch, overrides: Partial<ForwardOptions> = {}): Promise<Response> {
  return forwardToOrigin(new Request(`${CLIENT}/v1/models`), deployment(), "/v1/models", options(fetch, overrides));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A body that arrives in `chunks` chunks of `size` bytes, with no Content-Length (chunked upload). */
function chunkedBody(chunks: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === chunks) return controller.close();
      await sleep(1);
      controller.enqueue(new Uint8Array(size).fill(0x61 + (sent % 26)));
      sent++;
    },
  });
}

describe("forwardToOrigin: the upstream request", () => {
  it("keeps method, path and query; rewrites model; swaps the client credentials for the origin headers", async () => {
    const origin = fakeOrigin();
    const sent = { model: "my-alias", messages: [{ role: "user", content: "héllo" }], stream: false };
    const request = new Request(`${CLIENT}/v1/chat/completions?api-version=2024-06-01&x=%20y&empty=`, {
      method: "POST",
      headers: {
        "content-type": "application/json; charset=utf-8",
        authorization: "Bearer ik_live_client_secret",
        "x-api-key": "ik_live_client_secret",
        cookie: "session=abc",
        "x-forwarded-for": "203.0.113.9",
        forwarded: "for=203.0.113.9",
        "x-real-ip": "203.0.113.9",
        "true-client-ip": "203.0.113.9",
        "cf-connecting-ip": "203.0.113.9",
        "cf-ipcountry": "NZ",
        "cf-access-jwt-assertion": "eyJ.secret.jwt",
        "x-request-id": "client-chosen",
        "user-agent": "OpenAI/Python 1.0",
        accept: "application/json",
        "openai-organization": "org-1",
      },
      body: JSON.stringify(sent),
    });
    const dep = deployment({
      originUrl: "https://origin.test/base/",
      model: "meta-llama/Llama-3.1-8B-Instruct",
      originHeaders: { Authorization: "Bearer origin-secret", "X-Origin-Tenant": "t1" },
    });

    const response = await forwardToOrigin(request, dep, "/v1/chat/completions", options(origin.fetch));
    expect(response.status).toBe(200);

    const got = only(origin.received);
    expect(got.request.method).toBe("POST");
    expect(got.request.url).toBe(
      "https://origin.test/base/v1/chat/completions?api-version=2024-06-01&x=%20y&empty=",
    );
    expect(got.request.redirect).toBe("manual");
    const body = decoder.decode(got.body!);
    expect(JSON.parse(body)).toEqual({ ...sent, model: "meta-llama/Llama-3.1-8B-Instruct" });
    expect(Object.keys(JSON.parse(body) as object)).toEqual(["model", "messages", "stream"]);
    expect(got.request.headers.get("content-length")).toBe(String(got.body!.byteLength));

    const h = got.request.headers;
    expect(h.get("authorization")).toBe("Bearer origin-secret");
    expect(h.get("x-origin-tenant")).toBe("t1");
    expect(h.get("x-request-id")).toBe("req_test");
    for (const name of [
      "x-api-key",
      "cookie",
      "x-forwarded-for",
      "forwarded",
      "x-real-ip",
      "true-client-ip",
      "cf-connecting-ip",
      "cf-ipcountry",
      "cf-access-jwt-assertion",
    ]) {
      expect(h.get(name), name).toBeNull();
    }
    for (const name of ["user-agent", "accept", "openai-organization"]) {
      expect(h.get(name), name).toBe(request.headers.get(name));
    }
    // The body was checked as strict UTF-8 JSON, so that is what the origin is told it is.
    expect(h.get("content-type")).toBe("application/json");
    // No client value of anything credential-like reached the origin.
    expect([...h.values()].join("\n")).not.toContain("ik_live_");
  });

  it.each([
    ["a binary body", "application/octet-stream", new Uint8Array(512).map((_, i) => (i * 7) % 256), "is not valid UTF-8"],
    ["a JSON array", "application/json", '[{"model": "alias"}]', "is not a JSON object"],
    ["a truncated object", "application/json", '{"model": "alias",', "ends early"],
    ["a trailing comma", "application/json", '{"model": "alias",}', "is not strict JSON"],
    ["NaN", "application/json", '{"model": "alias", "t": NaN}', "is not strict JSON"],
    ["a UTF-8 BOM", "application/json", "\uFEFF{\"model\": \"alias\"}", "is not a JSON object"],
    ["UTF-16", "application/json", new Uint8Array([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]), "is not valid UTF-8"],
    ["two objects", "application/json", '{"model": "a"} {"model": "b"}', "has more after the JSON object"],
    ["invalid UTF-8 in a string", "application/json", new Uint8Array([...encoder.encode('{"model":"a","x":"'), 0xff, ...encoder.encode('"}')]), "is not valid UTF-8"],
  ])("refuses %s on a deployment that pins its model, before the origin is called", async (_, type, body, problem) => {
    const origin = fakeOrigin();
    const request = new Request(`${CLIENT}/v1/embeddings`, { method: "POST", headers: { "content-type": type }, body });
    const error = await rejection(forwardToOrigin(request, deployment({ model: "m" }), "/v1/embeddings", options(origin.fetch)));
    expect(error.code).toBe("invalid_request");
    expect(error.publicMessage).toMatch(/pins its model/);
    expect(error.publicMessage).toContain(problem);
    expect(origin.received).toHaveLength(0);
  });

  it.each([
    ["text/plain", '{"model": "alias",  "x": 1}', '{"model": "m",  "x": 1}'],
    ["application/x-www-form-urlencoded", '{"model":"alias"}', '{"model":"m"}'],
    ["application/jsonl", '{"model": "alias"}', '{"model": "m"}'],
    ["", ' {"input": "hi"} ', ' {"model":"m","input": "hi"} '],
    ["application/json", "{}", '{"model":"m"}'],
    ["application/json", '{"model":{"nested":["x"]},"model":1}', '{"model":"m","model":"m"}'],
    ["application/json", '{"mod\\u0065l":"alias"}', '{"mod\\u0065l":"m"}'],
    ["application/json", '{"a":{"model":"inner"},"model":"x"}', '{"a":{"model":"inner"},"model":"m"}'],
  ])("pins the model whatever the label (%s), changing nothing else", async (type, text, expected) => {
    const origin = fakeOrigin();
    const headers: Record<string, string> = type === "" ? {} : { "content-type": type };
    const request = new Request(`${CLIENT}/v1/embeddings`, { method: "POST", headers, body: text });
    await forwardToOrigin(request, deployment({ model: "m" }), "/v1/embeddings", options(origin.fetch));
    const got = only(origin.received);
    expect(decoder.decode(got.body!)).toBe(expected);
    expect(got.request.headers.get("content-length")).toBe(String(got.body!.byteLength));
  });

  it("forwards every byte but the model's as sent: big integers, 1.0, -0 and 1e400 stay what they were", async () => {
    const origin = fakeOrigin();
    const text = '{"seed":18446744073709551615,"temperature":1.0,"n":1e400,"x":-0,"model":"alias","s":"\\ud83d\\ude00 é"}';
    const request = new Request(`${CLIENT}/v1/completions`, { method: "POST", body: text });
    await forwardToOrigin(request, deployment({ model: "m" }), "/v1/completions", options(origin.fetch));
    expect(decoder.decode(only(origin.received).body!)).toBe(text.replace('"model":"alias"', '"model":"m"'));
  });

  it("forwards JSON unchanged when the deployment pins no model", async () => {
    const origin = fakeOrigin();
    const text = '{ "model" :"alias",\n  "n": 1.0, "x": NaN }';
    const request = new Request(`${CLIENT}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: text });
    await forwardToOrigin(request, deployment({ model: null }), "/v1/embeddings", options(origin.fetch));
    expect(decoder.decode(only(origin.received).body!)).toBe(text);
  });

  it("refuses a compressed body on a deployment that pins its model (it cannot be checked)", async () => {
    const origin = fakeOrigin();
    const request = new Request(`${CLIENT}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: new Uint8Array([0x1f, 0x8b, 0x08, 0x00]),
    });
    const error = await rejection(forwardToOrigin(request, deployment({ model: "m" }), "/v1/embeddings", options(origin.fetch)));
    expect(error.publicMessage).toMatch(/compressed/);
    expect(origin.received).toHaveLength(0);
  });

  it("streams a body with a declared Content-Length, byte for byte", async () => {
    const origin = fakeOrigin();
    const bytes = encoder.encode("x".repeat(300));
    const request = new Request(`${CLIENT}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "text/plain", "content-length": "300" },
      body: bytes,
    });
    await forwardToOrigin(request, deployment(), "/v1/embeddings", options(origin.fetch));
    expect(only(origin.received).body).toEqual(bytes);
  });

  it("streams a chunked body under the limit", async () => {
    const origin = fakeOrigin();
    const request = new Request(`${CLIENT}/v1/embeddings`, { method: "POST", body: chunkedBody(4, 100) });
    await forwardToOrigin(request, deployment(), "/v1/embeddings", options(origin.fetch));
    expect(only(origin.received).body).toHaveLength(400);
  });

  it("sends GET and HEAD without a body, to the origin path without its trailing slash", async () => {
    const origin = fakeOrigin();
    for (const method of ["GET", "HEAD"]) {
      await forwardToOrigin(
        new Request(`${CLIENT}/v1/models?limit=5#frag`, { method }),
        deployment({ originUrl: "http://127.0.0.1:8000//" }),
        "/v1/models",
        options(origin.fetch),
      );
    }
    expect(origin.received.map((r) => [r.request.method, r.request.url, r.body])).toEqual([
      ["GET", "http://127.0.0.1:8000/v1/models?limit=5", null],
      ["HEAD", "http://127.0.0.1:8000/v1/models?limit=5", null],
    ]);
  });

  it("drops hop-by-hop headers and every header the client's Connection names", async () => {
    const origin = fakeOrigin();
    const request = new Request(`${CLIENT}/v1/models`, {
      headers: {
        connection: "X-Internal-Hop, keep-alive",
        "x-internal-hop": "secret",
        "keep-alive": "timeout=5",
        "proxy-connection": "keep-alive",
        "proxy-authorization": "Basic Zm9vOmJhcg==",
        te: "trailers",
        trailer: "x-checksum",
        upgrade: "h2c",
        "x-kept": "yes",
      },
    });
    await forwardToOrigin(request, deployment(), "/v1/models", options(origin.fetch));
    const names = [...only(origin.received).request.headers.keys()];
    expect(names.sort()).toEqual(["x-kept", "x-request-id"]);
  });
});

describe("forwardToOrigin: limits, timeouts and failures", () => {
  it("413 from a Content-Length over the limit, before the origin is called", async () => {
    const origin = fakeOrigin();
    const request = new Request(`${CLIENT}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": "2000" },
      body: "x".repeat(2000),
    });
    const err = await rejection(forwardToOrigin(request, deployment(), "/v1/embeddings", options(origin.fetch)));
    expect([err.status, err.code]).toEqual([413, "request_too_large"]);
    expect(origin.received).toHaveLength(0);
  });

  it("413 from streamed bytes with no Content-Length; the origin call is aborted", async () => {
    const origin = fakeOrigin();
    const request = new Request(`${CLIENT}/v1/embeddings`, { method: "POST", body: chunkedBody(50, 100) });
    expect(request.headers.get("content-length")).toBeNull();
    const err = await rejection(
      forwardToOrigin(request, deployment(), "/v1/embeddings", options(origin.fetch, { maxBodyBytes: 250 })),
    );
    expect([err.status, err.code]).toEqual([413, "request_too_large"]);
    const got = only(origin.received);
    expect(got.request.signal.aborted).toBe(true);
    await sleep(1);
    expect(got.bodyError).not.toBeNull();
  });

  it("413 for a JSON body to be rewritten, counted as read rather than declared", async () => {
    const origin = fakeOrigin();
    const json = encoder.encode(JSON.stringify({ model: "a", input: "y".repeat(2000) }));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(json);
        controller.close();
      },
    });
    const request = new Request(`${CLIENT}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const err = await rejection(
      forwardToOrigin(request, deployment({ model: "m" }), "/v1/embeddings", options(origin.fetch)),
    );
    expect([err.status, err.code]).toEqual([413, "request_too_large"]);
    expect(origin.received).toHaveLength(0);
  });

  it("504 when the origin sends no headers within timeoutMs; the origin call is aborted", async () => {
    const origin = fakeOrigin(() => new Promise<Response>(() => undefined));
    const started = Date.now();
    const err = await rejection(
      getModels(origin.fetch, { timeoutMs: 50 }),
    );
    expect([err.status, err.code]).toEqual([504, "origin_timeout"]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(only(origin.received).request.signal.aborted).toBe(true);
  });

  it("an answer that comes after the 504, from an origin that ignored the abort, has its body released", async () => {
    let cancelled = false;
    const late = new ReadableStream<Uint8Array>({ cancel: () => void (cancelled = true) });
    // Ignores its signal, as a fetch that did not honour it would, and answers after the header timeout.
    const stubborn = async () => {
      await sleep(120);
      return new Response(late);
    };
    const err = await rejection(getModels(stubborn, { timeoutMs: 30 }));
    expect(err.code).toBe("origin_timeout");
    await expect.poll(() => cancelled).toBe(true);
  });

  it("leaves the client's request as it was: its credentials are filtered from the copy that goes up", async () => {
    const origin = fakeOrigin();
    const request = new Request(`${CLIENT}/v1/models`, { headers: { authorization: "Bearer ik_live_client", "x-forwarded-for": "1.2.3.4" } });
    await (await forwardToOrigin(request, deployment(), "/v1/models", options(origin.fetch))).text();
    expect(request.headers.get("authorization")).toBe("Bearer ik_live_client");
    expect(only(origin.received).request.headers.has("authorization")).toBe(false);
    expect(only(origin.received).request.headers.has("x-forwarded-for")).toBe(false);
  });

  it("the header timeout does not cut a response stream that outlasts it", async () => {
    const origin = fakeOrigin(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            async start(controller) {
              for (const part of ["a", "b", "c"]) {
                await sleep(40);
                controller.enqueue(encoder.encode(part));
              }
              controller.close();
            },
          }),
        ),
    );
    const response = await getModels(origin.fetch, { timeoutMs: 50 });
    expect(await response.text()).toBe("abc");
    expect(only(origin.received).request.signal.aborted).toBe(false);
  });

  it("502 with a generic message when fetch fails; the real error only in cause", async () => {
    const failure = new TypeError("connect ECONNREFUSED 10.0.0.7:8000");
    const origin = fakeOrigin(() => Promise.reject(failure));
    const err = await rejection(getModels(origin.fetch));
    expect([err.status, err.code]).toEqual([502, "origin_unreachable"]);
    expect(err.publicMessage).not.toContain("ECONNREFUSED");
    expect(err.message).not.toContain("10.0.0.7");
    expect(err.cause).toBe(failure);
  });

  it.each([301, 302, 303, 307, 308])("502 when the origin redirects (%i)", async (status) => {
    const location = "https://elsewhere.test/";
    const origin = fakeOrigin(() => new Response("moved", { status, headers: { location } }));
    const err = await rejection(getModels(origin.fetch));
    expect([err.status, err.code]).toEqual([502, "origin_unreachable"]);
    expect(err.publicMessage).toMatch(/redirect/);
    expect(only(origin.received).request.redirect).toBe("manual");
  });

  it("passes 304 Not Modified through: an answer, not a redirect", async () => {
    const origin = fakeOrigin(() => new Response(null, { status: 304, headers: { etag: '"v1"' } }));
    const response = await getModels(origin.fetch);
    expect(response.status).toBe(304);
    expect(response.headers.get("etag")).toBe('"v1"');
  });
});

describe("forwardToOrigin: the response", () => {
  it("passes an origin error status and body through, with x-request-id", async () => {
    const body = JSON.stringify({ object: "error", message: "CUDA out of memory" });
    const origin = fakeOrigin(
      () =>
        new Response(body, {
          status: 500,
          statusText: "Internal Server Error",
          headers: { "content-type": "application/json" },
        }),
    );
    const response = await getModels(origin.fetch);
    expect(response.status).toBe(500);
    expect(response.statusText).toBe("Internal Server Error");
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("x-request-id")).toBe("req_test");
    expect(await response.text()).toBe(body);
  });

  it("drops set-cookie and hop-by-hop headers, keeps the rest, and sets its own x-request-id", async () => {
    const headers = new Headers({
      "content-type": "application/json",
      "x-ratelimit-remaining-requests": "99",
      connection: "x-origin-internal",
      "x-origin-internal": "node-7",
      "keep-alive": "timeout=5",
      "x-request-id": "origin-id",
    });
    headers.append("set-cookie", "a=1; Path=/");
    headers.append("set-cookie", "b=2; Path=/");
    headers.append("set-cookie2", "c=3");
    const origin = fakeOrigin(() => new Response("{}", { headers }));
    const response = await getModels(origin.fetch);
    expect(Object.fromEntries(response.headers)).toEqual({
      "content-type": "application/json",
      "x-ratelimit-remaining-requests": "99",
      "x-request-id": "req_test",
      // keygate's own: origin content must never run as keygate's page (test/data-plane/origin-isolation.test.ts)
      "content-security-policy": "sandbox; default-src 'none'",
      "x-content-type-options": "nosniff",
    });
  });

  it("streams SSE chunk by chunk: the client has the first event before the origin made the last", async () => {
    let release: () => void = () => undefined;
    const firstRead = new Promise<void>((resolve) => (release = resolve));
    let producedLast = false;
    const origin = fakeOrigin(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            async start(controller) {
              controller.enqueue(encoder.encode('data: {"delta":"Hel"}\n\n'));
              // The origin goes on only once the client holds the first event: a buffering proxy would deadlock here.
              await firstRead;
              await sleep(10);
              controller.enqueue(encoder.encode('data: {"delta":"lo"}\n\n'));
              await sleep(10);
              producedLast = true;
              controller.enqueue(encoder.encode("data: [DONE]\n\n"));
              controller.close();
            },
          }),
          { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } },
        ),
    );
    const response = await Promise.race([
      forwardToOrigin(
        new Request(`${CLIENT}/v1/chat/completions`, { method: "POST", body: '{"stream":true}' }),
        deployment(),
        "/v1/chat/completions",
        options(origin.fetch),
      ),
      sleep(2000).then(() => Promise.reject(new Error("forwardToOrigin waited for the whole stream"))),
    ]);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = response.body!.getReader();
    const first = await Promise.race([
      reader.read(),
      sleep(2000).then(() => Promise.reject(new Error("the first event was held back"))),
    ]);
    expect(decoder.decode(first.value)).toBe('data: {"delta":"Hel"}\n\n');
    expect(producedLast).toBe(false);
    release();

    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += decoder.decode(chunk.value);
    }
    expect(rest).toBe('data: {"delta":"lo"}\n\ndata: [DONE]\n\n');
    expect(producedLast).toBe(true);
  });

  it("a client hang-up before the origin answers aborts the origin call", async () => {
    const origin = fakeOrigin(
      (request) =>
        new Promise<Response>((_, reject) =>
          request.signal.addEventListener("abort", () => reject(request.signal.reason)),
        ),
    );
    const client = new AbortController();
    const pending = forwardToOrigin(
      new Request(`${CLIENT}/v1/models`, { signal: client.signal }),
      deployment(),
      "/v1/models",
      options(origin.fetch),
    );
    await origin.called;
    expect(only(origin.received).request.signal.aborted).toBe(false);
    client.abort();
    const err = await rejection(pending);
    expect(err.code).toBe("origin_unreachable");
    expect(only(origin.received).request.signal.aborted).toBe(true);
  });

  it("a client hang-up mid-stream aborts the origin call", async () => {
    const origin = fakeOrigin(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              await sleep(5);
              controller.enqueue(encoder.encode("data: tick\n\n"));
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
    );
    const client = new AbortController();
    const response = await forwardToOrigin(
      new Request(`${CLIENT}/v1/chat/completions`, { signal: client.signal }),
      deployment(),
      "/v1/chat/completions",
      options(origin.fetch),
    );
    const reader = response.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    const originSignal = only(origin.received).request.signal;
    expect(originSignal.aborted).toBe(false);
    client.abort();
    expect(originSignal.aborted).toBe(true);
    await reader.cancel();
  });
});
