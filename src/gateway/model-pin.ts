/**
 * The model pin (docs/api.md, "The model pin"): on a deployment with `model` set, a request body is either empty or
 * a strict UTF-8 JSON object (RFC 8259) whose top-level `model` is replaced by the deployment's — anything else is
 * refused, whatever its Content-Type says, because origins parse bodies by their own rules (FastAPI reads a
 * `text/plain` body as JSON; Python's json takes `NaN`; some parsers take trailing commas).
 *
 * "Top-level `model`" is read the way the most lenient origin reads it: Go's encoding/json (Ollama, LocalAI) matches
 * keys case-insensitively and takes the last match, so `Model` and `MODEL` are model members too. Every such member's
 * value is replaced; when none is spelled exactly `model`, that member is added first, for origins that match exactly.
 *
 * This is a scanner over the bytes, not parse-and-stringify: every byte other than the `model` value is forwarded as
 * sent (`18446744073709551615`, `1.0`, `-0` and `1e400` stay what they were), and the cost is one pass, linear in the
 * size whatever the nesting, with an explicit stack instead of recursion (a body nested five million levels deep
 * is a few milliseconds of scanning, not seconds of JSON.parse and stringify).
 */

export type PinResult = { ok: true; body: Uint8Array } | { ok: false; problem: string };

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

// Bytes of the JSON grammar.
const SPACE = 0x20, TAB = 0x09, LF = 0x0a, CR = 0x0d;
const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, COLON = 0x3a, MINUS = 0x2d, PLUS = 0x2b, DOT = 0x2e;
const LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, RBRACKET = 0x5d;
const ZERO = 0x30, NINE = 0x39, LOWER_E = 0x65, UPPER_E = 0x45, LOWER_U = 0x75;

/** What the scanner expects next. */
const enum Expect {
  Value,
  KeyOrEnd, // just after "{"
  Key, // after "," in an object
  Colon,
  CommaOrEndOfObject,
  ValueOrEnd, // just after "["
  CommaOrEndOfArray,
}

const OBJECT = 1;
const ARRAY = 2;

/** The longest key spelling that can still mean "model": each letter as a \u escape, in quotes. */
const MAX_MODEL_KEY_BYTES = 2 + 5 * 6;

/** @returns the body to forward, or why it cannot carry a pinned model (a phrase: "is not valid UTF-8") */
export function pinModel(body: Uint8Array, model: string): PinResult {
  if (body.byteLength === 0) return { ok: true, body };
  try {
    utf8.decode(body); // RFC 8259 §8.1: UTF-8 only. fatal: invalid sequences throw; a BOM is refused below.
  } catch {
    return { ok: false, problem: "is not valid UTF-8" };
  }
  const scanned = scanObject(body);
  if (typeof scanned === "string") return { ok: false, problem: scanned };
  return { ok: true, body: withModel(body, scanned, JSON.stringify(model)) };
}

interface Scanned {
  /** Offset just after the top-level "{". */
  open: number;
  /** Whether some top-level key is exactly `model` (else one is added). */
  exact: boolean;
  /** Whether the top-level object has any member. */
  empty: boolean;
  /** Byte ranges [start, end) of every top-level model value (any case; a duplicate key is replaced too). */
  models: [number, number][];
}

