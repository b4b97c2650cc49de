/**
 * Failures through the Worker's fetch. A failing store denies (503, fail closed) and the origin is never called;
 * an origin that is unreachable, slow, redirecting or failing is reported in the contract's terms; body limits
 * hold on declared and on streamed bodies.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { STORE_TIMEOUT_MS } from "../../src/store/authorization";
import { call, captureConsole, expectError, fixture, recordingOrigin, withEnv, type OriginFetch } from "../helpers";

const INTERNAL = "D1_ERROR: internal detail SECRET-INTERNAL-42";

/**
 * env.DB failing in one of the ways a store fails: at prepare, when the query runs, or by never answering.
 * `onQuery` is told when a query is sent.
 */
function brokenDb(how: "prepare" | "first" | "hang", onQuery: () => void = () => undefined): D1Database {
  const fail = () => {
    throw new Error(INTERNAL);
  };
  const statement = {
    bind: () => statement,
    first: () => {
      onQuery();
      return how === "hang" ? new Promise(() => undefined) : Promise.reject(new Error(INTERNAL));
    },
    all: () => Promise.reject(new Error(INTERNAL)),
    run: () => Promise.reject(new Error(INTERNAL)),
    raw: () => Promise.reject(new Error(INTERNAL)),
  };
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare") return how === "prepare" ? fail : () => statement;
      if (prop === "batch") return fail;
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("a failing store: fail closed", () => {
  for (const how of ["prepare", "first"] as const) {
    it(`${how} throws → 503 store_unavailable, origin never called, no internal detail on the wire`, async () => {
      const f = await fixture();
      const { origin, seen } = recordingOrigin();
      const logs = captureConsole();
      try {
        // Lease 0: nothing this isolate cached earlier can stand in for the store.
        const broken = withEnv({ DB: brokenDb(how), AUTH_CACHE_LEASE_MS: "0" });
        const res = await call(`${f.path}/v1/chat/completions`, { body: { model: "m" }, token: f.key.key, origin, env: broken });
        const body = await expectError(res, 503, "store_unavailable");
        expect(JSON.stringify(body)).not.toContain("SECRET-INTERNAL");
        expect(seen).toHaveLength(0);
        // Without a key the deployment's auth toggle is still needed: also a 503, never a pass.
        await expectError(await call(`${f.path}/v1/models`, { origin, env: broken }), 503, "store_unavailable");
        expect(seen).toHaveLength(0);
        expect(logs.lines.join("\n")).not.toContain(f.key.key);
        expect(logs.endpointLines().map((l) => l.decision)).toEqual(["store_unavailable", "store_unavailable"]);
      } finally {
        logs.restore();
      }
    });
  }

  it("a store that never answers → 503 after STORE_TIMEOUT_MS", async () => {
    const f = await fixture();
    const { origin, seen } = recordingOrigin();
    let querySent!: () => void;
    const sent = new Promise<void>((resolve) => (querySent = resolve));
    const broken = withEnv({ DB: brokenDb("hang", () => querySent()), AUTH_CACHE_LEASE_MS: "0" });
    // Fake timers (not Date): the 5 s store timeout passes without the test waiting for it.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const pending = call(`${f.path}/v1/models`, { token: f.key.key, origin, env: broken });
      await sent;
      await vi.advanceTimersByTimeAsync(STORE_TIMEOUT_MS - 1);
      let settled = false;
      void pending.then(() => (settled = true));
      await Promise.resolve();
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await expectError(await pending, 503, "store_unavailable");
    } finally {
      vi.useRealTimers();
    }
    expect(seen).toHaveLength(0);
  });
});

