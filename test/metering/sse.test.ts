/**
 * The meter on streamed answers: when keygate asked for usage, the client's bytes are exactly the stream the origin
 * writes without include_usage, however the bytes are cut into chunks, and the usage is counted exactly; when it did
 * not, every byte passes as it came.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MeterOptions } from "../../src/metering/response";
import {
  COMPLETION_TOKENS,
  CONTENTS,
  PROMPT_TOKENS,
  chatStream,
  cut,
  encoder,
  meter,
  responsesStream,
  sameBytes,
  type ChatShape,
} from "./streams";

const injected: MeterOptions = { route: "chat", injected: true, inputEstimate: 100 };
const notInjected: MeterOptions = { ...injected, injected: false };
const reported = { promptTokens: PROMPT_TOKENS, completionTokens: COMPLETION_TOKENS, estimatedTokens: 0, source: "reported", reason: null };

const SHAPES: Omit<ChatShape, "usage">[] = [
  { style: "compact", eol: "\n" },
  { style: "compact", eol: "\r\n" },
  { style: "python", eol: "\n" },
  { style: "python", eol: "\r\n" },
  { style: "compact", eol: "\n", usageAt: "first" },
  { style: "python", eol: "\r\n", usageAt: "first" },
];
/** The data events of a chat stream without usage, other than [DONE]: role, contents, stop. */
const EVENTS = CONTENTS.length + 2;

describe.each(SHAPES)("a chat stream (%o)", (shape) => {
  const withUsage = encoder.encode(chatStream({ ...shape, usage: true }));
  const withoutUsage = chatStream({ ...shape, usage: false });

  it("generator sanity: the two streams differ by the usage chunk and the null members", () => {
    expect(withUsage.length).toBeGreaterThan(withoutUsage.length);
    expect(withoutUsage).not.toContain('"usage": null');
    expect(withoutUsage).not.toContain('"usage":null');
  });

  it("hides the usage keygate asked for, cut at every byte boundary", async () => {
    for (let at = 0; at <= withUsage.length; at++) {
      const result = await meter(cut(withUsage, [at]), injected);
      if (result.text !== withoutUsage) expect({ at, text: result.text }).toEqual({ at, text: withoutUsage });
      if (result.usage.source !== "reported") expect({ at, usage: result.usage }).toEqual({ at, usage: reported });
    }
  });

  it("hides it when every byte is a chunk of its own", async () => {
    const bytes = [...withUsage.keys()];
    const result = await meter(cut(withUsage, bytes), injected);
    expect(result.text).toBe(withoutUsage);
    expect(result.usage).toEqual(reported);
  });

  it("hides it in random chunkings, cut twice or more anywhere", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.nat(withUsage.length), { minLength: 2, maxLength: 40 }), async (offsets) => {
        const result = await meter(cut(withUsage, offsets.sort((a, b) => a - b)), injected);
        expect(result.text).toBe(withoutUsage);
        expect(result.usage).toEqual(reported);
      }),
      { numRuns: 300 },
    );
  });

  it("passes a client's own include_usage through byte for byte, and counts it", async () => {
    for (let at = 0; at <= withUsage.length; at += 7) {
      const result = await meter(cut(withUsage, [at, at + 3]), notInjected);
      expect(result.bytes).toEqual(withUsage);
      expect(result.usage).toEqual(reported);
    }
  });

  it("estimates when the origin ignored include_usage, and passes its stream unchanged", async () => {
    const bytes = encoder.encode(withoutUsage);
    for (const options of [injected, notInjected]) {
      const result = await meter(cut(bytes, [5, 200, 201]), options);
      expect(result.text).toBe(withoutUsage);
      expect(result.usage).toEqual({
        promptTokens: 0,
        completionTokens: 0,
        estimatedTokens: 100 + EVENTS,
        source: "estimated",
        reason: "not_reported",
      });
    }
  });
});

/** A compact chat stream with the given usage value in its usage chunk. */
function withUsageValue(usage: string, done = true): Uint8Array {
  const text = chatStream({ usage: true, style: "compact", eol: "\n" }).replace(
    /"usage":\{"prompt_tokens":\d+,"completion_tokens":\d+,"total_tokens":\d+\}/,
    `"usage":${usage}`,
  );
  return encoder.encode(done ? text : text.replace("data: [DONE]\n\n", ""));
}

