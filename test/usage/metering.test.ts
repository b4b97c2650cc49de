/**
 * Usage through the Worker's fetch: every allowed request is counted per key, deployment and UTC day, with the tokens
 * the origin reports (JSON answers, streamed chat with keygate's include_usage, /v1/responses streams) or, where it
 * reports none, an estimate; and `GET …/usage` reads back exactly the sums.
 */
import { describe, expect, it } from "vitest";
import { admin, call, captureConsole, createDeployment, fixture, type OriginFetch } from "../helpers";
import { chatStream, openAiOrigin, sse } from "../openai-origin";

const CHAT = "/v1/chat/completions";
const today = () => new Date().toISOString().slice(0, 10);

interface UsageRow {
  date: string;
  key_id: string | null;
  deployment: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  estimated_tokens: number;
}

async function usageOf(project: string, query = ""): Promise<UsageRow[]> {
  const res = await admin("GET", `/projects/${project}/usage${query}`);
  expect(res.status).toBe(200);
  return res.body.data as UsageRow[];
}

/** Waits until the project's usage has `requests` requests in all (counts arrive in batches, a few ms apart here). */
async function settledUsage(project: string, requests: number, query = ""): Promise<UsageRow[]> {
  await expect.poll(async () => (await usageOf(project, query)).reduce((n, row) => n + row.requests, 0), { timeout: 5000 }).toBe(requests);
  return usageOf(project, query);
}

const chat = (extra: Record<string, unknown> = {}) => ({ model: "m", messages: [{ role: "user", content: "hi" }], ...extra });