function withModel(body: Uint8Array, scanned: Scanned, modelJson: string): Uint8Array {
  const value = encoder.encode(modelJson);
  const parts: Uint8Array[] = [];
  let at = 0;
  if (!scanned.exact) {
    // No member spelled `model`: add one first, so no origin falls back to a default of its own.
    parts.push(body.subarray(0, scanned.open), encoder.encode(`"model":${modelJson}${scanned.empty ? "" : ","}`));
    at = scanned.open;
  }
  for (const [start, end] of scanned.models) {
    parts.push(body.subarray(at, start), value);
    at = end;
  }
  parts.push(body.subarray(at));
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function isSpace(c: number | undefined): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

/** One pass over a strict JSON text that must be an object; an error phrase when it is not one. */
function scanObject(b: Uint8Array): Scanned | string {
  let i = 0;
  while (isSpace(b[i])) i++;
  if (b[i] !== LBRACE) return "is not a JSON object";
  const open = i + 1;
  const models: [number, number][] = [];
  // The open containers, innermost last. Grows by doubling; one byte per level.
  let stack = new Uint8Array(64);
  let depth = 0;
  let expect: Expect = Expect.Value;
  // For a top-level member: where its value starts, and whether its key is "model".
  let memberIsModel = false;
  let exact = false;
  let valueStart = -1;
  let empty = true;

  for (;;) {
    while (isSpace(b[i])) i++;
    if (i >= b.length) return "ends early";
    const c = b[i]!;
    switch (expect) {
      case Expect.Value:
      case Expect.ValueOrEnd: {
        if (expect === Expect.ValueOrEnd && c === RBRACKET) {
          i++;
          depth--;
          break; // the array (a value) ended: fall to "after a value" below
        }
        if (depth === 1) valueStart = i;
        if (c === LBRACE || c === LBRACKET) {
          if (depth === stack.length) {
            const grown = new Uint8Array(stack.length * 2);
            grown.set(stack);
            stack = grown;
          }
          stack[depth++] = c === LBRACE ? OBJECT : ARRAY;
          i++;
          expect = c === LBRACE ? Expect.KeyOrEnd : Expect.ValueOrEnd;
          continue;
        }
        const end = scanScalar(b, i);
        if (end < 0) return "is not strict JSON";
        i = end;
        break; // a scalar ended
      }
      case Expect.KeyOrEnd:
      case Expect.Key: {
        if (expect === Expect.KeyOrEnd && c === RBRACE) {
          i++;
          depth--;
          break; // the object ended
        }
        if (c !== QUOTE) return "is not strict JSON";
        const end = scanString(b, i);
        if (end < 0) return "is not strict JSON";
        if (depth === 1) {
          empty = false;
          const key = end - i <= MAX_MODEL_KEY_BYTES ? (JSON.parse(utf8.decode(b.subarray(i, end))) as string) : "";
          memberIsModel = key.toLowerCase() === "model";
          exact ||= key === "model";
        }
        i = end;
        expect = Expect.Colon;
        continue;
      }
      case Expect.Colon:
        if (c !== COLON) return "is not strict JSON";
        i++;
        expect = Expect.Value;
        continue;
      case Expect.CommaOrEndOfObject:
      case Expect.CommaOrEndOfArray: {
        const inObject: boolean = expect === Expect.CommaOrEndOfObject;
        if (c === COMMA) {
          i++;
          expect = inObject ? Expect.Key : Expect.Value;
          continue;
        }
        if (c !== (inObject ? RBRACE : RBRACKET)) return "is not strict JSON";
        i++;
        depth--;
        break; // the container ended
      }
    }
    // A value has just ended at i (a scalar, or a container whose closing byte was just read).
    if (depth === 0) {
      while (isSpace(b[i])) i++;
      return i === b.length ? { open, exact, empty, models } : "has more after the JSON object";
    }
    if (depth === 1 && memberIsModel && stack[0] === OBJECT) {
      models.push([valueStart, i]);
      memberIsModel = false;
    }
    expect = stack[depth - 1] === OBJECT ? Expect.CommaOrEndOfObject : Expect.CommaOrEndOfArray;
  }
}

/** The end of the string, number or literal at `i`, or -1 when there is none there. */
function scanScalar(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === QUOTE) return scanString(b, i);
  if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) return scanNumber(b, i);
  for (const literal of LITERALS) {
    if (c === literal[0] && literal.every((byte, k) => b[i + k] === byte)) return i + literal.length;
  }
  return -1;
}

const LITERALS = ["true", "false", "null"].map((word) => [...word].map((ch) => ch.charCodeAt(0)));

/** RFC 8259 §7: no raw control characters; escapes are \" \\ \/ \b \f \n \r \t or \u and four hex digits. */
function scanString(b: Uint8Array, i: number): number {
  for (let j = i + 1; j < b.length; j++) {
    const c = b[j]!;
    if (c === QUOTE) return j + 1;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      const e = b[++j];
      if (e === LOWER_U) {
        for (let k = 1; k <= 4; k++) if (!isHex(b[j + k])) return -1;
        j += 4;
      } else if (!(e !== undefined && ESCAPES.has(e))) {
        return -1;
      }
    }
  }
  return -1;
}

const ESCAPES = new Set([...'"\\/bfnrt'].map((ch) => ch.charCodeAt(0)));

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/** RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`; no NaN, Infinity, leading zeros or `+`. */
function scanNumber(b: Uint8Array, i: number): number {
  let j = i;
  if (b[j] === MINUS) j++;
  if (b[j] === ZERO) j++;
  else if (isDigit(b[j]) && b[j] !== ZERO) while (isDigit(b[j])) j++;
  else return -1;
  if (b[j] === DOT) {
    j++;
    if (!isDigit(b[j])) return -1;
    while (isDigit(b[j])) j++;
  }
  if (b[j] === LOWER_E || b[j] === UPPER_E) {
    j++;
    if (b[j] === PLUS || b[j] === MINUS) j++;
    if (!isDigit(b[j])) return -1;
    while (isDigit(b[j])) j++;
  }
  return j;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}
