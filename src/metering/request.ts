/**
 * The request side of metering: which requests are metered, what their body says about the answer to expect (a
 * stream, a cap on output, a rough size), and, for a streamed chat or completion, the body with
 * `stream_options.include_usage` turned on, so the origin reports the tokens it used at the end of the stream.
 *
 * The body is read by json-object.ts's byte scanner, never parsed and written again: every byte but the one
 * inserted member or replaced value goes to the origin as the client sent it. Keys are matched as Go's
 * encoding/json matches them (json-object.ts), consistently with the model pin: a `Stream_Options` member is one.
 * A body that is not a strict UTF-8 JSON object is not refused here; it is forwarded unchanged and metered by
 * estimate (the origin answers it as it likes). Under a hard budget, where what the request may cost must be known
 * before it is forwarded, the caller refuses what this reading cannot bound (`bounded`), and has the cap it reserved
 * for written into a body that names none (`capOutput`).
 */
import { applyEdits, isUtf8, scanObject, type Edit, type Member, type ScannedObject } from "../json-object";

export type MeteredRoute = "chat" | "completions" | "embeddings" | "responses";

const ROUTES = new Map<string, MeteredRoute>([
  ["/v1/chat/completions", "chat"],
  ["/v1/completions", "completions"],
  ["/v1/embeddings", "embeddings"],
  ["/v1/responses", "responses"],
]);

/**
 * The metered route of a request, or null: POST to one of the inference paths (the normalised path after the
 * deployment). The runtime upper-cases a standard method (Fetch, "normalize a method"), so "POST" is exact.
 */
export function meteredRoute(method: string, path: string): MeteredRoute | null {
  return method === "POST" ? (ROUTES.get(path) ?? null) : null;
}

/**
 * Whether a request's method may make the origin generate: anything but GET, HEAD and OPTIONS, which carry no body
 * (keygate forwards none) and so no prompt. Its answer is metered, and under a hard budget it holds a reservation.
 */
export function generates(method: string): boolean {
  return method !== "GET" && method !== "HEAD" && method !== "OPTIONS";
}

export interface RequestReading {
  /** The body has a top-level `"stream": true`. */
  stream: boolean;
  /** The request's own cap on output tokens (a positive safe integer; the largest of several), or null. */
  maxTokens: number | null;
  /** A rough count of the input's tokens (BYTES_PER_TOKEN): what an input the origin did not report is counted as. */
  inputEstimate: number;
  /** The most tokens the body's text can be (one per byte, see inputBound): what a hard budget reserves for it. */
  inputBound: number;
  /** The bytes to forward: the same bytes, or with include_usage turned on. */
  body: Uint8Array;
  /** keygate turned include_usage on: the response meter then hides from the client what the client did not ask for. */
  injected: boolean;
  /** How many answers the request asks for: `n` (and, for completions, `best_of`), the largest; 1 when absent. */
  choices: number;
  /**
   * Whether maxTokens and choices bound the output: the body is a strict JSON object and every cap and count it
   * names is a positive integer (or a cap is null: none). When false, `problem` names the field that is not.
   */
  bounded: boolean;
  problem: { field: string | null; text: string } | null;
}

/**
 * English text is about 4 bytes per token, and a request body is text plus JSON punctuation and keys that the model
 * never sees as tokens of the prompt: bytes / 4 is what an input the origin did not report is counted as. It is an
 * estimate, not a bound (CJK text is about 3 bytes per token), so a reservation does not use it: see inputBound.
 */
export const BYTES_PER_TOKEN = 4;

/**
 * The most tokens a body's text can be: one per byte. Every token of a byte-level BPE tokenizer (GPT's, Llama 3's,
 * Qwen's, Mistral's Tekken) stands for at least one byte of text, a SentencePiece piece for at least one character,
 * and the JSON around the text (`{"role":"user","content":""}`, 28 bytes a message) outweighs the few tokens a chat
 * template adds per message. So a hard budget that reserves this for the input, plus the output cap, cannot be
 * overspent by requests running together, whatever their language. What a body only points to (an image by URL) and
 * what the server adds itself (a system prompt of its own, a tools preamble) are not in the body and not bounded
 * (docs/usage.md).
 */
export function inputBound(bodyBytes: number): number {
  return bodyBytes;
}

/**
 * The members that cap a route's output, as origins read them: OpenAI's names, and llama.cpp's `n_predict`, which
 * wins there over `max_tokens` (so it is read into the reservation, and a null one is overwritten like the others).
 */
const CAPS: Record<MeteredRoute, readonly string[]> = {
  chat: ["max_tokens", "max_completion_tokens", "n_predict"],
  completions: ["max_tokens", "max_completion_tokens", "n_predict"],
  embeddings: [],
  responses: ["max_output_tokens"],
};

/** The caps every OpenAI-compatible origin reads: one of them must be spelled exactly for a written cap to hold. */
const STANDARD_CAPS: Record<MeteredRoute, readonly string[]> = {
  chat: ["max_tokens", "max_completion_tokens"],
  completions: ["max_tokens", "max_completion_tokens"],
  embeddings: [],
  responses: ["max_output_tokens"],
};

