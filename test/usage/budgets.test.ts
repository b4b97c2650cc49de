/**
 * Token budgets through the Worker's fetch: a hard budget reserves before forwarding and settles on the real count,
 * exactly, under concurrency; a soft one admits while not spent; every budget write is seen by the next request; a
 * counter that cannot be reached refuses a budgeted request (503) and leaves unbudgeted ones alone.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  admin,
  call,
  captureConsole,
  createApplication,
  createApplicationKey,
  createKey,
  createPolicy,
  dbRefusing,
  expectError,
  fixture,
  withEnv,
  type OriginFetch,
} from "../helpers";
import { openAiOrigin } from "../openai-origin";

const CHAT = "/v1/chat/completions";
/** A body whose reservation is known: one token per byte for the input (its bound), plus max_tokens. */
const chatBody = (maxTokens: number) => ({ model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: maxTokens });
const bytesOf = (body: unknown) => new TextEncoder().encode(JSON.stringify(body)).byteLength;
/** What a hard budget reserves for a body's input: at most one token per byte. */
const inputBound = bytesOf;
/** What an input the origin did not report is charged: bytes / 4. */
const inputEstimate = (body: unknown) => Math.ceil(bytesOf(body) / 4);

async function createBudget(project: string, body: Record<string, unknown>) {
  const res = await admin("POST", `/projects/${project}/budgets`, body);
  if (res.status !== 201) throw new Error(`budget: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; spent_tokens: number; reserved_tokens: number; resets_at: string | null };
}

const budgetOf = async (project: string, id: string) => (await admin("GET", `/projects/${project}/budgets/${id}`)).body;

/**
 * An origin that holds every request it gets until `release()`, then answers as `answer` does: the requests admitted
 * meanwhile all hold their reservations at once. `held()` counts the requests that reached it.
 */
function holdingOrigin(answer: OriginFetch) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let held = 0;
  const origin = async (request: Request) => {
    held += 1;
    await gate;
    return answer(request);
  };
  return { origin, held: () => held, release };
}

describe("hard budgets", () => {
  it("a spent budget answers 429 insufficient_quota in OpenAI's shape, and the origin sees nothing", async () => {
    const f = await fixture();
    const { origin, calls } = openAiOrigin({ prompt_tokens: 40, completion_tokens: 60 });
    // Room for one reservation (input bound + 20), then, with 100 spent, not for another.
    const budget = await createBudget(f.project.slug, { subject: { type: "key", id: f.key.id }, limit_tokens: 110, period: "day" });
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chatBody(20) })).status).toBe(200);
    expect(await budgetOf(f.project.slug, budget.id)).toMatchObject({ spent_tokens: 100, reserved_tokens: 0 });
    const denied = await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chatBody(20) });
    const body = await expectError(denied, 429, "insufficient_quota");
    expect(body.error.type).toBe("insufficient_quota");
    expect(denied.headers.get("keygate-revision")).not.toBeNull();
    // OpenAI's SDKs would retry a 429 twice; a spent budget tells them not to.
    expect(denied.headers.get("x-should-retry")).toBe("false");
    expect(calls()).toBe(1);
  });

  it("the 429 says why, the log line says which budget: spent, too small for the request, too little left, or held by requests in flight", async () => {
    const f = await fixture();
    const body = chatBody(100);
    const reservation = inputBound(body) + 100;
    const { origin, held, release } = holdingOrigin(openAiOrigin({ prompt_tokens: 10, completion_tokens: 20 }).origin);
    const budget = await createBudget(f.project.slug, { subject: { type: "key", id: f.key.id }, limit_tokens: reservation, period: "day" });
    const logs = captureConsole();
    try {
      const send = () => call(`${f.path}${CHAT}`, { token: f.key.key, origin, body });
      // Held at the origin: the whole budget is reserved, so the next one could fit once it settles.
      const first = send();
      await expect.poll(held).toBe(1);
      const reserved = await send();
      expect((await expectError(reserved, 429, "insufficient_quota")).error.message).toContain("beside what requests in flight hold");
      expect(reserved.headers.get("x-should-retry")).toBeNull(); // a retry may fit
      release();
      expect((await first).status).toBe(200);
      // 30 spent: what is left is less than the request may use.
      await expect.poll(async () => (await budgetOf(f.project.slug, budget.id)).reserved_tokens).toBe(0);
      const exceeded = await send();
      expect((await expectError(exceeded, 429, "insufficient_quota")).error.message).toContain(`may use up to ${reservation} tokens`);
      expect(exceeded.headers.get("x-should-retry")).toBe("false");
      // A limit below what the request may use can never admit it.
      await admin("PATCH", `/projects/${f.project.slug}/budgets/${budget.id}`, { limit_tokens: reservation - 1 });
      const tooSmall = await send();
      expect((await expectError(tooSmall, 429, "insufficient_quota")).error.message).toContain("more than a token budget covering it allows");
      // Spent.
      await admin("PATCH", `/projects/${f.project.slug}/budgets/${budget.id}`, { limit_tokens: 30 });
      const spent = await send();
      expect((await expectError(spent, 429, "insufficient_quota")).error.message).toBe(
        "You exceeded your current quota: a token budget covering this request is spent for its period.",
      );
      const lines = await logs.endpointLinesOnceWritten(5);
      expect(lines.filter((line) => line.status === 429).map((line) => [line.reason, line.budget_id])).toEqual([
        ["budget_reserved", budget.id],
        ["budget_exceeded", budget.id],
        ["budget_too_small", budget.id],
        ["budget_spent", budget.id],
      ]);
    } finally {
      logs.restore();
    }
  });

  it(`N concurrent requests at a budget that fits N−1 reservations: exactly one 429, and the spend never exceeds the limit`, async () => {
    const N = 8;
    const f = await fixture();
    const body = chatBody(100);
    const reservation = inputBound(body) + 100;
    // Every admitted request is held at the origin until all N have been decided, so all reservations overlap.
    const { origin, held, release } = holdingOrigin(openAiOrigin({ prompt_tokens: 10, completion_tokens: 20 }).origin);
    const budget = await createBudget(f.project.slug, { subject: { type: "key", id: f.key.id }, limit_tokens: reservation * (N - 1), period: "total" });
    const sends = Array.from({ length: N }, () => call(`${f.path}${CHAT}`, { token: f.key.key, origin, body }));
    await expect.poll(held).toBe(N - 1);
    expect(await budgetOf(f.project.slug, budget.id)).toMatchObject({ reserved_tokens: reservation * (N - 1), spent_tokens: 0 });
    release();
    const statuses = (await Promise.all(sends)).map((res) => res.status).sort();
    expect(statuses).toEqual([...Array<number>(N - 1).fill(200), 429]);
    const after = await budgetOf(f.project.slug, budget.id);
    expect(after).toMatchObject({ spent_tokens: 30 * (N - 1), reserved_tokens: 0 });
    expect(after.spent_tokens).toBeLessThanOrEqual(after.limit_tokens);

    // Nearly spent: a limit just below the spend refuses, and raising it lets the very next request through.
    await admin("PATCH", `/projects/${f.project.slug}/budgets/${budget.id}`, { limit_tokens: 30 * (N - 1) });
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body })).status).toBe(429);
    await admin("PATCH", `/projects/${f.project.slug}/budgets/${budget.id}`, { limit_tokens: 30 * (N - 1) + reservation });
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body })).status).toBe(200);
  });

  it("reserves the deployment's default_max_tokens when the request names none", async () => {
    const f = await fixture({ default_max_tokens: 500 });
    const { origin } = openAiOrigin();
    const body = { model: "m", messages: [] };
    const budget = await createBudget(f.project.slug, { subject: { type: "key", id: f.key.id }, limit_tokens: 499 + inputBound(body), period: "day" });
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body })).status).toBe(429);
    await admin("PATCH", `/projects/${f.project.slug}/deployments/${f.deployment.slug}`, { default_max_tokens: 499 });
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body })).status).toBe(200);
    expect(await budgetOf(f.project.slug, budget.id)).toMatchObject({ spent_tokens: 18, reserved_tokens: 0 });
  });

  it("a streamed answer settles on the usage the stream reports", async () => {
    const f = await fixture();
    const { origin } = openAiOrigin({ prompt_tokens: 12, completion_tokens: 34 });
    const budget = await createBudget(f.project.slug, { subject: { type: "key", id: f.key.id }, limit_tokens: 10_000, period: "month" });
    const res = await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: { ...chatBody(50), stream: true } });
    expect(res.status).toBe(200);
    const state = await budgetOf(f.project.slug, budget.id);
    expect(state).toMatchObject({ spent_tokens: 46, reserved_tokens: 0 });
    const now = new Date();
    expect(state.resets_at).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString());
  });
});

describe("what a refusal and a hang-up leave behind", () => {
  interface UsageRow { key_id: string | null; requests: number; prompt_tokens: number; completion_tokens: number; estimated_tokens: number }
  const keyUse = async (project: string, id: string) => {
    const { request_count, last_used_at } = (await admin("GET", `/projects/${project}/keys/${id}`)).body;
    return { request_count: request_count as number, last_used_at: last_used_at as string | null };
  };
  const usageRows = async (project: string) => (await admin("GET", `/projects/${project}/usage`)).body.data as UsageRow[];

  it("a request a budget refuses is not counted: no usage row for its key, its request_count unchanged", async () => {
    const f = await fixture();
    const soft = await createKey(f.project.slug, [`${f.project.slug}/*`]);
    const unbudgeted = await createKey(f.project.slug, [`${f.project.slug}/*`]);
    const { origin, calls } = openAiOrigin({ prompt_tokens: 3, completion_tokens: 4 });
    await createBudget(f.project.slug, { subject: { type: "key", id: f.key.id }, limit_tokens: 0, period: "day" });
    await createBudget(f.project.slug, { subject: { type: "key", id: soft.id }, limit_tokens: 0, period: "day", mode: "soft" });
    for (const key of [f.key, soft]) {
      await expectError(await call(`${f.path}${CHAT}`, { token: key.key, origin, body: chatBody(10) }), 429, "insufficient_quota");
    }
    expect(calls()).toBe(0);
    // An allowed request after the refusals: once its use is in D1, the isolate has flushed everything it held before
    // it (one batch takes all that is pending), so a refusal that had been counted would be in D1 by now too.
    expect((await call(`${f.path}${CHAT}`, { token: unbudgeted.key, origin, body: chatBody(10) })).status).toBe(200);
    await expect.poll(async () => (await keyUse(f.project.slug, unbudgeted.id)).request_count).toBe(1);
    await expect.poll(async () => (await usageRows(f.project.slug)).length).toBe(1);
    expect(await usageRows(f.project.slug)).toMatchObject([{ key_id: unbudgeted.id, requests: 1 }]);
    for (const key of [f.key, soft]) expect(await keyUse(f.project.slug, key.id)).toEqual({ request_count: 0, last_used_at: null });
  });

  it("a client that hangs up mid-stream: the reservation is settled with the input's estimate and the output seen, not held or charged in full", async () => {
    const f = await fixture();
    const budget = await createBudget(f.project.slug, { subject: { type: "key", id: f.key.id }, limit_tokens: 1_000_000, period: "total" });
    const maxTokens = 1_000;
    const events = ["Hel", "lo", " there"].map((text) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const origin = () =>
      new Response(
        new ReadableStream({
          async start(controller) {
            for (const event of events) controller.enqueue(new TextEncoder().encode(event));
            await held; // the stream stays open: the answer has not ended when the client leaves
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    const client = new AbortController();
    const body = { ...chatBody(maxTokens), stream: true };
    const res = await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body, signal: client.signal, settle: false });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let seen = "";
    while (seen.length < events.join("").length) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value, { stream: true });
    }
    expect(seen).toBe(events.join(""));

    // Mid-stream the request holds its reservation: its input's bound plus its cap.
    expect(await budgetOf(f.project.slug, budget.id)).toMatchObject({ spent_tokens: 0, reserved_tokens: inputBound(body) + maxTokens });
    const estimate = inputEstimate(body);

    client.abort(new Error("hang-up"));
    await reader.cancel().catch(() => undefined);
    // Settled by the hang-up itself: the origin's stream is still open.
    await expect.poll(async () => (await budgetOf(f.project.slug, budget.id)).reserved_tokens).toBe(0);
    release();
    // One token per event seen, on top of the input: what was started is charged, the unused cap is released.
    expect(await budgetOf(f.project.slug, budget.id)).toMatchObject({ spent_tokens: estimate + events.length, reserved_tokens: 0 });
    // And the day's usage counts the same estimate.
    await expect.poll(async () => (await usageRows(f.project.slug)).length).toBe(1);
    expect(await usageRows(f.project.slug)).toMatchObject([
      { key_id: f.key.id, requests: 1, prompt_tokens: 0, completion_tokens: 0, estimated_tokens: estimate + events.length },
    ]);
  });
});

describe("soft budgets", () => {
  it("admit while spent < limit, even when the request takes the spend past it", async () => {
    const f = await fixture();
    const { origin } = openAiOrigin({ prompt_tokens: 50, completion_tokens: 50 });
    const budget = await createBudget(f.project.slug, { subject: { type: "key", id: f.key.id }, limit_tokens: 150, period: "day", mode: "soft" });
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chatBody(100_000) })).status).toBe(200);
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chatBody(100_000) })).status).toBe(200);
    expect(await budgetOf(f.project.slug, budget.id)).toMatchObject({ spent_tokens: 200, reserved_tokens: 0 });
    await expectError(await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chatBody(1) }), 429, "insufficient_quota");
  });
});

describe("which requests a budget covers", () => {
  it("a project budget covers every key of the project; an application budget its keys; a key budget that key only", async () => {
    const f = await fixture();
    const { origin } = openAiOrigin({ prompt_tokens: 1, completion_tokens: 1 });
    const app = await createApplication(f.project.slug);
    await createPolicy(f.project.slug, app.id, [{ permission_set: "InferenceFullAccess", deployments: ["*"] }]);
    const appKey = await createApplicationKey(f.project.slug, app.id);
    const other = await createKey(f.project.slug, [`${f.project.slug}/*`]);
    const ok = async (key: string) => (await call(`${f.path}${CHAT}`, { token: key, origin, body: chatBody(1) })).status;

    const onApp = await createBudget(f.project.slug, { subject: { type: "application", id: app.id }, limit_tokens: 0, period: "day" });
    expect([await ok(appKey.key), await ok(f.key.key), await ok(other.key)]).toEqual([429, 200, 200]);
    await admin("DELETE", `/projects/${f.project.slug}/budgets/${onApp.id}`);

    const onKey = await createBudget(f.project.slug, { subject: { type: "key", id: f.key.id }, limit_tokens: 0, period: "day" });
    expect([await ok(appKey.key), await ok(f.key.key), await ok(other.key)]).toEqual([200, 429, 200]);
    await admin("DELETE", `/projects/${f.project.slug}/budgets/${onKey.id}`);

    await createBudget(f.project.slug, { subject: { type: "project", id: f.project.slug }, limit_tokens: 0, period: "total" });
    expect([await ok(appKey.key), await ok(f.key.key), await ok(other.key)]).toEqual([429, 429, 429]);
  });

  it("a project budget also covers a deployment with auth off", async () => {
    const f = await fixture({ auth_enabled: false });
    const { origin } = openAiOrigin();
    await createBudget(f.project.slug, { subject: { type: "project", id: f.project.slug }, limit_tokens: 0, period: "day" });
    expect((await call(`${f.path}${CHAT}`, { origin, body: chatBody(1) })).status).toBe(429);
  });
});

describe("the next request sees every budget write", () => {
  it("create, a limit change, a mode change, and a deletion", async () => {
    const f = await fixture();
    const { origin } = openAiOrigin({ prompt_tokens: 5, completion_tokens: 5 });
    const send = async () => (await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chatBody(10) })).status;
    expect(await send()).toBe(200);
    const budget = await createBudget(f.project.slug, { subject: { type: "key", id: f.key.id }, limit_tokens: 0, period: "day" });
    expect(await send()).toBe(429);
    await admin("PATCH", `/projects/${f.project.slug}/budgets/${budget.id}`, { limit_tokens: 1000 });
    expect(await send()).toBe(200);
    // Spent 10 of 15: a hard budget cannot reserve 10 + input more; a soft one admits (spent < limit).
    await admin("PATCH", `/projects/${f.project.slug}/budgets/${budget.id}`, { limit_tokens: 15 });
    expect(await send()).toBe(429);
    await admin("PATCH", `/projects/${f.project.slug}/budgets/${budget.id}`, { mode: "soft" });
    expect(await send()).toBe(200);
    expect(await send()).toBe(429);
    await admin("DELETE", `/projects/${f.project.slug}/budgets/${budget.id}`);
    expect(await send()).toBe(200);
  });
});

describe("a budget write that fails half way", () => {
  it("a PATCH whose row cannot be written puts the counter back: the limit in force is the one the API shows", async () => {
    const f = await fixture();
    const { origin, calls } = openAiOrigin({ prompt_tokens: 1, completion_tokens: 1 });
    const budget = await createBudget(f.project.slug, { subject: { type: "key", id: f.key.id }, limit_tokens: 0, period: "day" });
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chatBody(10) })).status).toBe(429);

    // D1 refuses the budget's UPDATE (after the counter was configured); everything else works.
    const patch = await admin("PATCH", `/projects/${f.project.slug}/budgets/${budget.id}`, { limit_tokens: 1_000_000 }, undefined,
      withEnv({ DB: dbRefusing(/^\s*UPDATE budgets/) }));
    expect(patch.status).toBe(500); // a plain error, not a StoreError: the request failed, nothing of it stays

    expect((await budgetOf(f.project.slug, budget.id)).limit_tokens).toBe(0);
    expect((await env.BUDGETS.get(env.BUDGETS.idFromName(budget.id)).state()).limitTokens).toBe(0);
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chatBody(10) })).status).toBe(429);
    expect(calls()).toBe(0);
  });
});

describe("a counter that cannot be reached", () => {
  const brokenCounters = () =>
    withEnv({
      BUDGETS: new Proxy(env.BUDGETS, {
        get(target, prop) {
          if (prop === "get") return () => new Proxy({}, { get: () => () => Promise.reject(new Error("object unreachable")) });
          const value = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
    });

  it("a budgeted request fails closed with 503 store_unavailable; an unbudgeted one is unaffected", async () => {
    const f = await fixture();
    const other = await createKey(f.project.slug, [`${f.project.slug}/*`]);
    const { origin, calls } = openAiOrigin();
    await createBudget(f.project.slug, { subject: { type: "key", id: f.key.id }, limit_tokens: 1_000_000, period: "day" });
    const broken = brokenCounters();
    await expectError(await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chatBody(1), env: broken }), 503, "store_unavailable");
    expect(calls()).toBe(0);
    expect((await call(`${f.path}${CHAT}`, { token: other.key, origin, body: chatBody(1), env: broken })).status).toBe(200);
  });
});

describe("what a hard budget bounds", () => {
  const hardBudget = (f: Awaited<ReturnType<typeof fixture>>, limit: number) =>
    createBudget(f.project.slug, { subject: { type: "key", id: f.key.id }, limit_tokens: limit, period: "total" });

  it("requests in any script cannot together overspend it: the input is reserved at its bound, not its estimate", async () => {
    // Text a tokenizer may count at a token a character (3 and 4 bytes each in UTF-8; bytes / 4 would reserve less),
    // and the origin reports it so. Three requests at once, room for two reservations.
    for (const content of ["中文".repeat(150), "😀".repeat(150), "word ".repeat(150)]) {
      const f = await fixture();
      const body = { model: "m", messages: [{ role: "user", content }], max_tokens: 10 };
      const used = [...content].length + 10;
      const reservation = inputBound(body) + 10;
      const { origin, held, release } = holdingOrigin(openAiOrigin({ prompt_tokens: [...content].length, completion_tokens: 10 }).origin);
      const budget = await createBudget(f.project.slug, { subject: { type: "key", id: f.key.id }, limit_tokens: 2 * reservation, period: "total" });
      const sends = [0, 1, 2].map(() => call(`${f.path}${CHAT}`, { token: f.key.key, origin, body }));
      await expect.poll(held).toBe(2);
      release();
      expect((await Promise.all(sends)).map((res) => res.status).sort()).toEqual([200, 200, 429]);
      const after = await budgetOf(f.project.slug, budget.id);
      expect(after).toMatchObject({ spent_tokens: 2 * used, reserved_tokens: 0 });
      expect(after.spent_tokens).toBeLessThanOrEqual(after.limit_tokens);
    }
  });

  it("a request asking for n answers reserves n times its cap", async () => {
    const f = await fixture();
    const { origin, calls } = openAiOrigin();
    await hardBudget(f, 2_000);
    const body = { ...chatBody(900), n: 10 };
    await expectError(await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body }), 429, "insufficient_quota");
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: { ...chatBody(900), n: 2 } })).status).toBe(200);
    expect(calls()).toBe(1);
  });

  it("a body that names no cap is given the one reserved for it, so the origin cannot generate more", async () => {
    const f = await fixture({ default_max_tokens: 300 });
    const { origin, bodies } = openAiOrigin();
    await hardBudget(f, 10_000);
    const sent = { model: "m", messages: [{ role: "user", content: "hi" }] };
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: sent })).status).toBe(200);
    expect(bodies[0]).toEqual({ max_tokens: 300, ...sent });
    // A cap of null is no cap: it becomes the reserved one too.
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: { ...sent, max_tokens: null } })).status).toBe(200);
    expect(bodies[1]).toEqual({ ...sent, max_tokens: 300 });
    // Without a hard budget, nothing is added.
    const other = await fixture();
    const plain = openAiOrigin();
    await call(`${other.path}${CHAT}`, { token: other.key.key, origin: plain.origin, body: sent });
    expect(plain.bodies[0]).toEqual(sent);
  });

  it("refuses what it cannot bound: a cap or count that is not a positive integer, a body that is not strict JSON, a compressed body", async () => {
    const f = await fixture();
    const { origin, calls } = openAiOrigin();
    await hardBudget(f, 1_000_000);
    for (const [body, param] of [
      [{ ...chatBody(1), max_tokens: "50000" }, "max_tokens"],
      [{ ...chatBody(1), max_completion_tokens: 1.5 }, "max_completion_tokens"],
      [{ ...chatBody(1), n: "10" }, "n"],
    ] as const) {
      const res = await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body });
      expect((await expectError(res, 400, "invalid_request")).error.param).toBe(param);
    }
    await expectError(await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: '{"max_tokens": NaN}' }), 400, "invalid_request");
    const gzipped = await new Response(
      new Blob([JSON.stringify(chatBody(50_000))]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer();
    const compressed = await call(`${f.path}${CHAT}`, {
      token: f.key.key, origin, body: new Uint8Array(gzipped), headers: { "content-encoding": "gzip", "content-type": "application/json" },
    });
    await expectError(compressed, 400, "invalid_request");
    expect(calls()).toBe(0);
  });

  it("a request given up on after the origin had it is charged its input; one the origin never saw is not", async () => {
    const f = await fixture();
    const budget = await hardBudget(f, 1_000_000);
    const prompt = { model: "m", messages: [{ role: "user", content: "x".repeat(4_000) }], max_tokens: 10 };
    const client = new AbortController();
    const hangs = (request: Request) =>
      new Promise<Response>((_, reject) => {
        request.signal.addEventListener("abort", () => reject(request.signal.reason));
        client.abort(new Error("hang-up")); // the client leaves while the origin is working on the prompt
      });
    await call(`${f.path}${CHAT}`, { token: f.key.key, origin: hangs, body: prompt, signal: client.signal }).catch(() => undefined);
    await expect.poll(async () => (await budgetOf(f.project.slug, budget.id)).spent_tokens).toBe(inputEstimate(prompt));
    expect((await budgetOf(f.project.slug, budget.id)).reserved_tokens).toBe(0);

    const refused = () => Promise.reject(new Error("connection refused"));
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin: refused, body: prompt })).status).toBe(502);
    expect(await budgetOf(f.project.slug, budget.id)).toMatchObject({ spent_tokens: inputEstimate(prompt), reserved_tokens: 0 });
  });

  it("a JSON answer cut while it arrived is charged the request's input", async () => {
    const f = await fixture();
    const budget = await hardBudget(f, 1_000_000);
    const prompt = { model: "m", messages: [{ role: "user", content: "x".repeat(4_000) }], max_tokens: 10 };
    const cut = () =>
      new Response(
        new ReadableStream({
          pull(controller) {
            controller.enqueue(new TextEncoder().encode('{"choices":['));
            controller.error(new Error("reset"));
          },
        }),
        { headers: { "content-type": "application/json", "content-length": "200" } },
      );
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin: cut, body: prompt })).status).toBe(502);
    await expect.poll(async () => (await budgetOf(f.project.slug, budget.id)).spent_tokens).toBe(inputEstimate(prompt));
  });

  it("any method but GET, HEAD and OPTIONS is metered and charged; a spent budget refuses a GET too", async () => {
    const f = await fixture({ allowed_paths: [CHAT, "/v1/models"] });
    const { origin } = openAiOrigin({ prompt_tokens: 100, completion_tokens: 900 });
    // A method keygate does not meter reserves the default output (4096) beside its input.
    const budget = await hardBudget(f, 10_000);
    expect((await call(`${f.path}${CHAT}`, { method: "PUT", token: f.key.key, origin, body: chatBody(1) })).status).toBe(200);
    expect(await budgetOf(f.project.slug, budget.id)).toMatchObject({ spent_tokens: 1_000 });
    await admin("PATCH", `/projects/${f.project.slug}/budgets/${budget.id}`, { limit_tokens: 1_000 });
    await expectError(await call(`${f.path}/v1/models`, { token: f.key.key, origin }), 429, "insufficient_quota");
  });

  it("deleting an application deletes its budgets, audited, and their counters", async () => {
    const f = await fixture();
    const app = await createApplication(f.project.slug);
    const budget = await createBudget(f.project.slug, { subject: { type: "application", id: app.id }, limit_tokens: 5, period: "day" });
    expect((await admin("DELETE", `/projects/${f.project.slug}/applications/${app.id}`)).status).toBe(200);
    expect((await admin("GET", `/projects/${f.project.slug}/budgets/${budget.id}`)).status).toBe(404);
    const actions = (await admin("GET", `/projects/${f.project.slug}/audit`)).body.data.map((e: { action: string; target: string }) => `${e.action} ${e.target}`);
    expect(actions).toContain(`budget.delete ${budget.id}`);
    expect((await env.BUDGETS.get(env.BUDGETS.idFromName(budget.id)).state()).configured).toBe(false);
  });
});