describe("usage", () => {
  it("N requests with known usage read back as exactly their sums, per key and deployment", async () => {
    const f = await fixture();
    const other = await createDeployment(f.project.slug, {}, "second");
    const key2 = (await admin("POST", `/projects/${f.project.slug}/keys`, { name: "k2", scopes: [`${f.project.slug}/*`] })).body;
    const { origin } = openAiOrigin({ prompt_tokens: 13, completion_tokens: 5 });
    const sends = [
      ...Array.from({ length: 7 }, () => call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chat() })),
      ...Array.from({ length: 4 }, () => call(`${f.path}${CHAT}`, { token: key2.key, origin, body: chat({ stream: true }) })),
      ...Array.from({ length: 3 }, () => call(`/endpoint/${f.project.slug}/${other.slug}${CHAT}`, { token: key2.key, origin, body: chat() })),
    ];
    for (const res of await Promise.all(sends)) expect(res.status).toBe(200);
    const rows = await settledUsage(f.project.slug, 14);
    const row = (keyId: string, deployment: string) => rows.find((r) => r.key_id === keyId && r.deployment === deployment);
    expect(row(f.key.id, f.deployment.slug)).toEqual({
      date: today(), key_id: f.key.id, deployment: f.deployment.slug, requests: 7, prompt_tokens: 91, completion_tokens: 35, estimated_tokens: 0,
    });
    expect(row(key2.id, f.deployment.slug)).toMatchObject({ requests: 4, prompt_tokens: 52, completion_tokens: 20, estimated_tokens: 0 });
    expect(row(key2.id, other.slug)).toMatchObject({ requests: 3, prompt_tokens: 39, completion_tokens: 15, estimated_tokens: 0 });
    expect(rows).toHaveLength(3);
    // Filters.
    expect(await usageOf(f.project.slug, `?key_id=${f.key.id}`)).toHaveLength(1);
    expect(await usageOf(f.project.slug, `?deployment=${other.slug}`)).toHaveLength(1);
  });

  it("a streamed chat: keygate asks for usage, the client gets exactly the stream without it, the tokens are counted", async () => {
    const f = await fixture();
    const { origin, bodies } = openAiOrigin({ prompt_tokens: 21, completion_tokens: 9 });
    const res = await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chat({ stream: true }) });
    expect(res.status).toBe(200);
    expect(bodies[0]!.stream_options).toEqual({ include_usage: true });
    expect(await res.text()).toBe(chatStream(["Hel", "lo"], { prompt_tokens: 21, completion_tokens: 9 }, false));
    expect(res.headers.get("content-length")).toBeNull();
    expect(await settledUsage(f.project.slug, 1)).toMatchObject([{ prompt_tokens: 21, completion_tokens: 9, estimated_tokens: 0 }]);
  });

  it("a client that asked for usage gets the origin's stream unchanged, usage chunk included", async () => {
    const f = await fixture();
    const { origin, bodies } = openAiOrigin({ prompt_tokens: 3, completion_tokens: 4 });
    const body = chat({ stream: true, stream_options: { include_usage: true } });
    const res = await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body });
    expect(bodies[0]).toEqual(body);
    expect(await res.text()).toBe(chatStream(["Hel", "lo"], { prompt_tokens: 3, completion_tokens: 4 }, true));
    expect(await settledUsage(f.project.slug, 1)).toMatchObject([{ prompt_tokens: 3, completion_tokens: 4 }]);
  });

  it("inject_stream_usage: false forwards the body as sent, and the stream's tokens are estimated (and logged so)", async () => {
    const f = await fixture({ inject_stream_usage: false });
    const { origin, bodies } = openAiOrigin();
    const logs = captureConsole();
    try {
      const res = await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chat({ stream: true }) });
      expect(await res.text()).toBe(chatStream(["Hel", "lo"], { prompt_tokens: 11, completion_tokens: 7 }, false));
      expect(bodies[0]!.stream_options).toBeUndefined();
      const [row] = await settledUsage(f.project.slug, 1);
      expect(row).toMatchObject({ prompt_tokens: 0, completion_tokens: 0 });
      expect(row!.estimated_tokens).toBeGreaterThan(0);
      expect(logs.lines.some((line) => line.includes('"msg":"usage"') && line.includes('"estimated":true'))).toBe(true);
    } finally {
      logs.restore();
    }
  });

  it("JSON answers: chat, completions, embeddings and /v1/responses, from the body's usage", async () => {
    const f = await fixture({ allowed_paths: [CHAT, "/v1/completions", "/v1/embeddings", "/v1/responses"] });
    const { origin } = openAiOrigin({ prompt_tokens: 10, completion_tokens: 1 });
    for (const [path, body] of [
      [CHAT, chat()],
      ["/v1/completions", { model: "m", prompt: "hi" }],
      ["/v1/embeddings", { model: "m", input: "hi" }],
      ["/v1/responses", { model: "m", input: "hi" }],
      ["/v1/responses", { model: "m", input: "hi", stream: true }],
    ] as const) {
      expect((await call(`${f.path}${path}`, { token: f.key.key, origin, body })).status).toBe(200);
    }
    // Embeddings report no completion tokens.
    expect(await settledUsage(f.project.slug, 5)).toMatchObject([{ prompt_tokens: 50, completion_tokens: 4, estimated_tokens: 0 }]);
  });

  it("GET and other requests are counted as requests, with no tokens", async () => {
    const f = await fixture();
    const { origin } = openAiOrigin();
    expect((await call(`${f.path}/v1/models`, { token: f.key.key, origin })).status).toBe(200);
    expect(await settledUsage(f.project.slug, 1)).toMatchObject([{ requests: 1, prompt_tokens: 0, completion_tokens: 0, estimated_tokens: 0 }]);
  });

  it("a deployment with auth off is counted under no key", async () => {
    const f = await fixture({ auth_enabled: false });
    const { origin } = openAiOrigin({ prompt_tokens: 2, completion_tokens: 2 });
    await call(`${f.path}${CHAT}`, { origin, body: chat() });
    expect(await settledUsage(f.project.slug, 1)).toMatchObject([{ key_id: null, prompt_tokens: 2, completion_tokens: 2 }]);
  });

  it("denied requests are not counted", async () => {
    const f = await fixture();
    const { origin } = openAiOrigin();
    const other = await createDeployment(f.project.slug);
    expect((await call(`/endpoint/${f.project.slug}/${other.slug}${CHAT}`, { token: f.key.key, origin, body: chat() })).status).toBe(403);
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chat() })).status).toBe(200);
    expect(await settledUsage(f.project.slug, 1)).toHaveLength(1);
  });
});

