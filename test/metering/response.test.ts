/**
 * The meter's life: what it settles with when the answer is an error, is cut, or the client hangs up; and that bytes
 * reach the client as they arrive.
 */
import { describe, expect, it } from "vitest";
import { meterResponse, type MeterOptions } from "../../src/metering/response";
import { chatStream, controlledSource, decoder, encoder, meter, sourceOf } from "./streams";

const options: MeterOptions = { route: "chat", injected: true, inputEstimate: 100 };
const withUsage = chatStream({ usage: true, style: "compact", eol: "\n" });
const withoutUsage = chatStream({ usage: false, style: "compact", eol: "\n" });
const firstEvents = 'data: {"choices":[{"delta":{"content":"a"}}],"usage":null}\n\ndata: {"choices":[{"delta":{"content":"b"}}],"usage":null}\n\n';

async function readAll(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let text = "";
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true });
  return text;
}

describe("meterResponse", () => {
  it.each([400, 401, 404, 429, 500, 502, 503, 199, 302])("passes a %d through untouched, counting nothing", async (status) => {
    const body = sourceOf([encoder.encode(withUsage)]);
    const metered = meterResponse(body, "text/event-stream", status, options);
    expect(metered.body).toBe(body);
    expect(await metered.done).toEqual({ promptTokens: 0, completionTokens: 0, estimatedTokens: 0, source: "none", reason: null });
    expect(decoder.decode(await new Response(metered.body).arrayBuffer())).toBe(withUsage);
  });

  it("reads any text/event-stream label as a stream, and anything else by the JSON rule", async () => {
    for (const type of ["text/event-stream", "Text/Event-Stream; charset=utf-8", " text/event-stream ;x=1"]) {
      expect((await meter([encoder.encode(withUsage)], options, type)).text).toBe(withoutUsage);
    }
    for (const type of ["application/json", "text/plain", "text/event-streams", ""]) {
      const result = await meter([encoder.encode(withUsage)], options, type);
      expect(result.text).toBe(withUsage); // not a stream: not rewritten
      expect(result.usage).toMatchObject({ source: "reported", promptTokens: 12, completionTokens: 34 });
    }
  });

  it("passes an origin's error on to the client, and settles with an estimate", async () => {
    const { stream, controller } = controlledSource();
    const metered = meterResponse(stream, "text/event-stream", 200, options);
    const reader = metered.body.getReader();
    controller.enqueue(encoder.encode(firstEvents));
    expect(decoder.decode((await reader.read()).value)).toBe(firstEvents.replaceAll(',"usage":null', ""));
    controller.error(new Error("origin reset"));
    await expect(reader.read()).rejects.toThrow("origin reset");
    expect(await metered.done).toEqual({ promptTokens: 0, completionTokens: 0, estimatedTokens: 102, source: "estimated", reason: "cut_short" });
  });

  it("settles at finish() with what was seen, once", async () => {
    const { stream, controller } = controlledSource();
    const metered = meterResponse(stream, "text/event-stream", 200, options);
    const reader = metered.body.getReader();
    controller.enqueue(encoder.encode(firstEvents));
    await reader.read();
    metered.finish();
    metered.finish();
    expect(await metered.done).toMatchObject({ estimatedTokens: 102, source: "estimated", reason: "cut_short" });
    // Later bytes still pass; the count stays what it was.
    controller.enqueue(encoder.encode(withUsage));
    controller.close();
    expect(await readAll(reader)).toBe(withoutUsage);
    expect(await metered.done).toMatchObject({ source: "estimated", estimatedTokens: 102 });
  });

  it("settles when the client cancels the body (a hang-up), and cancels the origin's body", async () => {
    let originCancelled = false;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({
      start: (c) => void (controller = c),
      cancel: () => void (originCancelled = true),
    });
    const metered = meterResponse(stream, "text/event-stream", 200, options);
    const reader = metered.body.getReader();
    controller.enqueue(encoder.encode(firstEvents));
    await reader.read();
    await reader.cancel("client went away");
    expect(await metered.done).toMatchObject({ estimatedTokens: 102, source: "estimated", reason: "cut_short" });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(originCancelled).toBe(true);
  });

  it("keeps a usage that came before the hang-up", async () => {
    const { stream, controller } = controlledSource();
    const metered = meterResponse(stream, "text/event-stream", 200, options);
    const reader = metered.body.getReader();
    const beforeDone = withUsage.slice(0, withUsage.indexOf("data: [DONE]"));
    controller.enqueue(encoder.encode(beforeDone));
    await reader.read();
    metered.finish();
    expect(await metered.done).toMatchObject({ source: "reported", promptTokens: 12, completionTokens: 34 });
  });

  it("does not hold bytes back when it did not inject: each chunk can be read before the next is written", async () => {
    const { stream, controller } = controlledSource();
    const metered = meterResponse(stream, "text/event-stream", 200, { ...options, injected: false });
    const reader = metered.body.getReader();
    const bytes = encoder.encode(withUsage);
    // Cuts inside a line, inside "data:", inside a UTF-8 character, between CR and LF.
    for (let at = 0; at < bytes.length; at += 13) {
      const chunk = bytes.slice(at, at + 13);
      controller.enqueue(chunk);
      expect((await reader.read()).value).toEqual(chunk);
    }
    controller.close();
    expect((await reader.read()).done).toBe(true);
    expect(await metered.done).toMatchObject({ source: "reported" });
  });

  it("does not hold back a JSON answer either", async () => {
    const { stream, controller } = controlledSource();
    const metered = meterResponse(stream, "application/json", 200, options);
    const reader = metered.body.getReader();
    for (const part of ['{"choices":[', '{"x":1}],', '"usage":{"prompt_tokens":1,', '"completion_tokens":2}}']) {
      controller.enqueue(encoder.encode(part));
      expect(decoder.decode((await reader.read()).value)).toBe(part);
    }
    controller.close();
    await readAll(reader);
    expect(await metered.done).toMatchObject({ source: "reported", promptTokens: 1, completionTokens: 2 });
  });

  it("when it injected, passes complete lines at once and holds only a trailing partial line", async () => {
    const { stream, controller } = controlledSource();
    const metered = meterResponse(stream, "text/event-stream", 200, options);
    const reader = metered.body.getReader();
    controller.enqueue(encoder.encode('data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: {"cho'));
    expect(decoder.decode((await reader.read()).value)).toBe('data: {"choices":[{"delta":{"content":"a"}}]}\n\n');
    controller.enqueue(encoder.encode('ices":[],"usage":null}\n'));
    expect(decoder.decode((await reader.read()).value)).toBe('data: {"choices":[]}\n');
    controller.enqueue(encoder.encode("\n"));
    expect(decoder.decode((await reader.read()).value)).toBe("\n");
    controller.close();
    expect((await reader.read()).done).toBe(true);
  });
});
