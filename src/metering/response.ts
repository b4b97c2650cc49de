/**
 * The response meter: the origin's answer goes to the client as it arrives, and what it used is read on the way
 * (sse.ts for a stream, json-tail.ts for anything else). `done` settles once, with the reported counts, or with an
 * estimate when there are none: the answer ended without usage, its usage did not read as counts, or it was cut
 * (the origin failed mid-stream, the client hung up). An estimate is the request's input estimate plus the output
 * seen: one token per streamed event, or the JSON answer's bytes / 4.
 *
 * A hang-up is seen three ways, because runtimes differ: the readable's cancel reaches the transformer's `cancel`
 * (where the runtime implements it), it errors the pipe from the origin, and the caller can call `finish()`.
 */
import { JsonTailScanner, lastUsageObject } from "./json-tail";
import { BYTES_PER_TOKEN, type MeteredRoute } from "./request";
import { SseScanner } from "./sse";
import { NOT_METERED, countsIn, estimated, reported, type MeteredUsage, type TokenCounts } from "./usage";

export interface MeterOptions {
  route: MeteredRoute;
  /** keygate turned include_usage on (readMeteredRequest): the usage the client did not ask for is hidden. */
  injected: boolean;
  /** The request's input estimate, for when the origin reports nothing. */
  inputEstimate: number;
}

export interface Meter {
  /** The body the client receives. */
  body: ReadableStream<Uint8Array>;
  /**
   * Settles exactly once, with what was counted: when the body ends, errors or is cancelled, or at finish(). Never
   * rejects.
   */
  done: Promise<MeteredUsage>;
  /** Settles `done` now with what has been seen so far (on a client hang-up); later calls do nothing. */
  finish(): void;
}

/** How a kind of answer is read on its way to the client. */
export interface BodyScanner {
  /** What the client gets of this chunk (null: nothing yet). */
  push(chunk: Uint8Array): Uint8Array | null;
  /** What the client still gets when the body has ended. */
  end(): Uint8Array | null;
  /** The last usage seen: its counts, "malformed", or null for none. */
  usage(): TokenCounts | "malformed" | null;
  /** The output's size in tokens, estimated from what went by. */
  outputEstimate(): number;
}

/** workers-types' Transformer lacks `cancel` (Streams spec, 2023), called when the readable is cancelled. */
type CancellableTransformer = Transformer<Uint8Array, Uint8Array> & { cancel?: (reason: unknown) => void };

export function meterResponse(
  body: ReadableStream<Uint8Array>,
  contentType: string | null,
  status: number,
  options: MeterOptions,
): Meter {
  // An origin's error is not a generation: nothing is counted, and its body is not touched.
  if (status < 200 || status > 299) return { body, done: Promise.resolve(NOT_METERED), finish() {} };

  const scanner: BodyScanner = isEventStream(contentType)
    ? new SseScanner(options.route, options.injected)
    : new JsonTailScanner(options.route);
  let settle!: (usage: MeteredUsage) => void;
  const done = new Promise<MeteredUsage>((resolve) => (settle = resolve));
  let settled = false;
  const finish = (cut: boolean): void => {
    if (settled) return;
    settled = true;
    settle(counted(scanner, options.inputEstimate, cut));
  };

  const transformer: CancellableTransformer = {
    transform(chunk, controller) {
      const out = scanner.push(chunk);
      if (out !== null) controller.enqueue(out);
    },
    flush(controller) {
      const out = scanner.end();
      if (out !== null) controller.enqueue(out);
      finish(false);
    },
    cancel() {
      finish(true);
    },
  };
  const meter = new TransformStream<Uint8Array, Uint8Array>(transformer);
  // Rejects when the origin's body errors (the error is passed on to the client) or the client cancels.
  body.pipeTo(meter.writable).catch(() => finish(true));
  return { body: meter.readable, done, finish: () => finish(true) };
}

/**
 * The largest JSON answer read whole (by the runtime, in one call) rather than through the meter's stream: a
 * TransformStream in the answer's path measured about 150 µs of CPU per request under load, and an answer this
 * small arrives in one piece anyway. Its usage is read from the same tail a stream's would be.
 */
export const WHOLE_ANSWER_BYTES = 64 * 1024;

/** Whether an answer is read whole: a 2xx JSON answer (not a stream) of declared length up to WHOLE_ANSWER_BYTES. */
export function readsWhole(status: number, contentType: string | null, contentLength: string | null): boolean {
  if (status < 200 || status > 299 || isEventStream(contentType) || contentLength === null || !/^\d{1,6}$/.test(contentLength)) return false;
  return Number(contentLength) <= WHOLE_ANSWER_BYTES;
}

/** What an answer read whole used (see readsWhole). */
export function meterWhole(bytes: Uint8Array, options: Omit<MeterOptions, "injected">): MeteredUsage {
  const usage = lastUsageObject(bytes);
  const counts = usage === null ? null : countsIn(options.route, usage);
  return countedAs(counts, options.inputEstimate + Math.ceil(bytes.byteLength / BYTES_PER_TOKEN), false);
}

function counted(scanner: BodyScanner, inputEstimate: number, cut: boolean): MeteredUsage {
  return countedAs(scanner.usage(), inputEstimate + scanner.outputEstimate(), cut);
}

/** The reported counts, or, without them, the estimate (and why). */
function countedAs(usage: TokenCounts | "malformed" | null, estimate: number, cut: boolean): MeteredUsage {
  if (usage !== null && usage !== "malformed") return reported(usage);
  return estimated(estimate, usage === "malformed" ? "malformed" : cut ? "cut_short" : "not_reported");
}

/** `text/event-stream`, with any parameters, in any case (RFC 9110 §8.3.1). */
function isEventStream(contentType: string | null): boolean {
  return contentType?.split(";", 1)[0]!.trim().toLowerCase() === "text/event-stream";
}
