/**
 * The meter on answers that are not streamed: usage read from a bounded tail of the body, the body untouched.
 */
import { describe, expect, it } from "vitest";
import { lastUsageObject, TAIL_BYTES } from "../../src/metering/json-tail";
import type { MeterOptions } from "../../src/metering/response";
import { cut, decoder, encoder, meter, sameBytes } from "./streams";

const chat: MeterOptions = { route: "chat", injected: false, inputEstimate: 50 };
const json = "application/json";

async function meterText(text: string, options: MeterOptions = chat, offsets: number[] = []) {
  const bytes = encoder.encode(text);
  const result = await meter(cut(bytes, offsets), options, json);
  expect(sameBytes(result.bytes, bytes)).toBe(true);
  return result.usage;
}

const completion = (usage: string) =>
  `{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":${usage},"system_fingerprint":"fp_1"}`;

describe("a JSON answer", () => {
  it("counts its usage, cut anywhere", async () => {
    const text = completion('{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":0}}');
    for (let at = 0; at <= text.length; at += 3) {
      expect(await meterText(text, chat, [at])).toEqual({
        promptTokens: 9,
        completionTokens: 2,
        estimatedTokens: 0,
        source: "reported",
        reason: null,
      });
    }
  });

  it("reads usage written Python's way, and after other members", async () => {
    const usage = await meterText('{"usage": {"prompt_tokens": 4, "completion_tokens": 5}, "id": "x"}', { ...chat, route: "completions" });
    expect(usage).toMatchObject({ source: "reported", promptTokens: 4, completionTokens: 5 });
  });

  it("finds the usage of a multi-megabyte embeddings answer in its tail", async () => {
    const vector = Array.from({ length: 1536 }, (_, k) => (Math.sin(k) / 3).toFixed(9)).join(",");
    const data = Array.from({ length: 200 }, (_, k) => `{"object":"embedding","index":${k},"embedding":[${vector}]}`).join(",");
    const text = `{"object":"list","data":[${data}],"model":"e","usage":{"prompt_tokens":640,"total_tokens":640}}`;
    expect(text.length).toBeGreaterThan(2_000_000);
    const offsets = Array.from({ length: Math.floor(text.length / 16384) }, (_, k) => (k + 1) * 16384 + (k % 7));
    const usage = await meterText(text, { ...chat, route: "embeddings" }, offsets);
    expect(usage).toEqual({ promptTokens: 640, completionTokens: 0, estimatedTokens: 0, source: "reported", reason: null });
  });

  it("finds it in one chunk larger than the tail", async () => {
    const text = `{"data":"${"x".repeat(3 * TAIL_BYTES)}","usage":{"prompt_tokens":1,"completion_tokens":2}}`;
    expect(await meterText(text)).toMatchObject({ source: "reported", promptTokens: 1, completionTokens: 2 });
  });

  it("estimates when the usage is further from the end than the tail", async () => {
    const text = `{"usage":{"prompt_tokens":1,"completion_tokens":2},"data":"${"x".repeat(3 * TAIL_BYTES)}"}`;
    expect(await meterText(text, chat, [1000, 40000, 100000])).toEqual({
      promptTokens: 0,
      completionTokens: 0,
      estimatedTokens: 50 + Math.ceil(text.length / 4),
      source: "estimated",
      reason: "not_reported",
    });
  });

  it("is not fooled by usage written inside a string", async () => {
    const content = JSON.stringify('the "usage": {"prompt_tokens": 999, "completion_tokens": 999} \\"usage": {} {"usage":{}}');
    const text = `{"usage":{"prompt_tokens":3,"completion_tokens":4},"choices":[{"message":{"content":${content}}}],"note":"usage"}`;
    expect(await meterText(text)).toMatchObject({ source: "reported", promptTokens: 3, completionTokens: 4 });
  });

  it("takes the last usage object, past a later usage that is null", async () => {
    const text = '{"usage":{"prompt_tokens":3,"completion_tokens":4},"extra":{"usage":null}}';
    expect(await meterText(text)).toMatchObject({ source: "reported", promptTokens: 3, completionTokens: 4 });
  });

  it("counts /v1/responses usage by its own names", async () => {
    const text = '{"id":"resp_1","object":"response","output":[],"usage":{"input_tokens":5,"input_tokens_details":{"cached_tokens":0},"output_tokens":7,"total_tokens":12},"user":null}';
    expect(await meterText(text, { ...chat, route: "responses" })).toMatchObject({ source: "reported", promptTokens: 5, completionTokens: 7 });
    expect(await meterText(text, chat)).toMatchObject({ source: "estimated", reason: "malformed" });
  });

  it.each([
    '{"prompt_tokens":-1,"completion_tokens":2}',
    '{"prompt_tokens":1,"completion_tokens":2.5}',
    '{"prompt_tokens":"1","completion_tokens":2}',
    '{"completion_tokens":2}',
    '{"prompt_tokens":1}',
    '{"prompt_tokens":100000001,"completion_tokens":2}',
    '{"prompt_tokens":1e400,"completion_tokens":2}',
  ])("estimates, and says malformed, for usage %s", async (value) => {
    const text = completion(value);
    expect(await meterText(text)).toEqual({
      promptTokens: 0,
      completionTokens: 0,
      estimatedTokens: 50 + Math.ceil(text.length / 4),
      source: "estimated",
      reason: "malformed",
    });
  });

  it("estimates an answer with no usage, or a body that is not JSON at all", async () => {
    expect(await meterText(completion("null"))).toMatchObject({ source: "estimated", reason: "not_reported" });
    expect(await meterText("plain text", chat)).toEqual({
      promptTokens: 0,
      completionTokens: 0,
      estimatedTokens: 50 + 3,
      source: "estimated",
      reason: "not_reported",
    });
    // a usage object cut short is no report
    expect(await meterText('{"usage":{"prompt_tokens":1,"completion_tokens":2')).toMatchObject({ reason: "not_reported" });
  });
});

describe("lastUsageObject", () => {
  const find = (text: string) => {
    const found = lastUsageObject(encoder.encode(text));
    return found === null ? null : decoder.decode(found);
  };

  it("cuts out the object, braces inside strings and all", () => {
    expect(find('{"usage" :\n {"a":"}{\\"}","b":{"c":1}} ,"x":1}')).toBe('{"a":"}{\\"}","b":{"c":1}}');
  });

  it("skips a quote that is escaped, or may be (a backslash run reaching the start of the tail)", () => {
    expect(find('"\\"usage":{"a":1}')).toBeNull();
    expect(find('\\\\"usage":{"a":1}')).toBeNull();
    expect(find('x\\\\\\"usage":{"a":1}')).toBeNull();
    expect(find('x"usage":{"a":1}')).toBe('{"a":1}');
    expect(find('"usage":{"a":1}')).toBeNull();
  });
});
