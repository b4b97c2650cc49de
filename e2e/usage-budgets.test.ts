// Usage and budgets as a user meets them: keygate under `npm start` (wrangler dev, local D1, the BudgetCounter Durable
// Object under Miniflare) in front of the demo origin, called with the official openai package.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { admin, type Keygate, startKeygate } from "./lib/keygate.ts";

interface Deployment { url: string }
interface Key { id: string; key: string }
interface UsageRow { key_id: string; deployment: string; requests: number; prompt_tokens: number; completion_tokens: number; estimated_tokens: number }

let keygate: Keygate;
let counted: Deployment;
let uncounted: Deployment;
let key: Key;

const PROMPT = "Count these five words please";
const messages = [{ role: "user" as const, content: PROMPT }];
// The demo origin counts one token per word: 5 in the prompt, 7 in "You said: Count these five words please".
const USAGE = { prompt_tokens: 5, completion_tokens: 7 };

beforeAll(async () => {
  keygate = await startKeygate({ env: { DEMO_CHUNK_DELAY_MS: "5" } });
  await admin(keygate, "POST", "/projects", { slug: "metered" });
  counted = await admin<Deployment>(keygate, "POST", "/projects/metered/deployments", { slug: "counted", origin: { url: keygate.originUrl } });
  uncounted = await admin<Deployment>(keygate, "POST", "/projects/metered/deployments",
    { slug: "uncounted", origin: { url: keygate.originUrl }, inject_stream_usage: false });
  key = await admin<Key>(keygate, "POST", "/projects/metered/keys", { name: "app", scopes: ["metered/*"] });
});

afterAll(async () => {
  await keygate?.stop();
});

const client = (deployment: Deployment) => new OpenAI({ baseURL: `${deployment.url}/v1`, apiKey: key.key, maxRetries: 0 });

/** The stream's bytes with what differs from one answer to the next (the demo's id counter, the clock) made equal. */
const normalised = (sse: string) => sse.replace(/chatcmpl-demo\d+/g, "chatcmpl-demo").replace(/"created":\d+/g, '"created":0');

async function usageRows(): Promise<UsageRow[]> {
  return (await admin<{ data: UsageRow[] }>(keygate, "GET", "/projects/metered/usage")).data;
}

