/**
 * Streams for the meter's tests: an OpenAI-style chat stream written with and without include_usage, the way
 * OpenAI and vLLM write it (compact JSON) and the way a Python server writes it (json.dumps: ", " and ": ", non-ASCII
 * as \u escapes), and helpers that feed bytes to the meter in given chunks and collect what the client gets.
 */
import { meterResponse, type MeterOptions } from "../../src/metering/response";
import type { MeteredUsage } from "../../src/metering/usage";

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

export interface ChatShape {
  /** Written for a request with stream_options.include_usage. */
  usage: boolean;
  style: "compact" | "python";
  eol: "\n" | "\r\n";
  /** Where the server puts `usage` in each chunk. */
  usageAt?: "last" | "first";
}

export const PROMPT_TOKENS = 12;
export const COMPLETION_TOKENS = 34;

/** What a model might say, with multi-byte characters and text that looks like usage. */
export const CONTENTS = ["Hello", " wörld 🌍", ' "usage": {"prompt_tokens": 999, "completion_tokens": 1}', "usage", "\r\n\n", "data: x"];

export function chatStream(shape: ChatShape, contents: readonly string[] = CONTENTS): string {
  const head = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1700000000, model: "m" };
  const chunk = (choices: unknown[], usage: unknown) => {
    if (!shape.usage) return { ...head, choices };
    return shape.usageAt === "first" ? { usage, ...head, choices } : { ...head, choices, usage };
  };
  const choice = (delta: object, finish: string | null) => ({ index: 0, delta, logprobs: null, finish_reason: finish });
  const events: unknown[] = [
    chunk([choice({ role: "assistant", content: "" }, null)], null),
    ...contents.map((content) => chunk([choice({ content }, null)], null)),
    chunk([choice({}, "stop")], null),
  ];
  if (shape.usage) {
    const usage = {
      prompt_tokens: PROMPT_TOKENS,
      completion_tokens: COMPLETION_TOKENS,
      total_tokens: PROMPT_TOKENS + COMPLETION_TOKENS,
    };
    events.push(chunk([], usage));
  }
  const json = shape.style === "compact" ? (v: unknown) => JSON.stringify(v) : pythonJson;
  const { eol } = shape;
  return events.map((event) => `data: ${json(event)}${eol}${eol}`).join("") + `data: [DONE]${eol}${eol}`;
}

/** Python's json.dumps with its defaults. */
export function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${asciiString(k)}: ${pythonJson(v)}`).join(", ")}}`;
  }
  return typeof value === "string" ? asciiString(value) : JSON.stringify(value);
}

function asciiString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A /v1/responses stream as OpenAI writes it: named events, the terminal one with response.usage. */
export function responsesStream(usage: unknown = { input_tokens: 21, output_tokens: 3 }, terminal = "response.completed"): string {
  const response = (status: string, output: unknown[], usage: unknown) => ({
    id: "resp_1",
    object: "response",
    created_at: 1700000000,
    status,
    model: "m",
    output,
    usage,
    user: null,
    metadata: {},
  });
  const message = { id: "msg_1", type: "message", role: "assistant", content: [{ type: "output_text", text: "Hi there" }] };
  const events: [string, object][] = [
    ["response.created", { response: response("in_progress", [], null) }],
    ["response.in_progress", { response: response("in_progress", [], null) }],
    ["response.output_text.delta", { item_id: "msg_1", delta: "Hi" }],
    ["response.output_text.delta", { item_id: "msg_1", delta: " there" }],
    ["response.output_text.delta", { item_id: "msg_1", delta: "usage" }],
    [terminal, { response: response("completed", [message], usage) }],
  ];
  return events
    .map(([type, body], n) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n, ...body })}\n\n`)
    .join("");
}

export function sourceOf(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

/** The bytes cut at the given offsets (ascending). */
export function cut(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const offset of [...offsets, bytes.length]) {
    if (offset > at) chunks.push(bytes.slice(at, offset));
    at = Math.max(at, offset);
  }
  return chunks;
}

export interface Metered {
  text: string;
  bytes: Uint8Array;
  usage: MeteredUsage;
}

export async function meter(
  chunks: readonly Uint8Array[],
  options: MeterOptions,
  contentType = "text/event-stream",
  status = 200,
): Promise<Metered> {
  const metered = meterResponse(sourceOf(chunks), contentType, status, options);
  const bytes = new Uint8Array(await new Response(metered.body).arrayBuffer());
  return { bytes, text: decoder.decode(bytes), usage: await metered.done };
}

/** A source the test writes to as it goes. */
export function controlledSource(): { stream: ReadableStream<Uint8Array>; controller: ReadableStreamDefaultController<Uint8Array> } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  return { stream, controller };
}

/** Byte equality, fast for megabytes (a deep toEqual compares element by element). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, k) => byte === b[k]);
}
