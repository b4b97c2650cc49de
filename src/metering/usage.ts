/**
 * What one request is counted as, and how an origin's `usage` object is read. Tokens the origin reports are counted
 * as prompt and completion tokens; tokens it never reports (a client that hung up mid-stream, an origin that ignores
 * include_usage, a usage object that does not add up) are estimated and counted apart, as estimated tokens, so a
 * budget still moves and a report can say how much of it is a guess.
 */
import type { MeteredRoute } from "./request";

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  estimatedTokens: number;
  /** "none": nothing to count (the origin answered with an error, which is not a generation). */
  source: "reported" | "estimated" | "none";
}

/**
 * Why tokens were estimated, for the log line: the origin's usage did not read as counts ("malformed"), the answer
 * ended without any ("not_reported"), or it was cut before any came (a client hang-up, an origin that failed
 * mid-stream: "cut_short").
 */
export type EstimateReason = "malformed" | "not_reported" | "cut_short";

export interface MeteredUsage extends Usage {
  /** Set exactly when source is "estimated". */
  reason: EstimateReason | null;
}

/** The counts an origin reported. */
export interface TokenCounts {
  promptTokens: number;
  completionTokens: number;
}

/** Beyond this a count is absurd (no model has such a context), so it is treated as malformed, not trusted. */
export const MAX_REPORTED_TOKENS = 100_000_000;

export const NOT_METERED: MeteredUsage = {
  promptTokens: 0,
  completionTokens: 0,
  estimatedTokens: 0,
  source: "none",
  reason: null,
};

/**
 * The counts in a parsed `usage` object, or null when it is malformed. Chat, completions and embeddings report
 * prompt_tokens and completion_tokens (an embedding generates nothing, so its completion count may be absent);
 * /v1/responses reports input_tokens and output_tokens. total_tokens is not read: it is their sum, or wrong.
 */
export function reportedCounts(route: MeteredRoute, usage: unknown): TokenCounts | null {
  if (typeof usage !== "object" || usage === null || Array.isArray(usage)) return null;
  const fields = usage as Record<string, unknown>;
  const [input, output] = route === "responses" ? RESPONSES_FIELDS : CHAT_FIELDS;
  const promptTokens = fields[input];
  const completionTokens = route === "embeddings" && fields[output] === undefined ? 0 : fields[output];
  if (!isCount(promptTokens) || !isCount(completionTokens)) return null;
  return { promptTokens, completionTokens };
}

const CHAT_FIELDS = ["prompt_tokens", "completion_tokens"] as const;
const RESPONSES_FIELDS = ["input_tokens", "output_tokens"] as const;

function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 && n <= MAX_REPORTED_TOKENS;
}

/** Larger than any usage object an origin writes (OpenAI's, with its token details, is a few hundred bytes). */
const MAX_USAGE_BYTES = 64 * 1024;
const decoder = new TextDecoder();

/** The counts in the bytes of a `usage` value (a slice of an answer), or "malformed". */
export function countsIn(route: MeteredRoute, value: Uint8Array): TokenCounts | "malformed" {
  if (value.byteLength > MAX_USAGE_BYTES) return "malformed";
  let usage: unknown;
  try {
    usage = JSON.parse(decoder.decode(value));
  } catch {
    return "malformed";
  }
  return reportedCounts(route, usage) ?? "malformed";
}

export function reported(counts: TokenCounts): MeteredUsage {
  return { ...counts, estimatedTokens: 0, source: "reported", reason: null };
}

export function estimated(tokens: number, reason: EstimateReason): MeteredUsage {
  return { promptTokens: 0, completionTokens: 0, estimatedTokens: tokens, source: "estimated", reason };
}
