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
 * The scanner over the bytes is json-object.ts: every byte other than the `model` value is forwarded as sent
 * (`18446744073709551615`, `1.0`, `-0` and `1e400` stay what they were), in one pass whatever the nesting.
 */
import { applyEdits, isUtf8, scanObject, type Edit } from "../json-object";

export type PinResult = { ok: true; body: Uint8Array } | { ok: false; problem: string };

/** @returns the body to forward, or why it cannot carry a pinned model (a phrase: "is not valid UTF-8") */
export function pinModel(body: Uint8Array, model: string): PinResult {
  if (body.byteLength === 0) return { ok: true, body };
  // RFC 8259 §8.1: UTF-8 only (a BOM is kept as bytes, and the scanner refuses it: it is not a "{").
  if (!isUtf8(body)) return { ok: false, problem: "is not valid UTF-8" };
  const scanned = scanObject(body, ["model"]);
  if (typeof scanned === "string") return { ok: false, problem: scanned };
  const value = JSON.stringify(model);
  const edits: Edit[] = [];
  // No member spelled `model`: add one first, so no origin falls back to a default of its own.
  if (!scanned.members.some((member) => member.exact)) {
    edits.push({ start: scanned.open, end: scanned.open, text: `"model":${value}${scanned.empty ? "" : ","}` });
  }
  // Every model member, in any case (a duplicate key is replaced too).
  for (const { start, end } of scanned.members) edits.push({ start, end, text: value });
  return { ok: true, body: applyEdits(body, edits) };
}
