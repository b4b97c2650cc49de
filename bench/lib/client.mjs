/**
 * What every bench client sends, to every target alike, so request sizes match: the chat body (91 bytes, shared
 * with the in-process harness, bench/warm-path/harness.ts), and what Cloudflare's front line hands a Worker — the
 * client address, and `request.cf` (Miniflare's direct socket reads it from `mf-cf-blob`).
 */
import { readFileSync } from "node:fs";

export const BODY = JSON.stringify(JSON.parse(readFileSync(new URL("./chat-request.json", import.meta.url), "utf8")));
export const STREAM_BODY = JSON.stringify({ ...JSON.parse(BODY), stream: true });
export const EDGE_HEADERS = {
  "cf-connecting-ip": "203.0.113.7",
  "mf-cf-blob": JSON.stringify({ country: "NL", asn: 64500, colo: "AMS" }),
};
/** The seeded deployment's chat endpoint on keygate (the pass-through maps it the same way). */
export const PATH = "/endpoint/bench/chat/v1/chat/completions";
