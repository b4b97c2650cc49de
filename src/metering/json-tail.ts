/**
 * Usage in a JSON answer (chat, completions, embeddings, /v1/responses without streaming), found without parsing
 * the answer: an embeddings answer can be megabytes of floats, and every origin keygate fronts (OpenAI, vLLM, TGI,
 * Ollama, LiteLLM) writes `usage` last or nearly so. The answer passes through untouched while the last TAIL_BYTES
 * of it are kept; at its end the last `"usage"` key with an object value is cut out of that tail and parsed alone.
 */
import { isSpace } from "../json-object";
import { BYTES_PER_TOKEN, type MeteredRoute } from "./request";
import { lastIndexOfBytes } from "./bytes";
import { countsIn, type TokenCounts } from "./usage";
import type { BodyScanner } from "./response";

/** Far more than the usage object and whatever an origin writes after it (a `system_fingerprint`, `service_tier`). */
export const TAIL_BYTES = 64 * 1024;

const USAGE = new TextEncoder().encode('"usage"');
const QUOTE = 0x22, BACKSLASH = 0x5c, COLON = 0x3a, LBRACE = 0x7b, RBRACE = 0x7d;

export class JsonTailScanner implements BodyScanner {
  /** The tail, in [0, length); the buffer grows to twice TAIL_BYTES, so keeping it is a copy per chunk, amortised. */
  private buffer = new Uint8Array(4096);
  private length = 0;
  private total = 0;

  constructor(private readonly route: MeteredRoute) {}

  push(chunk: Uint8Array): Uint8Array {
    this.total += chunk.byteLength;
    this.keep(chunk.byteLength > TAIL_BYTES ? chunk.subarray(chunk.byteLength - TAIL_BYTES) : chunk);
    return chunk;
  }

  end(): null {
    return null;
  }

  usage(): TokenCounts | "malformed" | null {
    const usage = lastUsageObject(this.buffer.subarray(0, this.length));
    return usage === null ? null : countsIn(this.route, usage);
  }

  outputEstimate(): number {
    return Math.ceil(this.total / BYTES_PER_TOKEN);
  }

  private keep(bytes: Uint8Array): void {
    if (this.length + bytes.byteLength > this.buffer.byteLength) {
      if (this.buffer.byteLength < 2 * TAIL_BYTES) {
        const grown = new Uint8Array(Math.min(2 * TAIL_BYTES, 2 * (this.length + bytes.byteLength)));
        grown.set(this.buffer.subarray(0, this.length));
        this.buffer = grown;
      }
      if (this.length + bytes.byteLength > this.buffer.byteLength) {
        // Full: keep only what is still within TAIL_BYTES of the end once these bytes are in.
        const kept = Math.max(0, TAIL_BYTES - bytes.byteLength);
        this.buffer.copyWithin(0, this.length - kept, this.length);
        this.length = kept;
      }
    }
    this.buffer.set(bytes, this.length);
    this.length += bytes.byteLength;
  }
}

/**
 * The bytes of the last `usage` object in a JSON text (or a tail of one), or null. A `"usage"` whose opening quote
 * is not escaped, followed by a colon, is a key: inside a JSON string every quote is escaped, so that sequence
 * cannot be part of one. A candidate whose quote may be escaped by a backslash cut off at the start of the tail is
 * skipped.
 */
export function lastUsageObject(b: Uint8Array): Uint8Array | null {
  for (let at = lastIndexOfBytes(b, USAGE); at > 0; at = lastIndexOfBytes(b, USAGE, at - 1)) {
    let slashes = 0;
    while (at - slashes - 1 >= 0 && b[at - slashes - 1] === BACKSLASH) slashes++;
    if (slashes % 2 === 1 || slashes === at) continue;
    let i = at + USAGE.length;
    while (isSpace(b[i])) i++;
    if (b[i] !== COLON) continue;
    i++;
    while (isSpace(b[i])) i++;
    if (b[i] !== LBRACE) continue; // `"usage": null`: keep looking
    const end = objectEnd(b, i);
    return end < 0 ? null : b.subarray(i, end); // an object cut short is not a report
  }
  return null;
}

/** Where the object starting at `i` ends, strings read as strings; -1 when it does not end. */
function objectEnd(b: Uint8Array, i: number): number {
  let depth = 0;
  let inString = false;
  for (let j = i; j < b.length; j++) {
    const c = b[j];
    if (inString) {
      if (c === BACKSLASH) j++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === LBRACE) depth++;
    else if (c === RBRACE && --depth === 0) return j + 1;
  }
  return -1;
}
