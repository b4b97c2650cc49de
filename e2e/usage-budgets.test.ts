// Usage and budgets as a user meets them: keygate under `npm start` (wrangler dev, local D1, the BudgetCounter Durable
// Object under Miniflare) in front of the demo origin, called with the official openai package.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
