/**
 * The request body on its way to the origin: bounded in size (413) and, where keygate reads it (a body of unknown
 * length, one the model pin checks, one metering reads), in time (408, by the call's deadlines: deadlines.ts); on a
 * deployment that pins its model, checked and rewritten by model-pin.ts.
 */
import { ApiError } from "../errors";
import { readMeteredRequest, type MeteredRoute, type RequestReading } from "../metering/request";
import { pinModel } from "./model-pin";

export interface UpstreamBody {
  stream: ReadableStream<Uint8Array> | Uint8Array | null;
  /** Set when the body was buffered (the model pin): the length of what is actually sent. */
  length: number | null;
  /** For a streamed body: settles when the client's last byte has been passed on (null: nothing left to wait for). */
  arrived: Promise<void> | null;
  /** The Content-Type to send instead of the client's (a pinned body is JSON, whatever its label said). */
  contentType: string | null;
  /** What the body asks for (stream, max tokens), when it was read to inspect it. */
  reading: RequestReading | null;
}

export interface BodyOptions {
  /** The deployment's pinned model, or null. */
  model: string | null;
  maxBodyBytes: number;
  /**
   * Rejects, with the reason, once the call is given up on (the body's deadline passed, the client hung up): a read of
   * the body stops waiting then.
   */
  givenUp: Promise<never>;
  /** Called when a streamed body passes maxBodyBytes (the upload is then errored). */
  onTooLarge: () => void;
  /**
   * Read the body to learn what it asks for, ask for stream usage when `inject`, and write `capOutput` into a body
   * that names no cap (src/metering/request.ts).
   */
  inspect?: { route: MeteredRoute; inject: boolean; capOutput: number | null; streamOnly: boolean } | null;
}

const NONE: UpstreamBody = { stream: null, length: null, arrived: null, contentType: null, reading: null };

export async function upstreamBody(request: Request, options: BodyOptions): Promise<UpstreamBody> {
  if (request.method === "GET" || request.method === "HEAD" || request.body === null) return NONE;
  const declared = declaredLength(request.headers);
  if (declared !== null && declared > options.maxBodyBytes) throw new ApiError("request_too_large");

  const inspect = options.inspect ?? null;
  if (options.model !== null) {
    // The Content-Type label does not matter: origins parse bodies by their own rules (model-pin.ts).
    if (!isIdentityEncoded(request.headers)) throw modelPinned("is compressed (Content-Encoding), so it cannot be checked");
    const bytes = await readWhole(request, declared, options.maxBodyBytes, options.givenUp);
    const pinned = pinModel(bytes, options.model);
    if (!pinned.ok) throw modelPinned(pinned.problem);
    // Checked as strict UTF-8 JSON, so labelled as exactly that: another label (`charset=utf-7`, a form type)
    // would make some origins decode the same bytes into a different model.
    const contentType = pinned.body.byteLength > 0 ? "application/json" : null;
    const reading = inspect === null ? null : readMeteredRequest(inspect.route, pinned.body, inspect);
    const body = reading?.body ?? pinned.body;
    return { stream: body, length: body.byteLength, arrived: null, contentType, reading };
  }

  // A compressed body is forwarded unread: its usage is still counted from the answer, only not asked for.
  if (inspect !== null && isIdentityEncoded(request.headers)) {
    const bytes = await readWhole(request, declared, options.maxBodyBytes, options.givenUp);
    const reading = readMeteredRequest(inspect.route, bytes, inspect);
    return { stream: reading.body, length: reading.body.byteLength, arrived: null, contentType: null, reading };
  }

  // A declared length within the limit is a bound the runtime enforces: HTTP framing delivers exactly
  // Content-Length bytes (RFC 9112 §6.2; a mismatch is a protocol error in HTTP/2, RFC 9113 §8.1.1). The native
  // stream then goes up as it came — no JavaScript in the byte path, and the runtime keeps sending Content-Length to
  // origins that do not accept chunked uploads. No body deadline here: knowing when the last byte went by means
  // consuming the stream in JavaScript (a FixedLengthStream pipe, or buffering), which measured 0.71× the
  // throughput and +290 µs of CPU per request against this native pass-through (BENCHMARKS.md, "Reliability").
  // A client dripping such a body is still bounded: ORIGIN_TIMEOUT_MS runs from the start of the upload until the
  // origin's response headers, and an origin answers only once it has the body (504 then, not 408).
  if (declared !== null) return { stream: request.body, length: null, arrived: null, contentType: null, reading: null };
  // A body of unknown length has its bytes counted, and its end seen, in the same transform.
  let arrived!: () => void;
  const done = new Promise<void>((resolve) => (arrived = resolve));
  const stream = request.body.pipeThrough(byteLimit(options.maxBodyBytes, options.onTooLarge, arrived));
  return { stream, length: null, arrived: done, contentType: null, reading: null };
}

function modelPinned(problem: string): ApiError {
  return new ApiError(
    "invalid_request",
    `This deployment pins its model, so a request body must be empty or a JSON object (strict JSON, UTF-8); this one ${problem}.`,
  );
}

export function declaredLength(headers: Headers): number | null {
  const value = headers.get("content-length");
  return value !== null && /^\d+$/.test(value) ? Number(value) : null;
}

function isIdentityEncoded(headers: Headers): boolean {
  const encoding = headers.get("content-encoding")?.trim().toLowerCase();
  return encoding === undefined || encoding === "" || encoding === "identity";
}

/**
 * The whole body, at most `maxBodyBytes` of it, unless the call is given up on first. A body of declared length (already checked against
 * the limit, and delivered by HTTP framing at exactly that length) is read by the runtime in one call: reading it
 * chunk by chunk in JavaScript measured about 100 µs of CPU per request under load, for a chat body of a few hundred
 * bytes.
 */
async function readWhole(request: Request, declared: number | null, maxBodyBytes: number, givenUp: Promise<never>): Promise<Uint8Array> {
  if (declared === null) return readBounded(request, maxBodyBytes, givenUp);
  const read = request.arrayBuffer();
  try {
    return new Uint8Array(await Promise.race([read, givenUp]));
  } catch (err) {
    // The read goes on without a reader: cancel what is left of the body (a dripping client's, say).
    read.catch(() => undefined);
    await request.body?.cancel().catch(() => undefined);
    throw unreadable(request, err);
  }
}

/** Why a body could not be read, in the contract's words: the deadline, the client hanging up, or anything else. */
function unreadable(request: Request, err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (request.signal.aborted) return new ApiError("origin_unreachable", "The client closed the request.", null, { cause: err });
  return new ApiError("invalid_request", "The request body could not be read.", null, { cause: err });
}

/** A body of unknown length, chunk by chunk: at most `maxBodyBytes` of it, unless the call is given up on first. */
async function readBounded(request: Request, maxBodyBytes: number, givenUp: Promise<never>): Promise<Uint8Array> {
  const reader = (request.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await Promise.race([reader.read(), givenUp]);
      } catch (err) {
        throw unreadable(request, err);
      }
      if (chunk.done) break;
      total += chunk.value.byteLength;
      if (total > maxBodyBytes) throw new ApiError("request_too_large");
      chunks.push(chunk.value);
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    throw err;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Passes bytes through until more than `max` have gone by, then errors the stream (and the upload with it). */
function byteLimit(max: number, onTooLarge: () => void, onEnd: () => void): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > max) {
        onTooLarge();
        controller.error(new ApiError("request_too_large"));
        return;
      }
      controller.enqueue(chunk);
    },
    flush() {
      onEnd();
    },
  });
}