describe("usage the origin gets wrong", () => {
  const cases: [string, OriginFetch][] = [
    ["malformed usage", () => Response.json({ choices: [], usage: { prompt_tokens: "ten", completion_tokens: 2 } })],
    ["negative counts", () => Response.json({ choices: [], usage: { prompt_tokens: -5, completion_tokens: 2 } })],
    ["absurd counts", () => Response.json({ choices: [], usage: { prompt_tokens: 1e15, completion_tokens: 2 } })],
    ["no usage at all", () => Response.json({ choices: [{ message: { content: "hello there" } }] })],
    ["a stream with no usage and no [DONE]", () => sse('data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: {"choices":[{"delta":{"content":"b"}}]}\n\n')],
    [
      "a stream cut in the middle",
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              controller.enqueue(new TextEncoder().encode('data: {"choices":[{"delta":{"content":"a"}}]}\n\n'));
              controller.error(new Error("origin died"));
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
    ],
  ];
  for (const [name, origin] of cases) {
    it(`${name}: the request is counted with estimated tokens only`, async () => {
      const f = await fixture();
      const res = await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chat({ stream: name.includes("stream") }) }).catch(
        (err: unknown) => err,
      );
      expect(res).toBeDefined();
      const [row] = await settledUsage(f.project.slug, 1);
      expect(row).toMatchObject({ requests: 1, prompt_tokens: 0, completion_tokens: 0 });
      expect(row!.estimated_tokens).toBeGreaterThan(0);
      expect(row!.estimated_tokens).toBeLessThan(10_000);
    });
  }

  it("an origin error is counted as a request with no tokens", async () => {
    const f = await fixture();
    const origin: OriginFetch = () => Response.json({ error: { message: "overloaded" } }, { status: 503 });
    expect((await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chat() })).status).toBe(503);
    expect(await settledUsage(f.project.slug, 1)).toMatchObject([{ requests: 1, prompt_tokens: 0, completion_tokens: 0, estimated_tokens: 0 }]);
  });

  it("a client that hangs up mid-stream: what was seen is estimated and counted", async () => {
    const f = await fixture();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const origin: OriginFetch = () =>
      new Response(
        new ReadableStream({
          async start(controller) {
            controller.enqueue(new TextEncoder().encode('data: {"choices":[{"delta":{"content":"a"}}]}\n\n'));
            await held;
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    const client = new AbortController();
    const res = await call(`${f.path}${CHAT}`, { token: f.key.key, origin, body: chat({ stream: true }), signal: client.signal, settle: false });
    const reader = res.body!.getReader();
    await reader.read();
    client.abort(new Error("hang-up"));
    await reader.cancel().catch(() => undefined);
    release();
    const [row] = await settledUsage(f.project.slug, 1);
    expect(row!.estimated_tokens).toBeGreaterThan(0);
  });
});

describe("GET …/usage", () => {
  it("checks its query: dates, order, span, filters and cursor", async () => {
    const f = await fixture();
    const bad = async (query: string, param: string) => {
      const res = await admin("GET", `/projects/${f.project.slug}/usage${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error.param).toBe(param);
    };
    await bad("?from=2026-02-30", "from");
    await bad("?to=yesterday", "to");
    await bad("?from=2026-12-02&to=2026-12-01", "from");
    await bad("?from=2020-01-01&to=2026-01-01", "from");
    await bad("?key_id=nope", "key_id");
    await bad("?deployment=Not_A_Slug", "deployment");
    await bad("?cursor=bm9wZQ", "cursor");
    await bad("?limit=0", "limit");
  });

  it("pages through rows in a stable order", async () => {
    const f = await fixture();
    const { origin } = openAiOrigin({ prompt_tokens: 1, completion_tokens: 1 });
    const deployments = [f.deployment.slug];
    for (let i = 0; i < 4; i++) {
      const d = await createDeployment(f.project.slug);
      deployments.push(d.slug);
      await admin("PUT", `/projects/${f.project.slug}/deployments/${d.slug}/keys/${f.key.id}`);
    }
    for (const slug of deployments) await call(`/endpoint/${f.project.slug}/${slug}${CHAT}`, { token: f.key.key, origin, body: chat() });
    const all = await settledUsage(f.project.slug, 5);
    const seen: UsageRow[] = [];
    let cursor: string | null = null;
    do {
      const res = await admin("GET", `/projects/${f.project.slug}/usage?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      seen.push(...(res.body.data as UsageRow[]));
      cursor = res.body.next_cursor as string | null;
      expect(res.body.has_more).toBe(cursor !== null);
    } while (cursor !== null);
    expect(seen).toEqual(all);
  });
});