describe("origin failures", () => {
  const attempt = async (answer: OriginFetch, extra: Record<string, unknown> = {}, options: Record<string, unknown> = {}) => {
    const f = await fixture();
    return call(`${f.path}/v1/chat/completions`, { body: { model: "m" }, token: f.key.key, origin: answer, env: withEnv(extra), ...options });
  };

  it("unreachable (fetch rejects) → 502 origin_unreachable, no internal detail", async () => {
    const logs = captureConsole();
    try {
      const res = await attempt(() => Promise.reject(new TypeError("connect ECONNREFUSED 10.0.0.1:443 internal-host")));
      const body = await expectError(res, 502, "origin_unreachable");
      expect(body.error.message).not.toContain("ECONNREFUSED");
      expect(logs.endpointLines()).toMatchObject([{ decision: "origin_unreachable", status: 502 }]);
    } finally {
      logs.restore();
    }
  });

  it("slow (no headers within ORIGIN_TIMEOUT_MS) → 504 origin_timeout, and one log line saying so", async () => {
    const slow: OriginFetch = () => new Promise((resolve) => setTimeout(() => resolve(new Response("late")), 500));
    const logs = captureConsole();
    try {
      await expectError(await attempt(slow, { ORIGIN_TIMEOUT_MS: "50" }), 504, "origin_timeout");
      expect(logs.endpointLines()).toMatchObject([{ decision: "origin_timeout", status: 504 }]);
    } finally {
      logs.restore();
    }
  });

  it("a redirect is not followed → 502", async () => {
    for (const status of [301, 302, 307, 308]) {
      const res = await attempt(() => new Response(null, { status, headers: { location: "https://elsewhere.example.com/admin" } }));
      await expectError(res, 502, "origin_unreachable");
    }
  });

  it("an origin 500 (and 4xx) passes through as the origin sent it", async () => {
    const res = await attempt(() => Response.json({ error: "model crashed" }, { status: 500 }));
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "model crashed" });
    const busy = await attempt(() => new Response("busy", { status: 429, headers: { "retry-after": "3" } }));
    expect(busy.status).toBe(429);
    expect(busy.headers.get("retry-after")).toBe("3");
  });

  it("a declared body over MAX_BODY_BYTES → 413, origin never called", async () => {
    const f = await fixture();
    const { origin, seen } = recordingOrigin();
    const res = await call(`${f.path}/v1/embeddings`, {
      body: "x".repeat(101),
      // As a client sends it: a Request built from a string has a length but no Content-Length header.
      headers: { "content-type": "text/plain", "content-length": "101" },
      token: f.key.key,
      origin,
      env: withEnv({ MAX_BODY_BYTES: "100" }),
    });
    await expectError(res, 413, "request_too_large");
    expect(seen).toHaveLength(0);
  });

  it("a JSON body over the limit on a model-rewriting deployment → 413, origin never called", async () => {
    const f = await fixture({ model: "real-model" });
    const { origin, seen } = recordingOrigin();
    const chunks = [new TextEncoder().encode('{"model":"a","input":"'), new TextEncoder().encode("y".repeat(200) + '"}')];
    const body = new ReadableStream<Uint8Array>({ pull: (c) => (chunks.length ? c.enqueue(chunks.shift()!) : c.close()) });
    const res = await call(`${f.path}/v1/embeddings`, {
      body,
      method: "POST",
      headers: { "content-type": "application/json" },
      token: f.key.key,
      origin,
      env: withEnv({ MAX_BODY_BYTES: "100" }),
    });
    await expectError(res, 413, "request_too_large");
    expect(seen).toHaveLength(0);
  });

  it("a streamed body (no Content-Length) over the limit → 413 and the upload aborted", async () => {
    const f = await fixture();
    let uploadError: unknown = null;
    const origin: OriginFetch = async (request) => {
      try {
        await request.arrayBuffer(); // an origin reads the body as it arrives
      } catch (err) {
        uploadError = err;
        throw err;
      }
      return new Response("should not happen");
    };
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 10) return controller.close();
        sent += 1;
        controller.enqueue(new Uint8Array(40).fill(120));
      },
    });
    const res = await call(`${f.path}/v1/embeddings`, {
      body,
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      token: f.key.key,
      origin,
      env: withEnv({ MAX_BODY_BYTES: "100" }),
    });
    await expectError(res, 413, "request_too_large");
    expect(uploadError).not.toBeNull();
    expect(sent).toBeLessThan(10);
  });

  it("a streamed body within the limit arrives whole", async () => {
    const f = await fixture();
    const { origin, seen } = recordingOrigin();
    const parts = ["part-1;", "part-2;", "part-3"];
    const body = new ReadableStream<Uint8Array>({
      pull: (c) => (parts.length ? c.enqueue(new TextEncoder().encode(parts.shift()!)) : c.close()),
    });
    const res = await call(`${f.path}/v1/embeddings`, {
      body,
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      token: f.key.key,
      origin: async (request) => {
        const bytes = await request.arrayBuffer();
        return origin(new Request(request.url, { method: "POST", body: bytes }));
      },
      env: withEnv({ MAX_BODY_BYTES: "100" }),
    });
    expect(res.status).toBe(200);
    expect(new TextDecoder().decode(await seen[0]!.arrayBuffer())).toBe("part-1;part-2;part-3");
  });
});
