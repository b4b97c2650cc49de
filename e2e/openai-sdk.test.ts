// A real client: the official openai package, pointed at keygate running locally (npm start's wrangler dev) in front
// of the demo origin, a local OpenAI-compatible stand-in that echoes the model it received.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { generateSecret } from "../src/secrets/format.ts";
import { admin, type Keygate, startKeygate } from "./lib/keygate.ts";

interface Deployment { url: string; model: string | null }
interface Key { id: string; key: string }
interface OriginStats { streams_started: number; streams_completed: number; streams_cancelled: number }

const ORIGIN_MODEL = "demo-model";

let keygate: Keygate;
let chat: Deployment;
let other: Deployment;
let key: Key;

beforeAll(async () => {
  // Slower chunks (~1 s per streamed reply) leave a client that hangs up after the first one plenty of time to do so.
  keygate = await startKeygate({ env: { DEMO_CHUNK_DELAY_MS: "100" } });
  await admin(keygate, "POST", "/projects", { slug: "sdk", name: "OpenAI SDK" });
  // `model` set: whatever model the client asks for, the origin receives this one (and echoes it back).
  chat = await admin<Deployment>(keygate, "POST", "/projects/sdk/deployments",
    { slug: "chat", origin: { url: keygate.originUrl }, model: ORIGIN_MODEL });
  other = await admin<Deployment>(keygate, "POST", "/projects/sdk/deployments",
    { slug: "other", origin: { url: keygate.originUrl } });
  key = await admin<Key>(keygate, "POST", "/projects/sdk/keys", { name: "sdk", scopes: ["sdk/chat"] });
});

afterAll(async () => {
  await keygate?.stop();
});

const client = (apiKey: string, deployment = chat) =>
  new OpenAI({ baseURL: `${deployment.url}/v1`, apiKey, maxRetries: 0 });

const originStats = async (): Promise<OriginStats> =>
  (await fetch(`${keygate.originUrl}/debug/stats`)).json() as Promise<OriginStats>;

describe("the openai package through keygate", () => {
  it("chat completion, with the deployment's model rewrite", async () => {
    const reply = await client(key.key).chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "Hello from the SDK" }],
    });
    expect(reply.choices[0]?.message.content).toBe("You said: Hello from the SDK");
    expect(reply.model).toBe(ORIGIN_MODEL);
    expect(chat.url).toMatch(/\/endpoint\/sdk\/chat$/);
  });

  it("streamed chat completion, chunk by chunk", async () => {
    const stream = await client(key.key).chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "Stream this reply in several pieces" }],
      stream: true,
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const contentChunks = chunks.filter((chunk) => chunk.choices[0]?.delta.content);
    expect(contentChunks.length).toBeGreaterThanOrEqual(2);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join(""))
      .toBe("You said: Stream this reply in several pieces");
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    expect(new Set(chunks.map((chunk) => chunk.model))).toEqual(new Set([ORIGIN_MODEL]));
  });

  it("embeddings", async () => {
    // The SDK asks for base64 by default and decodes it: the body goes through keygate intact both ways.
    const result = await client(key.key).embeddings.create({ model: "chat", input: ["first", "second"] });
    expect(result.model).toBe(ORIGIN_MODEL);
    expect(result.data.map((item) => item.index)).toEqual([0, 1]);
    for (const item of result.data) {
      expect(item.embedding).toHaveLength(8);
      expect(Math.hypot(...item.embedding)).toBeCloseTo(1, 3);
    }
    expect(result.data[0]!.embedding).not.toEqual(result.data[1]!.embedding);
  });

  it("models", async () => {
    const ids: string[] = [];
    for await (const model of client(key.key).models.list()) ids.push(model.id);
    expect(ids).toEqual([ORIGIN_MODEL]);
  });

  it("a wrong key (well-formed, unknown) is the SDK's AuthenticationError", async () => {
    const error = await client(generateSecret("api_key")).models.list().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: "invalid_api_key", type: "authentication_error" });
  });

  it("a key not scoped to the deployment is the SDK's PermissionDeniedError", async () => {
    const error = await client(key.key, other).chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "Hi" }] })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(error).toMatchObject({ status: 403, code: "scope_insufficient", type: "permission_error" });
  });

  it("a client that hangs up mid-stream cancels the origin's stream", async () => {
    const before = await originStats();
    const stream = await client(key.key).chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "one two three four five six seven eight nine ten" }],
      stream: true,
    });
    for await (const chunk of stream) {
      expect(chunk.model).toBe(ORIGIN_MODEL);
      break; // leaving the loop aborts the SDK's request: the client hangs up after the first chunk
    }
    // The whole reply takes ~1 s at 100 ms a chunk; wait until the origin has either seen the hang-up or finished.
    let after = await originStats();
    const deadline = Date.now() + 10_000;
    while (after.streams_cancelled === before.streams_cancelled &&
      after.streams_completed === before.streams_completed && Date.now() < deadline) {
      await sleep(50);
      after = await originStats();
    }
    expect(after.streams_started).toBe(before.streams_started + 1);
    expect(after.streams_cancelled).toBe(before.streams_cancelled + 1);
    expect(after.streams_completed).toBe(before.streams_completed);
  });

  it("a revoked key is an AuthenticationError on the very next call", async () => {
    const sdk = client(key.key);
    expect((await sdk.models.list()).data).toHaveLength(1);
    const revoked = await admin<{ revoked_at: string | null }>(keygate, "DELETE", `/projects/sdk/keys/${key.id}`);
    expect(revoked.revoked_at).not.toBeNull();
    const error = await sdk.models.list().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: "invalid_api_key" });
  });
});