describe("the usage in a chat stream", () => {
  it("counts a usage chunk that came without [DONE]", async () => {
    const result = await meter([withUsageValue('{"prompt_tokens":5,"completion_tokens":6}', false)], injected);
    expect(result.usage).toMatchObject({ source: "reported", promptTokens: 5, completionTokens: 6 });
    expect(result.text).toBe(chatStream({ usage: false, style: "compact", eol: "\n" }).replace("data: [DONE]\n\n", ""));
  });

  it.each([
    ['{"prompt_tokens":-1,"completion_tokens":6}'],
    ['{"prompt_tokens":1.5,"completion_tokens":6}'],
    ['{"prompt_tokens":"5","completion_tokens":6}'],
    ['{"completion_tokens":6}'],
    ['{"prompt_tokens":5}'],
    ['{"prompt_tokens":100000001,"completion_tokens":6}'],
    ["[5,6]"],
    ['"5"'],
  ])("estimates, and says malformed, for usage %s (and still hides it)", async (usage) => {
    const result = await meter([withUsageValue(usage)], injected);
    expect(result.usage).toEqual({
      promptTokens: 0,
      completionTokens: 0,
      estimatedTokens: 100 + EVENTS + 1, // the usage chunk is an event too
      source: "estimated",
      reason: "malformed",
    });
    expect(result.text).toBe(chatStream({ usage: false, style: "compact", eol: "\n" }));
  });

  it("takes counts up to 100 million", async () => {
    const result = await meter([withUsageValue('{"prompt_tokens":100000000,"completion_tokens":0}')], notInjected);
    expect(result.usage).toMatchObject({ source: "reported", promptTokens: 100_000_000, completionTokens: 0 });
  });

  it("takes the last usage when the server sends it in every chunk (vLLM's continuous_usage_stats)", async () => {
    const chunk = (n: number) => `data: {"choices":[{"index":0,"delta":{"content":"x"}}],"usage":{"prompt_tokens":3,"completion_tokens":${n}}}\n\n`;
    const stream = chunk(1) + chunk(2) + chunk(3) + "data: [DONE]\n\n";
    const hidden = await meter([encoder.encode(stream)], injected);
    expect(hidden.usage).toMatchObject({ source: "reported", promptTokens: 3, completionTokens: 3 });
    // A content chunk keeps its content; the usage member the client did not ask for goes.
    expect(hidden.text).toBe('data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n'.repeat(3) + "data: [DONE]\n\n");
    const passed = await meter([encoder.encode(stream)], notInjected);
    expect(passed.text).toBe(stream);
  });

  it("drops the whole usage event, with its other fields, when the data line opens it", async () => {
    const stream = 'data: {"choices":[{"delta":{}}]}\n\ndata: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}\nid: 9\n\ndata: [DONE]\n\n';
    const result = await meter([encoder.encode(stream)], injected);
    expect(result.text).toBe('data: {"choices":[{"delta":{}}]}\n\ndata: [DONE]\n\n');
  });

  it("drops only the data line when the event began before it (an event with no data is not dispatched)", async () => {
    const stream = 'id: 9\ndata: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}\n\ndata: [DONE]\n\n';
    const result = await meter([encoder.encode(stream)], injected);
    expect(result.text).toBe("id: 9\n\ndata: [DONE]\n\n");
    expect(result.usage).toMatchObject({ promptTokens: 1, completionTokens: 2 });
  });

  it("reads lines ended by a lone CR (the SSE spec allows it), cut between every byte", async () => {
    const bare = chatStream({ usage: false, style: "compact", eol: "\n" }).replaceAll("\n", "\r");
    const bytes = encoder.encode(chatStream({ usage: true, style: "compact", eol: "\n" }).replaceAll("\n", "\r"));
    for (let at = 0; at <= bytes.length; at += 3) {
      const result = await meter(cut(bytes, [at]), injected);
      expect(result.text).toBe(bare);
      expect(result.usage.source).toBe("reported");
    }
  });

  it("reads a usage chunk whose last line has no line break", async () => {
    const stream = 'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}';
    const result = await meter([encoder.encode(stream.slice(0, 20)), encoder.encode(stream.slice(20))], notInjected);
    expect(result.usage).toMatchObject({ source: "reported", promptTokens: 1, completionTokens: 2 });
  });

  it("passes on, unread, a line longer than it keeps", async () => {
    const long = `data: {"choices":[{"delta":{"content":"${"a".repeat(5 * 1024 * 1024)}"}}],"usage":null}\n\n`;
    const bytes = encoder.encode(long + "data: [DONE]\n\n");
    for (const options of [injected, notInjected]) {
      const result = await meter(cut(bytes, [1000, 3_000_000, 5_000_000]), options);
      expect(sameBytes(result.bytes, bytes)).toBe(true);
      expect(result.usage).toMatchObject({ source: "estimated", estimatedTokens: 101, reason: "not_reported" });
    }
  });
});

describe("a /v1/responses stream", () => {
  const options: MeterOptions = { route: "responses", injected: false, inputEstimate: 10 };

  it("counts response.usage of the terminal event, and passes every byte, cut anywhere", async () => {
    const bytes = encoder.encode(responsesStream());
    for (let at = 0; at <= bytes.length; at += 5) {
      const result = await meter(cut(bytes, [at]), options);
      expect(result.bytes).toEqual(bytes);
      expect(result.usage).toEqual({ promptTokens: 21, completionTokens: 3, estimatedTokens: 0, source: "reported", reason: null });
    }
  });

  it("counts a response.incomplete event's usage too (the tokens were spent)", async () => {
    const result = await meter([encoder.encode(responsesStream({ input_tokens: 4, output_tokens: 9 }, "response.incomplete"))], options);
    expect(result.usage).toMatchObject({ source: "reported", promptTokens: 4, completionTokens: 9 });
  });

  it("estimates for a malformed or missing usage", async () => {
    const malformed = await meter([encoder.encode(responsesStream({ input_tokens: 4, output_tokens: -9 }))], options);
    expect(malformed.usage).toMatchObject({ source: "estimated", estimatedTokens: 10 + 6, reason: "malformed" });
    const missing = await meter([encoder.encode(responsesStream(null))], options);
    expect(missing.usage).toMatchObject({ source: "estimated", estimatedTokens: 10 + 6, reason: "not_reported" });
    // chat field names are not responses' field names
    const chatNames = await meter([encoder.encode(responsesStream({ prompt_tokens: 4, completion_tokens: 9 }))], options);
    expect(chatNames.usage).toMatchObject({ source: "estimated", reason: "malformed" });
  });
});
