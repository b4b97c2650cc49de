/**
 * An origin that answers the way OpenAI's API does, for the usage and budget tests: chat completions and completions
 * (JSON, or SSE with `stream: true`, where `stream_options.include_usage` adds `"usage":null` to every chunk and one
 * last chunk with no choices and the usage), embeddings, and /v1/responses (JSON, or SSE ending in
 * `response.completed`). Every request it received is kept, body included.
 */
import type { OriginFetch } from "./helpers";

export interface OriginUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

export interface OpenAiOrigin {
  origin: OriginFetch;
  /** The JSON bodies the origin received, in order. */
  bodies: Record<string, unknown>[];
  /** How many requests reached it. */
  calls(): number;
}

const encoder = new TextEncoder();

/** The SSE text of a chat stream of `pieces`, with or without the usage OpenAI adds for include_usage. */
export function chatStream(pieces: string[], usage: OriginUsage, includeUsage: boolean): string {
  const base = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1767225600, model: "m" };
  const chunks: Record<string, unknown>[] = [
    { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] },
    ...pieces.map((text) => ({ ...base, choices: [{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }] })),
    { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }] },
  ];
  if (includeUsage) {
    for (const chunk of chunks) chunk.usage = null;
    chunks.push({ ...base, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } });
  }
  return chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join("") + "data: [DONE]\n\n";
}

/** The SSE text of a /v1/responses stream whose `response.completed` carries `usage`. */
export function responsesStream(text: string, usage: { input_tokens: number; output_tokens: number }): string {
  const events: [string, Record<string, unknown>][] = [
    ["response.created", { type: "response.created", response: { id: "resp_1", status: "in_progress", usage: null } }],
    ["response.output_text.delta", { type: "response.output_text.delta", delta: text }],
    [
      "response.completed",
      { type: "response.completed", response: { id: "resp_1", status: "completed", usage: { ...usage, total_tokens: usage.input_tokens + usage.output_tokens } } },
    ],
  ];
  return events.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join("");
}

export function sse(text: string, init: ResponseInit = {}): Response {
  return new Response(encoder.encode(text), { ...init, headers: { "content-type": "text/event-stream", ...init.headers } });
}

/** @param usage what every answer reports */
export function openAiOrigin(usage: OriginUsage = { prompt_tokens: 11, completion_tokens: 7 }): OpenAiOrigin {
  const bodies: Record<string, unknown>[] = [];
  const origin: OriginFetch = async (request) => {
    const body = request.method === "POST" ? ((await request.json()) as Record<string, unknown>) : {};
    bodies.push(body);
    const path = new URL(request.url).pathname;
    const total = usage.prompt_tokens + usage.completion_tokens;
    if (path.endsWith("/embeddings")) {
      return Response.json({ object: "list", data: [{ object: "embedding", index: 0, embedding: [0.1, 0.2] }], model: "m", usage: { prompt_tokens: usage.prompt_tokens, total_tokens: usage.prompt_tokens } });
    }
    if (path.endsWith("/responses")) {
      const responseUsage = { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens };
      if (body.stream === true) return sse(responsesStream("Hello", responseUsage));
      return Response.json({ id: "resp_1", object: "response", status: "completed", output: [], usage: { ...responseUsage, total_tokens: total } });
    }
    if (body.stream === true) {
      const options = body.stream_options as { include_usage?: unknown } | undefined;
      return sse(chatStream(["Hel", "lo"], usage, options?.include_usage === true));
    }
    return Response.json({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1767225600,
      model: "m",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello" }, logprobs: null, finish_reason: "stop" }],
      usage: { ...usage, total_tokens: total },
    });
  };
  return { origin, bodies, calls: () => bodies.length };
}