/**
 * `/v1/responses` members that make its cost unknowable before it is forwarded: a background response answers at once
 * and generates afterwards (its usage arrives on a later GET, which is not metered); a previous response, a
 * conversation or a stored prompt bring input the body does not hold. A hard budget refuses them.
 */
const UNBOUNDABLE: Record<MeteredRoute, readonly string[]> = {
  chat: [],
  completions: [],
  embeddings: [],
  responses: ["background", "previous_response_id", "conversation", "prompt"],
};

/** How many answers one request may ask for; `best_of` is the legacy completions API's. */
const COUNTS: Record<MeteredRoute, readonly string[]> = {
  chat: ["n"],
  completions: ["n", "best_of"],
  embeddings: [],
  responses: [],
};

/** Where a cap keygate writes goes, in a body that names none. */
const CAP_WRITTEN: Record<MeteredRoute, string | null> = {
  chat: "max_tokens",
  completions: "max_tokens",
  embeddings: null,
  responses: "max_output_tokens",
};

const TOP_LEVEL = [
  "stream", "stream_options", "max_tokens", "max_completion_tokens", "max_output_tokens", "n_predict", "n", "best_of",
  "prompt", "background", "previous_response_id", "conversation",
];
const FALSE = new TextEncoder().encode("false");
const NULL = new TextEncoder().encode("null");

const LBRACE = 0x7b, BACKSLASH = 0x5c, LOWER_U = 0x75, LOWER_T = 0x74;
const TREAM = new TextEncoder().encode("tream");
const TRUE = new TextEncoder().encode("true");
const decoder = new TextDecoder();

/**
 * @param options.inject whether to ask the origin for usage in a streamed chat or completion
 * @param options.capOutput a cap to write into a bounded body that names none (every `null` cap becomes it too), so
 *        the origin generates no more than was reserved; null: the body's caps stay as they are
 * @param options.streamOnly only whether it streams is needed (no hard budget): a body in which no key can spell
 *        `stream` is then not scanned, and its caps and counts are not read (`bounded` false)
 */
export function readMeteredRequest(
  route: MeteredRoute,
  body: Uint8Array,
  options: { inject: boolean; capOutput?: number | null; streamOnly?: boolean },
): RequestReading {
  const inputEstimate = Math.ceil(body.byteLength / BYTES_PER_TOKEN);
  const unread: RequestReading = {
    stream: false, maxTokens: null, inputEstimate, inputBound: inputBound(body.byteLength), body, injected: false, choices: 1, bounded: false,
    problem: { field: null, text: "the body is not a strict UTF-8 JSON object" },
  };
  if (options.streamOnly && !(options.inject && mayNameStream(body))) return { ...unread, problem: NOT_BOUNDED };
  if (!isUtf8(body)) return unread;
  const scanned = scanObject(body, TOP_LEVEL);
  if (typeof scanned === "string") return unread;

  // The last duplicate is the one Go's and Python's decoders keep.
  const streamMember = scanned.members.findLast((member) => member.name === "stream");
  const stream = streamMember !== undefined && isTrue(body, streamMember);
  let maxTokens: number | null = null;
  let choices = 1;
  let problem: RequestReading["problem"] = null;
  const nullCaps: Member[] = [];
  for (const member of scanned.members) {
    const value = body.subarray(member.start, member.end);
    if (CAPS[route].includes(member.name)) {
      const cap = positiveInteger(value);
      if (cap !== null) maxTokens = Math.max(maxTokens ?? 0, cap);
      else if (isLiteral(value, NULL)) nullCaps.push(member);
      else problem ??= { field: member.name, text: `'${member.name}' is not a positive integer` };
    } else if (COUNTS[route].includes(member.name)) {
      const count = positiveInteger(value);
      if (count !== null) choices = Math.max(choices, count);
      else problem ??= { field: member.name, text: `'${member.name}' is not a positive integer` };
    } else if (UNBOUNDABLE[route].includes(member.name) && !isLiteral(value, NULL) && !isLiteral(value, FALSE)) {
      problem ??= { field: member.name, text: `'${member.name}' makes what the response costs unknown until after it` };
    }
  }
  // A completions `prompt` that is a list of prompts gets an answer (n of them) for each.
  const prompt = route === "completions" ? scanned.members.findLast((member) => member.name === "prompt") : undefined;
  if (prompt !== undefined && problem === null) choices *= promptCount(body.subarray(prompt.start, prompt.end));
  const edits: Edit[] = [];
  const cap = CAP_WRITTEN[route];
  if (options.capOutput != null && problem === null && cap !== null) {
    // The cap reserved for, per answer: the request's own, or the one written in. Every `null` cap becomes it, and it
    // is spelled exactly at least once: origins in Python and JavaScript match keys exactly, and would see no cap in
    // a body whose only cap is `Max_Tokens` (as the model pin adds an exact `model`).
    const perAnswer = maxTokens ?? options.capOutput;
    const text = String(perAnswer);
    for (const member of nullCaps) edits.push({ start: member.start, end: member.end, text });
    const exact = scanned.members.some((member) => member.exact && STANDARD_CAPS[route].includes(member.name));
    if (!exact) edits.push({ start: scanned.open, end: scanned.open, text: `"${cap}":${text}${scanned.empty ? "" : ","}` });
    maxTokens = perAnswer;
  }
  const wantsUsage = options.inject && stream && (route === "chat" || route === "completions");
  const usageEdits = wantsUsage ? includeUsage(body, scanned) : [];
  edits.push(...usageEdits);
  edits.sort((a, b) => a.start - b.start); // stable: two insertions at the same place keep their order
  return {
    stream,
    maxTokens,
    inputEstimate,
    inputBound: unread.inputBound,
    body: edits.length === 0 ? body : applyEdits(body, edits),
    injected: usageEdits.length > 0,
    choices,
    bounded: problem === null,
    problem,
  };
}

