/**
 * The request side of metering (src/metering/request.ts): which requests are metered, what is read from a body, and
 * include_usage turned on with every other byte as the client sent it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { meteredRoute, readMeteredRequest, type MeteredRoute } from "../../src/metering/request";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }); // a BOM is bytes to compare

function read(text: string, route: MeteredRoute = "chat", inject = true) {
  const reading = readMeteredRequest(route, encoder.encode(text), { inject });
  return { ...reading, text: decoder.decode(reading.body) };
}

describe("meteredRoute", () => {
  it.each([
    ["POST", "/v1/chat/completions", "chat"],
    ["POST", "/v1/completions", "completions"],
    ["POST", "/v1/embeddings", "embeddings"],
    ["POST", "/v1/responses", "responses"],
    ["GET", "/v1/chat/completions", null],
    ["post", "/v1/chat/completions", null],
    ["POST", "/v1/chat/completions/", null],
    ["POST", "/v1/Chat/Completions", null],
    ["POST", "/v1/models", null],
    ["POST", "/v1/responses/resp_1", null],
    ["POST", "/constructor", null],
  ])("%s %s → %s", (method, path, route) => {
    expect(meteredRoute(method, path)).toBe(route);
  });
});

describe("include_usage, turned on", () => {
  it("(a) adds stream_options first when there is none", () => {
    const result = read('{"model":"m","stream":true,"messages":[]}');
    expect(result.text).toBe('{"stream_options":{"include_usage":true},"model":"m","stream":true,"messages":[]}');
    expect(result).toMatchObject({ stream: true, injected: true });
  });

  it("(b) adds include_usage to a stream_options without it", () => {
    expect(read('{"stream":true,"stream_options":{}}').text).toBe('{"stream":true,"stream_options":{"include_usage":true}}');
    expect(read('{"stream":true,"stream_options":{"continuous_usage_stats":true}}').text).toBe(
      '{"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}}',
    );
    expect(read('{ "stream" : true , "stream_options" : { "x" : 1 } }').text).toBe(
      '{ "stream" : true , "stream_options" : {"include_usage":true, "x" : 1 } }',
    );
    expect(read('{"stream":true,"stream_options":{ }}').text).toBe('{"stream":true,"stream_options":{"include_usage":true }}');
  });

  it.each(["false", "null", "0", '"true"', "{}", "[]"])("(c) replaces include_usage %s with true", (value) => {
    const result = read(`{"stream":true,"stream_options":{"include_usage": ${value} ,"x":1}}`);
    expect(result.text).toBe('{"stream":true,"stream_options":{"include_usage": true ,"x":1}}');
    expect(result.injected).toBe(true);
  });

  it("(d) leaves a body that asks for usage already as it is", () => {
    const text = '{"stream":true,"stream_options":{"include_usage":true}}';
    expect(read(text)).toMatchObject({ text, injected: false, stream: true });
  });

  it.each(["null", '"x"', "[]", "1", "true"])("leaves stream_options %s (not an object) as it is", (value) => {
    const text = `{"stream":true,"stream_options":${value}}`;
    expect(read(text)).toMatchObject({ text, injected: false });
  });

  it("forwards every other byte as sent: numbers, escapes, whitespace, order", () => {
    const rest = '\n\t"temperature" :1.0 ,"n":1e400,"seed":18446744073709551615,"x":-0,' +
      '"messages":[{"content":"\\u00e9\\ud83d\\ude00 é 😀 \\"stream\\":false"}],\r\n"stream"\t:\ttrue }';
    expect(read(`{${rest}`).text).toBe(`{"stream_options":{"include_usage":true},${rest}`);
    const nested = `  {"stream_options" :{"a":[1.10,{"include_usage":false}]},${rest}  `;
    expect(read(nested).text).toBe(`  {"stream_options" :{"include_usage":true,"a":[1.10,{"include_usage":false}]},${rest}  `);
  });

  it("only for a streamed chat or completion, when asked to, and when stream is exactly true", () => {
    for (const route of ["embeddings", "responses"] as const) {
      expect(read('{"stream":true}', route)).toMatchObject({ text: '{"stream":true}', injected: false, stream: true });
    }
    expect(read('{"stream":true}', "completions").injected).toBe(true);
    expect(read('{"stream":true}', "chat", false)).toMatchObject({ text: '{"stream":true}', injected: false, stream: true });
    for (const value of ["false", '"true"', "1", "null", "[true]"]) {
      expect(read(`{"stream":${value}}`)).toMatchObject({ text: `{"stream":${value}}`, injected: false, stream: false });
    }
  });

  it("reads keys as Go's encoding/json does: any case, escapes, folding, the last duplicate", () => {
    expect(read('{"Stream":true}').text).toBe('{"stream_options":{"include_usage":true},"Stream":true}');
    expect(read('{"str\\u0065am":true}').injected).toBe(true);
    expect(read('{"\u017ftream":true}').injected).toBe(true); // ſ folds to s
    expect(read('{"stream":true,"STREAM":false}')).toMatchObject({ stream: false, injected: false });
    expect(read('{"stream":false,"sTrEaM":true}').stream).toBe(true);
    // A case variant of stream_options is the client's stream_options.
    const asked = '{"stream":true,"Stream_Options":{"INCLUDE_USAGE":true}}';
    expect(read(asked)).toMatchObject({ text: asked, injected: false });
    expect(read('{"stream":true,"STREAM_OPTIONS":{"Include_Usage":false}}').text).toBe(
      '{"stream":true,"STREAM_OPTIONS":{"Include_Usage":true}}',
    );
    expect(read('{"stream":true,"stream_\\u006fptions":{}}').text).toBe('{"stream":true,"stream_\\u006fptions":{"include_usage":true}}');
    expect(read('{"stream":true,"stream_options ":{}}').text).toBe(
      '{"stream_options":{"include_usage":true},"stream":true,"stream_options ":{}}',
    );
  });

  it("reads duplicates as origins do (the last), and turns every stream_options object on", () => {
    // The last include_usage is true: the client asked.
    const asked = '{"stream":true,"stream_options":{"include_usage":false,"include_usage":true}}';
    expect(read(asked)).toMatchObject({ text: asked, injected: false });
    expect(read('{"stream":true,"stream_options":{"include_usage":true},"stream_options":{}}').text).toBe(
      '{"stream":true,"stream_options":{"include_usage":true},"stream_options":{"include_usage":true}}',
    );
    expect(read('{"stream":true,"stream_options":{"include_usage":false},"stream_options":{"x":1}}').text).toBe(
      '{"stream":true,"stream_options":{"include_usage":true},"stream_options":{"include_usage":true,"x":1}}',
    );
    // The last stream_options is not an object: the client's choice stands.
    const last = '{"stream":true,"stream_options":{},"stream_options":null}';
    expect(read(last)).toMatchObject({ text: last, injected: false });
  });

  it("turns it on in any object, and JSON.parse agrees; only the inserted bytes differ", () => {
    const member = fc.tuple(
      fc.string({ maxLength: 8 }).filter((k) => !["stream", "stream_options"].includes(k.toLowerCase().replaceAll("ſ", "s"))),
      fc.jsonValue({ maxDepth: 3 }),
    );
    fc.assert(
      fc.property(fc.array(member, { maxLength: 5 }), fc.nat(5), fc.boolean(), (members, at, spaced) => {
        const ws = spaced ? " " : "";
        const texts = members.map(([k, v]) => `${JSON.stringify(k)}:${ws}${JSON.stringify(v)}`);
        texts.splice(Math.min(at, texts.length), 0, `"stream":${ws}true`);
        const input = `{${ws}${texts.join(`,${ws}`)}${ws}}`;
        const result = read(input);
        expect(result.injected).toBe(true);
        expect(result.text).toBe(`{"stream_options":{"include_usage":true},${input.slice(1)}`);
        expect(JSON.parse(result.text)).toEqual({ ...JSON.parse(input), stream_options: { include_usage: true } });
      }),
      { numRuns: 1000 },
    );
  });
});

describe("what a body says", () => {
  it.each([
    ["not json"],
    [""],
    ["[1,2]"],
    ['"stream"'],
    ['{"stream":true,}'],
    ['{"stream":true} {}'],
    ['\ufeff{"stream":true}'],
    ['{"stream":NaN}'],
    ['{"stream":true'],
  ])("forwards %j unchanged and reads nothing from it", (text) => {
    const result = read(text);
    expect(result).toMatchObject({ text, stream: false, maxTokens: null, injected: false });
    expect(result.inputEstimate).toBe(Math.ceil(encoder.encode(text).length / 4));
  });

  it("forwards bytes that are not UTF-8 unchanged", () => {
    const body = new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]);
    const result = readMeteredRequest("chat", body, { inject: true });
    expect(result).toMatchObject({ stream: false, maxTokens: null, inputEstimate: 2, body, injected: false, bounded: false });
  });

  it("estimates the input at a token per 4 bytes, rounded up", () => {
    expect(read('{"a":1}').inputEstimate).toBe(2);
    expect(read('{"a":12}').inputEstimate).toBe(2);
    expect(read('{"a":123}').inputEstimate).toBe(3);
    // The estimate is of what the client sent, not of the injected body.
    expect(read('{"stream":true}').inputEstimate).toBe(4);
  });

  it.each([
    ['{"max_tokens":100}', "chat", 100],
    ['{"max_completion_tokens":100}', "chat", 100],
    ['{"max_tokens":50,"max_completion_tokens":80}', "chat", 80],
    ['{"max_completion_tokens":80,"max_tokens":500}', "completions", 500],
    ['{"max_tokens":500,"max_tokens":7}', "chat", 500],
    ['{"MAX_TOKENS":9}', "chat", 9],
    ['{"max_to\\u212aens":9}', "chat", 9], // the Kelvin sign folds to k
    ['{"max_tokens":1e2}', "chat", 100],
    ['{"max_tokens":100.0}', "chat", 100],
    ['{"max_tokens":0}', "chat", null],
    ['{"max_tokens":-5}', "chat", null],
    ['{"max_tokens":1.5}', "chat", null],
    ['{"max_tokens":"100"}', "chat", null],
    ['{"max_tokens":null}', "chat", null],
    ['{"max_tokens":9007199254740992}', "chat", null],
    ['{"max_tokens":9007199254740991}', "chat", 9007199254740991],
    [`{"max_tokens":1${"0".repeat(40)}}`, "chat", null],
    ['{"max_tokens":-5,"max_completion_tokens":3}', "chat", 3],
    ['{"max_output_tokens":64}', "responses", 64],
    ['{"max_tokens":64}', "responses", null],
    ['{"max_output_tokens":64}', "chat", null],
    ['{"max_tokens":64}', "embeddings", null],
    ['{"messages":[{"max_tokens":64}]}', "chat", null],
  ] as const)("%s on %s: maxTokens %s", (text, route, maxTokens) => {
    expect(read(text, route).maxTokens).toBe(maxTokens);
  });
});

describe("what bounds the output (a hard budget's reservation)", () => {
  const text = (reading: { body: Uint8Array }) => new TextDecoder().decode(reading.body);
  const bounded = (body: string, route: MeteredRoute = "chat", capOutput: number | null = null) =>
    readMeteredRequest(route, new TextEncoder().encode(body), { inject: false, capOutput });

  it("counts the answers asked for: n, and best_of for completions", () => {
    expect(bounded('{"n":3,"max_tokens":10}')).toMatchObject({ choices: 3, maxTokens: 10, bounded: true });
    expect(bounded('{"n":2,"best_of":5}', "completions")).toMatchObject({ choices: 5, bounded: true });
    expect(bounded('{"best_of":5}', "chat")).toMatchObject({ choices: 1, bounded: true });
    expect(bounded("{}")).toMatchObject({ choices: 1, maxTokens: null, bounded: true, problem: null });
  });

  it("names the field that does not bound it", () => {
    expect(bounded('{"max_tokens":"50000"}')).toMatchObject({ bounded: false, problem: { field: "max_tokens" } });
    expect(bounded('{"max_output_tokens":-1}', "responses")).toMatchObject({ bounded: false, problem: { field: "max_output_tokens" } });
    expect(bounded('{"n":0}')).toMatchObject({ bounded: false, problem: { field: "n" } });
    expect(bounded('{"max_tokens": NaN}')).toMatchObject({ bounded: false, problem: { field: null } });
  });

  it("writes the cap into a body that names none, or names null, byte for byte otherwise", () => {
    expect(text(bounded('{"messages": [1.0]}', "chat", 300))).toBe('{"max_tokens":300,"messages": [1.0]}');
    expect(text(bounded("{}", "chat", 300))).toBe('{"max_tokens":300}');
    expect(text(bounded('{"input":"x","max_output_tokens": null}', "responses", 300))).toBe('{"input":"x","max_output_tokens": 300}');
    expect(bounded('{"max_tokens":20}', "chat", 300)).toMatchObject({ maxTokens: 20 });
    expect(text(bounded('{"max_tokens":20}', "chat", 300))).toBe('{"max_tokens":20}');
    expect(text(bounded('{"input":"x"}', "embeddings", 300))).toBe('{"input":"x"}');
    // Not bounded: left as sent (the caller refuses it).
    expect(text(bounded('{"max_tokens":"5"}', "chat", 300))).toBe('{"max_tokens":"5"}');
  });

  it("writes the cap and asks for usage in one body", () => {
    const reading = readMeteredRequest("chat", new TextEncoder().encode('{"stream":true}'), { inject: true, capOutput: 7 });
    expect(text(reading)).toBe('{"max_tokens":7,"stream_options":{"include_usage":true},"stream":true}');
    expect(reading).toMatchObject({ injected: true, maxTokens: 7 });
  });
});

describe("a reading for the stream only (no hard budget)", () => {
  const streamOnly = (text: string) => readMeteredRequest("chat", new TextEncoder().encode(text), { inject: true, streamOnly: true });

  it("skips a body in which no key can spell stream, and reads one that may", () => {
    expect(streamOnly('{"model":"m","max_tokens":5}')).toMatchObject({ stream: false, maxTokens: null, bounded: false, injected: false });
    for (const body of ['{"stream":true}', '{"STREAM":true}', '{"ſtream":true}', '{"str\\u0065am":true}']) {
      expect(streamOnly(body), body).toMatchObject({ stream: true, injected: true });
    }
    // Mentioned in a value only: scanned, and not a stream.
    expect(streamOnly('{"messages":[{"content":"a stream of text"}]}')).toMatchObject({ stream: false, injected: false });
  });
});

describe("the cap written for a hard budget is one every origin reads", () => {
  const capped = (body: string) =>
    new TextDecoder().decode(readMeteredRequest("chat", new TextEncoder().encode(body), { inject: false, capOutput: 300 }).body);

  it("adds the cap spelled exactly when the body's only cap is in another case", () => {
    expect(capped('{"Max_Tokens":5}')).toBe('{"max_tokens":5,"Max_Tokens":5}');
    expect(capped('{"MAX_TOKENS":null}')).toBe('{"max_tokens":300,"MAX_TOKENS":300}');
    expect(capped('{"max_tokens":null,"Max_Tokens":7}')).toBe('{"max_tokens":7,"Max_Tokens":7}');
    expect(capped('{"max_completion_tokens":9}')).toBe('{"max_completion_tokens":9}');
  });
});

describe("what else a hard budget must read", () => {
  const reading = (route: MeteredRoute, body: string) =>
    readMeteredRequest(route, new TextEncoder().encode(body), { inject: false, capOutput: 300 });
  const text = (route: MeteredRoute, body: string) => new TextDecoder().decode(reading(route, body).body);

  it("llama.cpp's n_predict caps the output too: read, and overwritten when null", () => {
    expect(reading("chat", '{"max_tokens":10,"n_predict":100000}')).toMatchObject({ maxTokens: 100000, bounded: true });
    expect(reading("chat", '{"n_predict":-1}')).toMatchObject({ bounded: false, problem: { field: "n_predict" } });
    expect(text("chat", '{"n_predict":null}')).toBe('{"max_tokens":300,"n_predict":300}');
    // Alone, it is not a cap every origin reads: max_tokens is added beside it.
    expect(text("completions", '{"n_predict":20}')).toBe('{"max_tokens":20,"n_predict":20}');
  });

  it("a completions prompt list gets an answer for each prompt", () => {
    expect(reading("completions", '{"prompt":["a","b","c"],"max_tokens":9,"n":2}')).toMatchObject({ choices: 6 });
    expect(reading("completions", '{"prompt":[[1],[2]],"max_tokens":9}')).toMatchObject({ choices: 2 });
    expect(reading("completions", '{"prompt":[1,2,3],"max_tokens":9}')).toMatchObject({ choices: 1 });
    expect(reading("completions", '{"prompt":"one","max_tokens":9}')).toMatchObject({ choices: 1 });
  });

  it("a background response, or input the body does not hold, cannot be bounded", () => {
    for (const field of ["background", "previous_response_id", "conversation", "prompt"]) {
      const value = field === "background" ? "true" : '"x"';
      expect(reading("responses", `{"input":"x","${field}":${value}}`)).toMatchObject({ bounded: false, problem: { field } });
    }
    expect(reading("responses", '{"input":"x","background":false,"previous_response_id":null}')).toMatchObject({ bounded: true });
  });
});