describe("usage through wrangler dev and the openai package", () => {
  it("a streamed completion is byte-identical with and without keygate's include_usage, and its usage is counted", async () => {
    const withInjection = await (await client(counted).chat.completions.create({ model: "m", messages, stream: true }).asResponse()).text();
    const withoutInjection = await (await client(uncounted).chat.completions.create({ model: "m", messages, stream: true }).asResponse()).text();
    // And the origin itself, asked without include_usage, as if keygate were not there.
    const direct = await (await fetch(`${keygate.originUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages, stream: true }),
    })).text();
    expect(withInjection).toContain("data: [DONE]");
    expect(withInjection).not.toContain('"usage"');
    expect(normalised(withInjection)).toBe(normalised(direct));
    expect(normalised(withoutInjection)).toBe(normalised(direct));

    // The SDK's own parse of the same stream: content chunks only, no usage chunk.
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of await client(counted).chat.completions.create({ model: "m", messages, stream: true })) chunks.push(chunk);
    expect(chunks.every((chunk) => chunk.choices.length === 1 && chunk.usage === undefined)).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]!.delta.content ?? "").join("")).toBe(`You said: ${PROMPT}`);

    // Counted: the two streams through `counted` exactly; the one through `uncounted` as an estimate.
    const deadline = Date.now() + 20_000;
    let rows = await usageRows();
    while (rows.reduce((n, row) => n + row.requests, 0) < 3 && Date.now() < deadline) {
      await sleep(250);
      rows = await usageRows();
    }
    expect(rows.find((row) => row.deployment === "counted")).toMatchObject({
      key_id: key.id, requests: 2, prompt_tokens: 2 * USAGE.prompt_tokens, completion_tokens: 2 * USAGE.completion_tokens, estimated_tokens: 0,
    });
    const estimate = rows.find((row) => row.deployment === "uncounted");
    expect(estimate).toMatchObject({ requests: 1, prompt_tokens: 0, completion_tokens: 0 });
    expect(estimate!.estimated_tokens).toBeGreaterThan(0);
  });

  it("a client that asked for usage gets it from the origin, untouched", async () => {
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    const stream = await client(counted).chat.completions.create({ model: "m", messages, stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { ...USAGE, total_tokens: 12 } });
  });

  it("a hard budget in the Durable Object: spent, the next request is 429 insufficient_quota; raised, the next passes", async () => {
    const budget = await admin<{ id: string }>(keygate, "POST", "/projects/metered/budgets",
      { subject: { type: "key", id: key.id }, limit_tokens: 1, period: "day" });
    const refused = await client(counted).chat.completions.create({ model: "m", messages, max_tokens: 10 }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect(refused).toMatchObject({ status: 429, code: "insufficient_quota", type: "insufficient_quota" });

    await admin(keygate, "PATCH", `/projects/metered/budgets/${budget.id}`, { limit_tokens: 10_000 });
    const reply = await client(counted).chat.completions.create({ model: "m", messages, max_tokens: 10 });
    expect(reply.usage).toMatchObject(USAGE);
    // Settled after the answer (in waitUntil): the reservation gives way to the real count.
    const budgetState = () => admin<{ spent_tokens: number; reserved_tokens: number }>(keygate, "GET", `/projects/metered/budgets/${budget.id}`);
    const deadline = Date.now() + 10_000;
    let state = await budgetState();
    while (state.reserved_tokens !== 0 && Date.now() < deadline) {
      await sleep(100);
      state = await budgetState();
    }
    expect(state).toMatchObject({ spent_tokens: 12, reserved_tokens: 0 });
  });
});

/**
 * An OpenAI-compatible origin that holds every chat request until released, so the reservations of requests admitted
 * together are all held at once; it answers with the usage it is given.
 */
async function heldOrigin() {
  let received = 0;
  let release!: () => void;
  let gate = new Promise<void>((resolve) => (release = resolve));
  let usage = { prompt_tokens: 5, completion_tokens: 7 };
  const server = createServer(async (req, res) => {
    for await (const _ of req); // the whole body, as a server reads it
    received += 1;
    await gate;
    const body = JSON.stringify({
      id: "chatcmpl-held", object: "chat.completion", created: 0, model: "m",
      choices: [{ index: 0, message: { role: "assistant", content: "ok" }, logprobs: null, finish_reason: "stop" }],
      usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    release: () => release(),
    hold: () => void (gate = new Promise<void>((resolve) => (release = resolve))),
    answerWith: (next: typeof usage) => void (usage = next),
    close: () => {
      release();
      server.closeAllConnections();
      server.close();
    },
  };
}

describe("a hard budget under concurrency, through wrangler dev and the openai package", () => {
  interface BudgetState { id: string; limit_tokens: number; spent_tokens: number; reserved_tokens: number }
  const budgetOf = (id: string) => admin<BudgetState>(keygate, "GET", `/projects/metered/budgets/${id}`);

  it("8 concurrent requests at a budget that fits 7 reservations: exactly one 429 insufficient_quota, the spend never above the limit; raised, the next passes", async () => {
    const N = 8;
    const origin = await heldOrigin();
    try {
      const held = await admin<Deployment>(keygate, "POST", "/projects/metered/deployments", { slug: "held", origin: { url: origin.url } });
      const probeKey = await admin<Key>(keygate, "POST", "/projects/metered/keys", { name: "probe", scopes: ["metered/held"] });
      const burstKey = await admin<Key>(keygate, "POST", "/projects/metered/keys", { name: "burst", scopes: ["metered/held"] });
      const MAX_TOKENS = 50;
      // The same request every time, so the same reservation: the SDK sends the same bytes whatever the key.
      const send = (k: Key) =>
        new OpenAI({ baseURL: `${held.url}/v1`, apiKey: k.key, maxRetries: 0 }).chat.completions.create({ model: "m", messages, max_tokens: MAX_TOKENS });
      const waitFor = async (what: string, ok: () => boolean | Promise<boolean>) => {
        const deadline = Date.now() + 30_000;
        while (!(await ok())) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
          await sleep(50);
        }
      };

      // What one such request reserves (its input estimate plus its cap), read from a budget of its own while the
      // request is held at the origin: keygate's own arithmetic, not this test's copy of it.
      const probe = await admin<BudgetState>(keygate, "POST", "/projects/metered/budgets",
        { subject: { type: "key", id: probeKey.id }, limit_tokens: 1_000_000, period: "total" });
      const probing = send(probeKey);
      await waitFor("the probe to reach the origin", () => origin.received() === 1);
      const reservation = (await budgetOf(probe.id)).reserved_tokens;
      expect(reservation).toBeGreaterThan(MAX_TOKENS);
      origin.release();
      await probing;

      // Every answer uses all it reserved, so seven settle to exactly the limit.
      origin.hold();
      origin.answerWith({ prompt_tokens: reservation - MAX_TOKENS, completion_tokens: MAX_TOKENS });
      const limit = reservation * (N - 1);
      const budget = await admin<BudgetState>(keygate, "POST", "/projects/metered/budgets",
        { subject: { type: "key", id: burstKey.id }, limit_tokens: limit, period: "total" });
      const outcomes: (OpenAI.ChatCompletion | unknown)[] = [];
      const sends = Array.from({ length: N }, () =>
        send(burstKey).then((reply) => void outcomes.push(reply), (err: unknown) => void outcomes.push(err)));
      // All eight decided: seven held at the origin, one answered already.
      await waitFor("seven requests at the origin and one answered", () => origin.received() === 1 + (N - 1) && outcomes.length === 1);
      const during = await budgetOf(budget.id);
      expect(during).toMatchObject({ reserved_tokens: limit, spent_tokens: 0 });
      const [refused] = outcomes;
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
      expect(refused).toMatchObject({ status: 429, code: "insufficient_quota", type: "insufficient_quota" });

      origin.release();
      await Promise.all(sends);
      const replies = outcomes.slice(1);
      expect(replies).toHaveLength(N - 1);
      for (const reply of replies) expect(reply).toMatchObject({ object: "chat.completion", usage: { prompt_tokens: reservation - MAX_TOKENS, completion_tokens: MAX_TOKENS } });
      expect(origin.received()).toBe(N);

      // Settled after the answers (in waitUntil): exactly the limit, never past it.
      await waitFor("the reservations to settle", async () => (await budgetOf(budget.id)).reserved_tokens === 0);
      const settled = await budgetOf(budget.id);
      expect(settled).toMatchObject({ limit_tokens: limit, spent_tokens: limit, reserved_tokens: 0 });

      // Spent: the next request is refused, and the origin sees nothing of it.
      await expect(send(burstKey)).rejects.toMatchObject({ status: 429, code: "insufficient_quota" });
      expect(origin.received()).toBe(N);
      // Raised by one reservation: the very next request passes, and is charged.
      await admin(keygate, "PATCH", `/projects/metered/budgets/${budget.id}`, { limit_tokens: limit + reservation });
      expect(await send(burstKey)).toMatchObject({ usage: { prompt_tokens: reservation - MAX_TOKENS, completion_tokens: MAX_TOKENS } });
      await waitFor("the last reservation to settle", async () => (await budgetOf(budget.id)).reserved_tokens === 0);
      expect(await budgetOf(budget.id)).toMatchObject({ spent_tokens: limit + reservation, reserved_tokens: 0 });
    } finally {
      origin.close();
    }
  });
});
