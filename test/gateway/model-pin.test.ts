/**
 * The model pin's scanner (src/gateway/model-pin.ts), property-tested: it accepts exactly what JSON.parse accepts as
 * an object, replaces only the top-level `model` value byte for byte, and handles any nesting without recursion.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pinModel } from "../../src/gateway/model-pin";

const RUNS = 3000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const pin = (text: string, model = "m") => pinModel(encoder.encode(text), model);

/** JSON text with random insignificant whitespace, built from any JSON value. */
function spaced(value: unknown, ws: () => string): string {
  if (Array.isArray(value)) return `[${ws()}${value.map((v) => spaced(v, ws)).join(`${ws()},${ws()}`)}${ws()}]`;
  if (value !== null && typeof value === "object") {
    const members = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}${ws()}:${ws()}${spaced(v, ws)}`);
    return `{${ws()}${members.join(`${ws()},${ws()}`)}${ws()}}`;
  }
  return JSON.stringify(value);
}

const whitespace = fc.array(fc.constantFrom("", " ", "\n", "\t", "\r\n "), { minLength: 64, maxLength: 64 });
/** Keys that are not a model member in any case (`Model`, `MODEL` are: Go's decoder matches them). */
const otherKey = fc.string({ maxLength: 8 }).filter((k) => k.toLowerCase() !== "model");
const member = fc.tuple(otherKey, fc.jsonValue({ maxDepth: 4 }));

describe("pinModel", () => {
  it("replaces only the top-level model value; every other byte stays", () => {
    fc.assert(
      fc.property(
        fc.array(member, { maxLength: 6 }),
        fc.jsonValue({ maxDepth: 3 }),
        fc.nat(6),
        whitespace,
        fc.string({ maxLength: 20 }),
        (members, modelValue, at, spaces, model) => {
          let n = 0;
          const ws = () => spaces[n++ % spaces.length]!;
          const texts = members.map(([k, v]) => `${JSON.stringify(k)}${ws()}:${ws()}${spaced(v, ws)}`);
          const modelText = spaced(modelValue, ws);
          texts.splice(Math.min(at, texts.length), 0, `"model"${ws()}:${ws()}${modelText}`);
          const input = `${ws()}{${ws()}${texts.join(`${ws()},${ws()}`)}${ws()}}${ws()}`;
          const result = pin(input, model);
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          const output = decoder.decode(result.body);
          const start = input.indexOf(`"model"`) ;
          const valueAt = input.indexOf(modelText, start + 7);
          expect(output).toBe(input.slice(0, valueAt) + JSON.stringify(model) + input.slice(valueAt + modelText.length));
          expect(JSON.parse(output)).toEqual({ ...JSON.parse(input), model });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("adds the model to an object that has none, and JSON.parse agrees", () => {
    fc.assert(
      fc.property(fc.dictionary(otherKey.filter((k) => k !== "__proto__"), fc.jsonValue({ maxDepth: 3 })), (object) => {
        const text = JSON.stringify(object);
        const result = pin(text);
        expect(result.ok).toBe(true);
        if (result.ok) expect(JSON.parse(decoder.decode(result.body))).toEqual({ ...JSON.parse(text), model: "m" });
      }),
      { numRuns: RUNS },
    );
  });

  it("accepts exactly the texts JSON.parse reads as an object (strict JSON, nothing lenient)", () => {
    const fragment = fc.constantFrom(
      "{", "}", "[", "]", ",", ":", '"model"', '"a"', "1", "-0", "1.0", "1e5", "01", "1.", ".5", "+1", "NaN", "Infinity",
      "true", "false", "null", "nul", " ", "\n", "\u00a0", "\ufeff", '"\\u00e9"', '"\\x41"', '"\\u12"', '"\t"', "'a'", "/*c*/",
    );
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 14 }), (parts) => {
        const text = parts.join("");
        let parsed: unknown;
        let parses = true;
        try {
          parsed = JSON.parse(text);
        } catch {
          parses = false;
        }
        const isObject = parses && typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
        // An empty body is the one thing besides an object that passes: there is no model to choose in it.
        expect(pin(text).ok, JSON.stringify(text)).toBe(isObject || text === "");
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it("refuses bytes that are not UTF-8, and a UTF-8 byte-order mark", () => {
    expect(pinModel(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), "m")).toMatchObject({ ok: false });
    expect(pin('\ufeff{"model":"a"}')).toMatchObject({ ok: false, problem: "is not a JSON object" });
  });

  it("handles adversarial nesting in one pass, without recursion", () => {
    const depth = 1_000_000;
    const deep = `{"model":"x","a":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    const result = pin(deep);
    expect(result.ok).toBe(true);
    const objects = `{"model":"x","a":${'{"b":'.repeat(depth)}1${"}".repeat(depth)}}`;
    expect(pin(objects).ok).toBe(true);
    expect(pin(`{"a":${"[".repeat(depth)}`)).toMatchObject({ ok: false, problem: "ends early" });
  });

  it("replaces a model member in any case, as Go's encoding/json would read it, and adds the exact spelling", () => {
    const out = (text: string) => {
      const result = pin(text, "pinned");
      if (!result.ok) throw new Error(result.problem);
      return decoder.decode(result.body);
    };
    expect(out('{"Model":"big","messages":[]}')).toBe('{"model":"pinned","Model":"pinned","messages":[]}');
    expect(out('{"model":"x","MODEL":"big"}')).toBe('{"model":"pinned","MODEL":"pinned"}');
    expect(out('{"mOdEl":1}')).toBe('{"model":"pinned","mOdEl":"pinned"}');
    expect(out('{"MOD\\u0045L":"big"}')).toBe('{"model":"pinned","MOD\\u0045L":"pinned"}');
    // Whatever Go picks (the last case-insensitive match) and whatever an exact-match parser picks: the pinned one.
    for (const text of ['{"Model":"a"}', '{"model":"a","Model":"b","MODEL":"c"}', '{"x":{"Model":"inner"},"MoDeL":"b"}']) {
      const parsed = JSON.parse(out(text)) as Record<string, unknown>;
      const modelKeys = Object.keys(parsed).filter((k) => k.toLowerCase() === "model");
      expect(modelKeys).toContain("model");
      for (const k of modelKeys) expect(parsed[k]).toBe("pinned");
    }
  });

  it("leaves an empty body empty", () => {
    expect(pinModel(new Uint8Array(0), "m")).toEqual({ ok: true, body: new Uint8Array(0) });
  });
});
