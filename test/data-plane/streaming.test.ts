/**
 * Streaming through the Worker's fetch: SSE reaches the client chunk by chunk, before the origin has finished,
 * and a client that hangs up — by cancelling the body or aborting the request — cancels the origin's stream.
 */
import { describe, expect, it } from "vitest";
import { call, fixture, type OriginFetch } from "../helpers";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * An origin streaming SSE events: the first at once, each next one only when the test releases it. Records
 * whether its stream was cancelled and whether the request it received was aborted.
 */
function sseOrigin(events: string[]) {
  const gates = events.map(() => Promise.withResolvers<void>());
  gates[0]!.resolve();
  const state = { sent: 0, cancelled: null as unknown, aborted: false, finished: false };
  const origin: OriginFetch = (request) => {
    request.signal.addEventListener("abort", () => (state.aborted = true));
    let i = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (i === events.length) {
          state.finished = true;
          return controller.close();
        }
        await gates[i]!.promise;
        controller.enqueue(encoder.encode(`data: ${events[i]}\n\n`));
        i += 1;
        state.sent = i;
      },
      cancel(reason) {
        state.cancelled = reason ?? "cancelled";
      },
    });
    return new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
  };
  return { origin, state, release: (n: number) => gates[n]!.resolve() };
}

async function sseCall(origin: OriginFetch, signal?: AbortSignal) {
  const f = await fixture();
  return call(`${f.path}/v1/chat/completions`, {
    body: { model: "m", stream: true, messages: [{ role: "user", content: "hi" }] },
    token: f.key.key,
    origin,
    settle: false,
    ...(signal ? { signal } : {}),
  });
}

describe("streaming", () => {
  it("SSE arrives chunk by chunk: the first event is read before the origin has sent the second", async () => {
    const { origin, state, release } = sseOrigin(['{"delta":"Hel"}', '{"delta":"lo"}', "[DONE]"]);
    const res = await sseCall(origin);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(decoder.decode(first.value)).toBe('data: {"delta":"Hel"}\n\n');
    expect(state.sent).toBe(1);
    expect(state.finished).toBe(false);

    release(1);
    expect(decoder.decode((await reader.read()).value)).toBe('data: {"delta":"lo"}\n\n');
    expect(state.finished).toBe(false);
    release(2);
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += decoder.decode(chunk.value);
    expect(rest).toBe("data: [DONE]\n\n");
    expect(state.finished).toBe(true);
  });

  it("a client that stops reading mid-stream cancels the origin's stream", async () => {
    const { origin, state } = sseOrigin(["one", "two", "three"]);
    const res = await sseCall(origin);
    const reader = res.body!.getReader();
    expect(decoder.decode((await reader.read()).value)).toBe("data: one\n\n");
    await reader.cancel("client went away");
    await expect.poll(() => state.cancelled).not.toBeNull();
    expect(state.sent).toBe(1);
  });

  it("a client that aborts its request mid-stream aborts the origin request", async () => {
    const { origin, state } = sseOrigin(["one", "two"]);
    const client = new AbortController();
    const res = await sseCall(origin, client.signal);
    const reader = res.body!.getReader();
    expect(decoder.decode((await reader.read()).value)).toBe("data: one\n\n");
    client.abort(new Error("hang-up"));
    await expect.poll(() => state.aborted).toBe(true);
    await reader.cancel().catch(() => undefined);
    expect(state.sent).toBe(1);
  });

  it("a client that aborts before the origin answers: the origin request is aborted too", async () => {
    const client = new AbortController();
    let aborted = false;
    const origin: OriginFetch = (request) =>
      new Promise<Response>((_, reject) => {
        request.signal.addEventListener("abort", () => {
          aborted = true;
          reject(request.signal.reason);
        });
        client.abort(new Error("hang-up")); // the client leaves while the origin is still thinking
      });
    const res = await sseCall(origin, client.signal);
    expect(aborted).toBe(true);
    expect(res.status).toBeGreaterThanOrEqual(400); // nobody reads it; it must not be a 200
  });
});
