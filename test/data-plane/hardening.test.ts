/**
 * What an outside review found, tried as an attacker would, each driven through the Worker's fetch: the model pin as
 * a guarantee (any label, strict JSON only, every other byte as sent, linear cost), host-wide response headers,
 * forged and override request headers, `;` path parameters, methods, slow bodies. Each failed on the code before.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, countingDb, expectError, fixture, recordingOrigin, withEnv } from "../helpers";

const encoder = new TextEncoder();

async function pinned() {
  const f = await fixture({ model: "pinned-model" });
  const { origin, seen } = recordingOrigin();
  const send = (body: BodyInit, headers: Record<string, string> = {}) =>
    call(`${f.path}/v1/chat/completions`, { method: "POST", token: f.key.key, headers, body, origin });
  return { send, seen };
}

describe("the model pin is a guarantee", () => {
  it("a body nested five million levels deep is scanned in one linear pass and forwarded", async () => {
    const { send, seen } = await pinned();
    const depth = 5_000_000;
    const text = `{"model":"x","a":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    const res = await send(encoder.encode(text));
    expect(res.status).toBe(200);
    const forwarded = await seen[0]!.text();
    expect(forwarded.length).toBe(text.length + "pinned-model".length - 1);
    expect(forwarded.startsWith('{"model":"pinned-model","a":[[[')).toBe(true);
  });

  it.each([
    ["text/plain", "text/plain"],
    ["curl's form type", "application/x-www-form-urlencoded"],
  ])("strict JSON labelled %s is pinned too", async (_, type) => {
    const { send, seen } = await pinned();
    expect((await send('{"model":"big-model","messages":[]}', { "content-type": type })).status).toBe(200);
    expect(await seen[0]!.text()).toBe('{"model":"pinned-model","messages":[]}');
  });

  it.each([
    ["NaN", '{"model":"big-model","temperature":NaN}'],
    ["a trailing comma", '{"model":"big-model",}'],
    ["a JSON array", '[{"model":"big-model"}]'],
    ["UTF-16", new Uint8Array([0xff, 0xfe, ...[...'{"model":"big"}'].flatMap((ch) => [ch.charCodeAt(0), 0])])],
    ["invalid UTF-8", new Uint8Array([...encoder.encode('{"model":"big-model","x":"'), 0xc3, 0x28, ...encoder.encode('"}')])],
    ["a form body", "model=big-model&messages=[]"],
  ])("%s is a 400 that says the deployment pins its model, and the origin sees nothing", async (_, body) => {
    const { send, seen } = await pinned();
    const error = await expectError(await send(body), 400, "invalid_request");
    expect(error.error.message).toMatch(/pins its model/);
    expect(seen).toHaveLength(0);
  });

  it("a model member in another case (Go origins match keys case-insensitively) is pinned too", async () => {
    const { send, seen } = await pinned();
    expect((await send('{"Model":"big-model","messages":[]}')).status).toBe(200);
    expect(await seen[0]!.text()).toBe('{"model":"pinned-model","Model":"pinned-model","messages":[]}');
  });

  it("the origin is told the body is JSON, whatever label the client put on it", async () => {
    const { send, seen } = await pinned();
    const res = await send('{"+AG0-odel":"big-model"}', { "content-type": "application/json; charset=utf-7" });
    expect(res.status).toBe(200);
    expect(seen[0]!.headers.get("content-type")).toBe("application/json");
  });

  it("every byte other than the model's reaches the origin as sent", async () => {
    const { send, seen } = await pinned();
    const text = '{"seed":18446744073709551615,"temperature":1.0,"n":1e400,"x":-0,"model":"big-model"}';
    expect((await send(text, { "content-type": "application/json" })).status).toBe(200);
    expect(await seen[0]!.text()).toBe(
      '{"seed":18446744073709551615,"temperature":1.0,"n":1e400,"x":-0,"model":"pinned-model"}',
    );
  });
});

describe("host-wide response headers from an origin never reach the client", () => {
  it("drops reporting, site-data, HSTS, refresh, CORS grants, Alt-Svc, permissions and Link; keeps what API clients use", async () => {
    const f = await fixture();
    const kept = {
      "content-type": "application/json",
      "retry-after": "3",
      "x-ratelimit-remaining-requests": "99",
      "openai-processing-ms": "12",
      "cache-control": "no-cache",
      etag: '"v1"',
      vary: "accept-encoding",
    };
    const dropped = {
      nel: '{"report_to":"x","max_age":86400}',
      "report-to": '{"group":"x","max_age":86400,"endpoints":[{"url":"https://evil.test"}]}',
      "reporting-endpoints": 'x="https://evil.test"',
      "clear-site-data": '"cookies", "storage"',
      "strict-transport-security": "max-age=0",
      refresh: "0; url=https://evil.test",
      "access-control-allow-origin": "https://evil.test",
      "access-control-allow-credentials": "true",
      "access-control-allow-headers": "authorization",
      "alt-svc": 'h3=":443"; ma=86400',
      "permissions-policy": "camera=*",
      link: "<https://evil.test/x.js>; rel=preload; as=script",
      "service-worker-allowed": "/",
      "set-cookie": "session=evil; Path=/admin",
      "www-authenticate": 'Basic realm="keygate admin"',
    };
    const answer = () => new Response("{}", { headers: { ...kept, ...dropped } });
    const res = await call(`${f.path}/v1/models`, { token: f.key.key, origin: recordingOrigin(answer).origin });
    expect(res.status).toBe(200);
    for (const [name, value] of Object.entries(kept)) expect(res.headers.get(name), name).toBe(value);
    for (const name of Object.keys(dropped)) expect(res.headers.get(name), name).toBeNull();
  });
});

describe("what goes up to the origin", () => {
  it("no forged client address, forwarding claim or method/path override reaches the origin", async () => {
    const f = await fixture();
    const { origin, seen } = recordingOrigin();
    const forged = [
      "client-ip",
      "fastly-client-ip",
      "x-originating-ip",
      "x-remote-addr",
      "x-proxyuser-ip",
      "x-original-forwarded-for",
      "x-envoy-external-address",
      "x-envoy-upstream-rq-timeout-ms",
      "via",
      "x-original-url",
      "x-rewrite-url",
      "x-http-method-override",
      "x-http-method",
      "x-method-override",
    ];
    const headers = Object.fromEntries(forged.map((name) => [name, name.includes("url") ? "/v1/load_lora_adapter" : "1.2.3.4"]));
    const res = await call(`${f.path}/v1/models`, { token: f.key.key, origin, headers: { ...headers, "openai-beta": "assistants=v2" } });
    expect(res.status).toBe(200);
    for (const name of forged) expect(seen[0]!.headers.get(name), name).toBeNull();
    expect(seen[0]!.headers.get("openai-beta")).toBe("assistants=v2");
  });
});

describe("paths and methods", () => {
  it.each(["/v1/models/..;/load_lora_adapter", "/v1/models/x;jsessionid=1", "/v1/models/..%3B/load_lora_adapter"])(
    "a ';' path parameter is a 404, never forwarded: %s",
    async (rest) => {
      const f = await fixture({ allowed_paths: ["/v1/models/*"] });
      const { origin, seen } = recordingOrigin();
      await expectError(await call(`${f.path}${rest}`, { token: f.key.key, origin }), 404, "not_found");
      expect(seen).toHaveLength(0);
    },
  );

  it.each(["TRACE", "PROPFIND", "PURGE"])("%s is a 405 and the origin sees nothing", async (method) => {
    const f = await fixture();
    const { origin, seen } = recordingOrigin();
    const res = await call(`${f.path}/v1/models`, { method, token: f.key.key, origin });
    expect(res.headers.get("allow")).toBe("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    await expectError(res, 405, "method_not_allowed");
    expect(seen).toHaveLength(0);
  });

  it("an unforwarded method is refused before any store read, even with the store down", async () => {
    const f = await fixture();
    const counter = countingDb();
    const down = new Proxy(counter.db, {
      get(target, prop) {
        if (prop === "prepare") throw new Error("the store must not be asked");
        return Reflect.get(target, prop);
      },
    });
    const res = await call(`${f.path}/v1/models`, { method: "TRACE", token: f.key.key, env: withEnv({ DB: down, AUTH_CACHE_LEASE_MS: "0" }) });
    await expectError(res, 405, "method_not_allowed");
    expect(counter.executed).toHaveLength(0);
  });

  it.each(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])("%s is forwarded", async (method) => {
    const f = await fixture({ allowed_paths: ["/v1/models"] });
    const { origin, seen } = recordingOrigin();
    expect((await call(`${f.path}/v1/models`, { method, token: f.key.key, origin })).status).toBe(200);
    expect(seen[0]!.method).toBe(method);
  });
});

describe("a body that drips", () => {
  /** A body of `chunks` one-byte chunks, one every `everyMs`; `signal` tells when it was cancelled. */
  function drip(chunks: number, everyMs: number) {
    let sent = 0;
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, everyMs));
        if (sent++ === chunks) controller.close();
        else controller.enqueue(encoder.encode(" "));
      },
      cancel() {
        cancelled = true;
      },
    });
    return { body, cancelled: () => cancelled };
  }

  // Embeddings with no budget go to the origin unread; a chat body is read first, to ask a stream for its usage.
  it.each([
    ["streamed to the origin", {}, "/v1/embeddings"],
    ["read for the model pin", { model: "pinned-model" }, "/v1/embeddings"],
    ["read for metering", {}, "/v1/chat/completions"],
  ])("is cut with 408 when %s, and the origin call is aborted", async (how, deploymentExtra, path) => {
    const f = await fixture(deploymentExtra);
    const env = withEnv({ BODY_TIMEOUT_MS: "300" });
    let originAborted: Promise<boolean> = Promise.resolve(false);
    const origin = async (request: Request) => {
      originAborted = new Promise((resolve) => request.signal.addEventListener("abort", () => resolve(true)));
      await request.arrayBuffer().catch(() => undefined);
      return new Response("{}");
    };
    const dripping = drip(100, 50);
    const res = await call(`${f.path}${path}`, { method: "POST", token: f.key.key, body: dripping.body, origin, env });
    await expectError(res, 408, "request_timeout");
    if (how !== "streamed to the origin") expect(dripping.cancelled()).toBe(true);
    else expect(await originAborted).toBe(true);
  });

  it("a body that arrives in time is not cut, however long the origin then takes", async () => {
    const f = await fixture();
    const env = withEnv({ BODY_TIMEOUT_MS: "300" });
    const origin = async (request: Request) => {
      await request.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 500));
      return new Response("{}");
    };
    const res = await call(`${f.path}/v1/chat/completions`, { method: "POST", token: f.key.key, body: drip(3, 10).body, origin, env });
    expect(res.status).toBe(200);
  });
});

describe("a stored time that does not parse", () => {
  it.each([
    ["expires_at", "UPDATE api_keys SET expires_at = 'soon' WHERE id = ?"],
    ["a secret's retire_at", "UPDATE api_key_secrets SET retire_at = 'later' WHERE key_id = ?"],
  ])("in %s fails closed with 503, never as a key that does not expire", async (_, sql) => {
    const f = await fixture();
    await env.DB.prepare(sql).bind(f.key.id).run();
    const { origin, seen } = recordingOrigin();
    const res = await call(`${f.path}/v1/models`, { token: f.key.key, origin, env: withEnv({ AUTH_CACHE_LEASE_MS: "0" }) });
    await expectError(res, 503, "store_unavailable");
    expect(seen).toHaveLength(0);
  });
});