/**
 * The edits that make the origin include usage, or none when the client asked for it already, or when its
 * `stream_options` is not an object (null, a string: the client's own choice, which the origin may refuse).
 * "Asked" is read as the origins read duplicates (the last `stream_options`, its last `include_usage`); every
 * `stream_options` object is then turned on, so any reading of the duplicates asks for usage.
 */
function includeUsage(body: Uint8Array, scanned: ScannedObject): Edit[] {
  const options = scanned.members.filter((member) => member.name === "stream_options");
  const last = options.at(-1);
  if (last === undefined) {
    const comma = scanned.empty ? "" : ",";
    return [{ start: scanned.open, end: scanned.open, text: `"stream_options":{"include_usage":true}${comma}` }];
  }
  if (body[last.start] !== LBRACE) return [];
  const asked = flags(body, last).members.at(-1);
  if (asked !== undefined && isTrue(body, asked)) return [];

  const edits: Edit[] = [];
  for (const option of options) {
    if (body[option.start] !== LBRACE) continue;
    const inner = flags(body, option);
    if (inner.members.length === 0) {
      const comma = inner.empty ? "" : ",";
      edits.push({ start: inner.open, end: inner.open, text: `"include_usage":true${comma}` });
    }
    for (const flag of inner.members) {
      if (!isTrue(body, flag)) edits.push({ start: flag.start, end: flag.end, text: "true" });
    }
  }
  return edits;
}

/** The include_usage members of a stream_options object, with offsets into the whole body. */
function flags(body: Uint8Array, option: Member): ScannedObject {
  // Already scanned as part of the body, so it is an object in strict JSON.
  const inner = scanObject(body.subarray(option.start, option.end), ["include_usage"]) as ScannedObject;
  const at = option.start;
  return {
    open: inner.open + at,
    empty: inner.empty,
    members: inner.members.map((m) => ({ ...m, keyStart: m.keyStart + at, start: m.start + at, end: m.end + at })),
  };
}

/** How many prompts a completions `prompt` holds: a list of strings or of token lists is one each; anything else one. */
function promptCount(value: Uint8Array): number {
  if (value[0] !== 0x5b) return 1; // not an array
  const parsed: unknown = JSON.parse(decoder.decode(value));
  if (!Array.isArray(parsed) || parsed.length === 0 || typeof parsed[0] === "number") return 1; // one token list
  return parsed.length;
}

/** What a reading made without a cap to write says about bounds: nothing (it never looked). */
const NOT_BOUNDED = { field: null, text: "the body was not read for a bound" };

/**
 * Whether a key of this body may be `stream` as origins read keys (case folded, `ſ` as `s`, \u escapes): it holds
 * `tream` in any case, or an escape. A body with neither cannot ask for a stream, and is not scanned: the common chat
 * body costs one pass over its bytes instead of a scan of its JSON.
 */
function mayNameStream(body: Uint8Array): boolean {
  for (let i = 0; i + 1 < body.length; i++) {
    const c = body[i]!;
    if (c === BACKSLASH && body[i + 1] === LOWER_U) return true;
    if ((c | 0x20) === LOWER_T && i + 4 < body.length && startsWithFolded(body, TREAM, i)) return true;
  }
  return false;
}

function startsWithFolded(body: Uint8Array, lower: Uint8Array, at: number): boolean {
  for (let k = 0; k < lower.length; k++) if ((body[at + k]! | 0x20) !== lower[k]) return false;
  return true;
}

/** The value is the literal `true` (not "true", not 1: what a client wrote, as strict decoders read it). */
function isTrue(body: Uint8Array, member: Member): boolean {
  return isLiteral(body.subarray(member.start, member.end), TRUE);
}

function isLiteral(value: Uint8Array, literal: Uint8Array): boolean {
  return value.length === literal.length && literal.every((byte, k) => value[k] === byte);
}

/** A JSON number that is a positive safe integer (`100`, also `100.0` or `1e2`, as lenient origins read them). */
function positiveInteger(value: Uint8Array): number | null {
  // Longer than any safe integer needs: a 1 MB literal is not a cap, and is not parsed. The value is strict JSON.
  if (value.length > 32) return null;
  const n: unknown = JSON.parse(decoder.decode(value));
  return typeof n === "number" && Number.isSafeInteger(n) && n > 0 ? n : null;
}
