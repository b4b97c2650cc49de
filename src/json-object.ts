/**
 * Where the members of a JSON object are, read from its bytes: one pass over a strict JSON text (RFC 8259) that must
 * be an object, reporting the byte ranges of the top-level members a caller names. The model pin
 * (gateway/model-pin.ts) and the metering of requests and streamed answers (metering/) rewrite a few values with it
 * and forward every other byte as sent (`18446744073709551615`, `1.0`, `-0` and `1e400` stay what they were).
 *
 * Names are matched the way the most lenient origin reads keys: Go's encoding/json (Ollama, LocalAI) matches them
 * case-insensitively, with Unicode simple folding, and takes the last match, so `Model`, `MODEL` and `\u006dodel`
 * are model members too, and `ſtream` (U+017F, which folds to s) is a stream member. Callers get every match, in
 * order, and decide what a duplicate means.
 *
 * The cost is one pass, linear in the size whatever the nesting, with an explicit stack instead of recursion (a body
 * nested five million levels deep is a few milliseconds of scanning, not seconds of JSON.parse and stringify), and
 * no JSON.parse for a plain ASCII key.
 */

export interface Member {
  /** The name it matched (as the caller wrote it, lower case). */
  name: string;
  /** Whether the key is spelled exactly as the name (origins in Python and JavaScript match only that). */
  exact: boolean;
  /** Offset of the key's opening quote. */
  keyStart: number;
  /** The value's bytes are [start, end). */
  start: number;
  end: number;
}

export interface ScannedObject {
  /** Offset just after the top-level "{". */
  open: number;
  /** Whether the object has any member. */
  empty: boolean;
  /** The top-level members whose key matches one of the names, in order (duplicates included). */
  members: Member[];
}

/** A change: bytes [start, end) become `text` (an insertion when start === end, a removal when text is ""). */
export interface Edit {
  start: number;
  end: number;
  text: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

// Bytes of the JSON grammar.
const SPACE = 0x20, TAB = 0x09, LF = 0x0a, CR = 0x0d;
const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, COLON = 0x3a, MINUS = 0x2d, PLUS = 0x2b, DOT = 0x2e;
const LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, RBRACKET = 0x5d;
const ZERO = 0x30, NINE = 0x39, LOWER_E = 0x65, UPPER_E = 0x45, LOWER_U = 0x75;
const UPPER_A = 0x41, UPPER_Z = 0x5a;

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

/** RFC 8259 §8.1: JSON exchanged between systems is UTF-8. A BOM is kept as bytes, so scanObject refuses it. */
export function isUtf8(b: Uint8Array): boolean {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

export function isSpace(c: number | undefined): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

/**
 * One pass over a strict JSON text that must be an object; an error phrase when it is not one ("ends early").
 * @param names the member names to report, in lower case
 */
export function scanObject(b: Uint8Array, names: readonly string[]): ScannedObject | string {
  let i = 0;
  while (isSpace(b[i])) i++;
  if (b[i] !== LBRACE) return "is not a JSON object";
  const open = i + 1;
  const keys = new KeyMatcher(names);
  const members: Member[] = [];
  // The open containers, innermost last. Grows by doubling; one byte per level.
  let stack = new Uint8Array(64);
  let depth = 0;
  let expect: Expect = Expect.Value;
  // For a top-level member: its key, if it is one of the names, and where its key and value start.
  let matched: { name: string; exact: boolean } | null = null;
  let keyStart = -1;
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
          keyStart = i;
          matched = keys.match(b, i, end);
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
      return i === b.length ? { open, empty, members } : "has more after the JSON object";
    }
    if (depth === 1 && matched !== null && stack[0] === OBJECT) {
      members.push({ ...matched, keyStart, start: valueStart, end: i });
      matched = null;
    }
    expect = stack[depth - 1] === OBJECT ? Expect.CommaOrEndOfObject : Expect.CommaOrEndOfArray;
  }
}

/** Matches a key's bytes against the wanted names: byte by byte for a plain ASCII key, decoded when it has escapes. */
class KeyMatcher {
  private readonly bytes: Uint8Array[];
  /** The longest key spelling that can still be one of the names: each letter a \u escape, in quotes. */
  private readonly maxKeyBytes: number;

  constructor(private readonly names: readonly string[]) {
    this.bytes = names.map((name) => encoder.encode(name));
    this.maxKeyBytes = 2 + 6 * Math.max(0, ...names.map((name) => name.length));
  }

  /** The name the key [start, end) (quotes included) matches, and whether exactly; null for none. */
  match(b: Uint8Array, start: number, end: number): { name: string; exact: boolean } | null {
    if (end - start > this.maxKeyBytes) return null;
    let plain = true;
    for (let j = start + 1; j < end - 1; j++) {
      if (b[j]! >= 0x80 || b[j] === BACKSLASH) {
        plain = false;
        break;
      }
    }
    if (plain) {
      const length = end - start - 2;
      for (let n = 0; n < this.names.length; n++) {
        const name = this.bytes[n]!;
        if (name.length !== length) continue;
        let exact = true;
        let k = 0;
        for (; k < length; k++) {
          const c = b[start + 1 + k]!;
          if (c === name[k]) continue;
          exact = false;
          if (c < UPPER_A || c > UPPER_Z || c + 0x20 !== name[k]) break;
        }
        if (k === length) return { name: this.names[n]!, exact };
      }
      return null;
    }
    const key = JSON.parse(utf8.decode(b.subarray(start, end))) as string;
    const folded = foldKey(key);
    const name = this.names.find((name) => name === folded);
    return name === undefined ? null : { name, exact: key === name };
  }
}

/**
 * A key as Go's encoding/json compares it, for names in ASCII: lower case, and the two non-ASCII letters whose fold
 * set holds an ASCII one: the Kelvin sign (toLowerCase makes it k) and the long s (ſ, which folds to s).
 */
function foldKey(key: string): string {
  return key.toLowerCase().replaceAll("\u017f", "s");
}

/** The bytes with the edits applied; edits in order of position (an edit that overlaps the one before it merges). */
export function applyEdits(b: Uint8Array, edits: readonly Edit[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const edit of edits) {
    parts.push(b.subarray(at, Math.max(at, edit.start)), encoder.encode(edit.text));
    at = Math.max(at, edit.end);
  }
  parts.push(b.subarray(at));
  return concat(parts);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
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
