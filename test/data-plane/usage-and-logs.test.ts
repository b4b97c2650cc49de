/**
 * What an allowed request leaves behind: usage on the key (last_used_at, request_count; coalesced, written
 * through ctx.waitUntil), and exactly one structured log line per data-plane request — never a secret.
 */
import { describe, expect, it, vi } from "vitest";
import { DEFAULTS } from "../../src/config";
import {
  admin,
  call,
  captureConsole,
  createDeployment,
  dbRefusing,
  createKey,
  createToken,
  fixture,
  recordingOrigin,
  testWorker,
  unknownApiKey,
  withEnv,
} from "../helpers";

const { origin } = recordingOrigin();

async function usageOf(project: string, keyId: string) {
  const res = await admin("GET", `/projects/${project}/keys/${keyId}`);
  expect(res.status).toBe(200);
  return { last_used_at: res.body.last_used_at as string | null, request_count: res.body.request_count as number };
}

describe("usage", () => {
  it("an allowed request sets last_used_at and counts it, once the request's background work is done", async () => {
    const f = await fixture();
    expect(await usageOf(f.project.slug, f.key.id)).toEqual({ last_used_at: null, request_count: 0 });
    const before = Date.now();
    expect((await call(`${f.path}/v1/models`, { token: f.key.key, origin })).status).toBe(200); // waits on ctx
    const after = await usageOf(f.project.slug, f.key.id);
    expect(after.request_count).toBe(1);
    expect(Date.parse(after.last_used_at!)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(after.last_used_at!)).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it("denials and requests that fail before forwarding are not counted", async () => {
    const f = await fixture();
    const other = await createDeployment(f.project.slug);
    await call(`/endpoint/${f.project.slug}/${other.slug}/v1/models`, { token: f.key.key, origin }); // 403
    await call(`${f.path}/v1/load_lora_adapter`, { token: f.key.key, origin, body: {} }); // 404
    await call(`${f.path}/v1/models`, { token: f.key.key, origin, cf: {}, headers: {}, method: "GET" });
    expect((await usageOf(f.project.slug, f.key.id)).request_count).toBe(1);
  });

  it("a hot key is written once per interval, with every use counted", async () => {
    const f = await fixture();
    // The default interval (the test suite runs with a short one), on a Worker of its own.
    const interval = DEFAULTS.usageFlushMs;
    const own = { worker: testWorker(), env: withEnv({ USAGE_FLUSH_MS: String(interval) }) };
    await call(`${f.path}/v1/models`, { token: f.key.key, origin, ...own }); // first use: written at once
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      // Two more uses inside the interval: held back, one write scheduled for the end of the interval.
      await call(`${f.path}/v1/models`, { token: f.key.key, origin, settle: false, ...own });
      await call(`${f.path}/v1/models`, { token: f.key.key, origin, settle: false, ...own });
      expect((await usageOf(f.project.slug, f.key.id)).request_count).toBe(1);
      await vi.advanceTimersByTimeAsync(interval);
    } finally {
      vi.useRealTimers();
    }
    await expect.poll(async () => (await usageOf(f.project.slug, f.key.id)).request_count).toBe(3);
  });

  it("a failing usage write never fails the request", async () => {
    const f = await fixture();
    const { env } = await import("cloudflare:workers");
    const db = dbRefusing(/^\s*UPDATE api_keys SET request_count/);
    const logs = captureConsole();
    try {
      const res = await call(`${f.path}/v1/models`, { token: f.key.key, origin, env: { ...env, DB: db } });
      expect(res.status).toBe(200);
      expect(logs.lines.some((l) => l.includes("usage write failed") && l.includes(f.key.id))).toBe(true);
    } finally {
      logs.restore();
    }
  });
});

describe("the log line", () => {
  it("exactly one JSON line per request, with the request's id, names, key, decision, status and latency", async () => {
    const f = await fixture();
    const logs = captureConsole();
    try {
      const res = await call(`${f.path}/v1/models`, { token: f.key.key, origin, headers: { "x-request-id": "trace-abc-123" } });
      const denied = await call(`${f.path}/v1/models`, { token: unknownApiKey(), origin });
      const lines = logs.endpointLines();
      expect(lines).toHaveLength(2);
      expect(lines[0]).toEqual({
        msg: "endpoint",
        request_id: "trace-abc-123",
        project: f.project.slug,
        deployment: f.deployment.slug,
        endpoint: "public",
        key_id: f.key.id,
        decision: "allow",
        status: 200,
        latency_ms: expect.any(Number),
      });
      expect(res.headers.get("x-request-id")).toBe("trace-abc-123");
      expect(lines[1]).toMatchObject({ request_id: denied.headers.get("x-request-id"), key_id: null, decision: "invalid_api_key", status: 401 });
      expect(lines[1]!.latency_ms).toBeGreaterThanOrEqual(0);
    } finally {
      logs.restore();
    }
  });

  it("a denial by a known key names the key; the decision is the error code", async () => {
    const f = await fixture();
    const other = await createDeployment(f.project.slug);
    const logs = captureConsole();
    try {
      await call(`/endpoint/${f.project.slug}/${other.slug}/v1/models`, { token: f.key.key, origin });
      expect(logs.endpointLines()).toMatchObject([{ key_id: f.key.id, decision: "scope_insufficient", status: 403, deployment: other.slug }]);
    } finally {
      logs.restore();
    }
  });

  it("every denial carries its reason, so a revoked key is told apart from an unknown one", async () => {
    const f = await fixture({}, { conditions: { countries: ["DE"] } });
    const revoked = await createKey(f.project.slug, [`${f.project.slug}/*`]);
    await admin("DELETE", `/projects/${f.project.slug}/keys/${revoked.id}`);
    const rolled = await createKey(f.project.slug, [`${f.project.slug}/*`]);
    // The old secret of a roll with grace stays stored until its grace ends: then it is retired, not unknown.
    await admin("POST", `/projects/${f.project.slug}/keys/${rolled.id}/roll`, { grace_seconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const token = await createToken(f.project.slug, "full");
    const cases: [string, Parameters<typeof call>[1], string, string][] = [
      ["/v1/models", {}, "missing_api_key", "missing_credential"],
      ["/v1/models", { token: "ik_live_short" }, "invalid_api_key", "malformed_key"],
      ["/v1/models", { token: unknownApiKey() }, "invalid_api_key", "unknown_key"],
      ["/v1/models", { token: revoked.key }, "invalid_api_key", "revoked"],
      ["/v1/models", { token: rolled.key }, "invalid_api_key", "retired_secret"],
      ["/v1/models", { token: token.token }, "wrong_credential_type", "management_token"],
      ["/v1/models", { token: f.key.key, cf: { country: "FR" } }, "condition_not_met", "country_not_allowed"],
      ["/v1/load_lora_adapter", { token: f.key.key, cf: { country: "DE" } }, "not_found", "path_not_allowed"],
    ];
    const logs = captureConsole();
    try {
      for (const [rest, options] of cases) await call(`${f.path}${rest}`, { ...options, origin });
      expect(logs.endpointLines().map((line) => [line.decision, line.reason])).toEqual(
        cases.map(([, , code, reason]) => [code, reason]),
      );
      for (const line of logs.lines) expect(line).not.toMatch(/ik_(live|sdk)_[0-9A-Za-z]{8}/);
    } finally {
      logs.restore();
    }
  });

  it("an allowed request's line has no reason", async () => {
    const f = await fixture();
    const logs = captureConsole();
    try {
      await call(`${f.path}/v1/models`, { token: f.key.key, origin });
      expect(logs.endpointLines()[0]).not.toHaveProperty("reason");
    } finally {
      logs.restore();
    }
  });

  it("no secret ever reaches the logs, whatever happens to the request", async () => {
    const f = await fixture();
    const token = await createToken(f.project.slug, "full");
    const secrets = [f.key.key, token.token];
    const bad = f.key.key.slice(0, -1) + (f.key.key.endsWith("A") ? "B" : "A");
    const failing = () => Promise.reject(new Error("origin down"));
    const logs = captureConsole();
    let requests = 0;
    const send = async (path: string, options: Parameters<typeof call>[1]) => {
      requests += 1;
      await (await call(path, { origin, settle: false, ...options })).body?.cancel();
    };
    try {
      await send(`${f.path}/v1/models`, { token: f.key.key });
      await send(`${f.path}/v1/models`, { headers: { "x-api-key": f.key.key } });
      await send(`${f.path}/v1/models`, { token: bad });
      await send(`${f.path}/v1/models`, { token: token.token });
      await send(`${f.path}/v1/models`, { headers: { authorization: `Basic ${f.key.key}` } });
      await send(`${f.path}/v1/models`, { headers: { authorization: `Bearer ${f.key.key}`, "x-api-key": token.token } });
      await send(`${f.path}/v1/models?api_key=${f.key.key}`, {});
      await send(`${f.path}/v1/load_lora_adapter`, { token: f.key.key, body: {} });
      await send(`${f.path}/v1/models`, { token: f.key.key, origin: failing });
      await send(`/endpoint/${f.project.slug}/missing/v1/models`, { token: f.key.key });
      await admin("DELETE", `/projects/${f.project.slug}/keys/${f.key.id}`);
      await send(`${f.path}/v1/models`, { token: f.key.key });
      await logs.endpointLinesOnceWritten(requests);
      const all = logs.lines.join("\n");
      for (const secret of [...secrets, bad]) {
        expect(all).not.toContain(secret);
        expect(all).not.toContain(secret.slice(8)); // not even without its prefix
      }
    } finally {
      logs.restore();
    }
  });

  // KNOWN BUG, not in this suite's files: src/index.ts failure() writes its own {"level":"error",…} line for every
  // 5xx besides the endpoint line, so such a request logs twice (issue 3: one line per request). Fold the
  // internal reason into the endpoint line (e.g. an `error` field), then turn this into a plain `it`.
  it("a request that ends in a 5xx writes one line too, carrying the internal reason", async () => {
    const f = await fixture();
    const logs = captureConsole();
    try {
      await call(`${f.path}/v1/models`, { token: f.key.key, origin: () => Promise.reject(new Error("connect refused")) });
      const json = logs.lines.filter((l) => l.startsWith("{"));
      expect(json).toHaveLength(1);
      expect(json[0]).toContain("connect refused");
    } finally {
      logs.restore();
    }
  });
});
