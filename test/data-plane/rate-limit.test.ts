/** Per-key rate limits through the optional KEY_RATE_LIMITER binding (README "Configuration"). */
import { describe, expect, it } from "vitest";
import { call, captureConsole, expectError, fixture, recordingOrigin, withEnv } from "../helpers";

/** A stand-in for Cloudflare's Rate Limiting binding: allows `limit` calls per key, then refuses. */
function limiter(limit: number) {
  const counts = new Map<string, number>();
  const seen: string[] = [];
  const binding: RateLimit = {
    async limit({ key }) {
      seen.push(key);
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      return { success: n <= limit };
    },
  };
  return { binding, seen };
}

describe("rate limits", () => {
  it("without the binding there is no limit", async () => {
    const f = await fixture();
    const { origin } = recordingOrigin();
    for (let i = 0; i < 5; i++) {
      expect((await call(`${f.path}/v1/models`, { token: f.key.key, origin, settle: false })).status).toBe(200);
    }
  });

  it("with the binding, a key over its limit gets 429 rate_limited with Retry-After, and the origin is not called", async () => {
    const f = await fixture();
    const { binding, seen } = limiter(2);
    const env = withEnv({ KEY_RATE_LIMITER: binding, KEY_RATE_LIMIT_PERIOD_S: "10" });
    const { origin, seen: originSaw } = recordingOrigin();
    for (let i = 0; i < 2; i++) {
      expect((await call(`${f.path}/v1/models`, { token: f.key.key, origin, env, settle: false })).status).toBe(200);
    }
    const res = await call(`${f.path}/v1/models`, { token: f.key.key, origin, env, settle: false });
    await expectError(res, 429, "rate_limited");
    expect(res.headers.get("retry-after")).toBe("10");
    expect(originSaw).toHaveLength(2);
    expect(seen).toEqual([f.key.id, f.key.id, f.key.id]); // counted per key id, never per secret
  });

  it("a failing limiter lets the request through and logs, never the secret", async () => {
    const f = await fixture();
    const broken: RateLimit = {
      async limit() {
        throw new Error(`limiter down while handling ${f.key.key}`);
      },
    };
    const logs = captureConsole();
    try {
      const res = await call(`${f.path}/v1/models`, { token: f.key.key, origin: recordingOrigin().origin, env: withEnv({ KEY_RATE_LIMITER: broken }), settle: false });
      expect(res.status).toBe(200);
    } finally {
      logs.restore();
    }
    expect(logs.lines.join("\n")).not.toContain(f.key.key);
  });
});
