/**
 * The forwarding half of the data plane: an already-authorized request becomes a fresh upstream request to the
 * deployment's origin, and the origin's answer is streamed back as it arrives (docs/api.md, "Data plane").
 *
 * One AbortController governs the origin call. It is aborted, with an ApiError saying why, when the client hangs up,
 * when the origin's response headers take longer than `timeoutMs`, when a streamed body passes `maxBodyBytes`, or
 * when the client's body has not all arrived within `bodyTimeoutMs` (a client dripping its body holds a connection
 * to the origin for as long as it likes otherwise).
 */
import type { DeploymentRecord } from "../authz/types";
import type { AssertionKeys } from "../config";
import { ApiError } from "../errors";
import { signedAssertion } from "./assertion";
import { CallDeadlines } from "./deadlines";
import { ASSERTION_HEADER } from "../origin";
import { filterDownstream, filterUpstream } from "./headers";
import { declaredLength, upstreamBody } from "./request-body";
import { BYTES_PER_TOKEN, generates, type MeteredRoute, type RequestReading } from "../metering/request";
import { meterResponse, meterWhole, readsWhole } from "../metering/response";
import { estimated, NOT_METERED, type MeteredUsage } from "../metering/usage";

export interface ForwardOptions {
  /** The origin call: a parameter so tests can play the origin. */
  fetch: typeof fetch;
  requestId: string;
  /** Largest request body forwarded; larger is 413 `request_too_large`. */
  maxBodyBytes: number;
  /** Longest wait for the origin's response headers; longer is 504 `origin_timeout`. Never cuts a stream. */
  timeoutMs: number;
  /** Longest wait for the whole request body; longer is 408 `request_timeout`. */
  bodyTimeoutMs: number;
  /** The allowed key, the assertion's subject; null or absent: the deployment's auth is off. */
  keyId?: string | null;
  /** Signs the assertion of a deployment with `origin.assertion`; absent: no key, and such a deployment is refused. */
  assertionKeys?: AssertionKeys;
  /** Counts the request and its tokens (src/gateway/metering.ts); absent: nothing is counted. */
  metering?: ForwardMetering;
}

/** What forwarding asks of the request's metering. */
export interface ForwardMetering {
  /** The route whose usage is read; null for any other path. */
  readonly route: MeteredRoute | null;
  /** Read the body before forwarding, to learn what it asks for. */
  readonly inspect: boolean;
  /** Ask a streamed chat or completion for its usage. */
  readonly inject: boolean;
  /** A cap on output to write into a body that names none (a hard budget's reservation), or null. */
  readonly capOutput: number | null;
  /** After the body is in, before the origin is called; throws to refuse the request. */
  admit(method: string, reading: RequestReading | null, declaredBytes: number | null): Promise<void>;
  /** Once, when the answer has ended. */
  ended(usage: MeteredUsage): void;
}

/**
 * @param restPath the normalised path after `/endpoint/{project}/{deployment}` (see normalizeRestPath), already
 *                 checked against the deployment's allowed paths
 * @throws ApiError `invalid_request` (a body the model pin refuses), `request_too_large`, `request_timeout`,
 *         `origin_timeout`, `origin_unreachable` (also for an origin redirect)
 */
export async function forwardToOrigin(
  request: Request,
  deployment: DeploymentRecord,
  restPath: string,
  opts: ForwardOptions,
): Promise<Response> {
  const metering = opts.metering;
  const abort = new AbortController();
  // Whichever reason to give up on the origin comes first also settles `givenUp`, which the call races: one promise
  // rejected directly, where a listener added to the signal and removed again for every request measured several
  // microseconds of CPU under load.
  let giveUp!: (reason: ApiError) => void;
  const givenUp = new Promise<never>((_, reject) => (giveUp = reject));
  givenUp.catch(() => undefined); // a reason that comes after the answer has nobody left to tell
  const stop = (reason: ApiError): void => {
    abort.abort(reason);
    giveUp(reason);
  };
  // A hang-up mid-answer also ends the metering of the answer, with what it has seen.
  let meterFinish: (() => void) | null = null;
  const hangUp = (): void => {
    stop(new ApiError("origin_unreachable", "The client closed the request.", null, { cause: request.signal.reason }));
    meterFinish?.();
  };
  // Stays attached for the whole response, so a hang-up mid-stream also cancels the origin's body.
  if (request.signal.aborted) hangUp();
  else request.signal.addEventListener("abort", hangUp, { once: true });

  // The body (where keygate reads it, or streams it of unknown length) must arrive in time; once the origin has
  // answered it no longer matters. A body of declared length passed on natively is in as far as keygate waits.
  const deadlines = new CallDeadlines(opts.timeoutMs, stop);
  if (request.body !== null) deadlines.awaitBody(opts.bodyTimeoutMs);
  const body = await upstreamBody(request, {
    model: deployment.model,
    maxBodyBytes: opts.maxBodyBytes,
    givenUp,
    onTooLarge: () => stop(new ApiError("request_too_large")),
    inspect: metering?.inspect && metering.route !== null
      ? { route: metering.route, inject: metering.inject, capOutput: metering.capOutput, streamOnly: metering.capOutput === null }
      : null,
  });
  const declared = declaredLength(request.headers);
  await metering?.admit(request.method, body.reading, declared);
  // What the request's input is counted as when the origin reports nothing (a hang-up, a cut, no usage).
  const inputEstimate = body.reading?.inputEstimate ?? Math.ceil((declared ?? 0) / BYTES_PER_TOKEN);
  // Signed once the body is in (a pinned body is read whole first), so its minute starts when the origin is called.
  // Outside the origin call's try: a refusal stays a 500.
  const assertion = deployment.originAssertion
    ? await signedAssertion(opts.assertionKeys, request.url, deployment, opts.keyId ?? null, opts.requestId)
    : null;

  if (body.arrived === null) deadlines.bodyArrived();
  else body.arrived.then(deadlines.bodyArrived, deadlines.bodyArrived);
  let upstream: Response;
  try {
    const upstreamRequest = new Request(targetUrl(deployment.originUrl, restPath, request.url), {
      method: request.method,
      // Copied by the constructor, then filtered in place: the origin never sees what filterUpstream drops.
      headers: request.headers,
      body: body.stream,
      // A redirect is the origin's business with its own clients; following it could leave the allowed paths.
      redirect: "manual",
      signal: abort.signal,
    });
    const headers = upstreamRequest.headers;
    filterUpstream(headers, deployment.originHeaders, opts.requestId);
    if (body.length !== null) headers.set("content-length", String(body.length));
    if (body.contentType !== null) headers.set("content-type", body.contentType);
    // Set last, over any origin header of the same name.
    if (assertion !== null) headers.set(ASSERTION_HEADER, assertion);
    deadlines.called();
    upstream = await answerOrGivenUp(opts.fetch(upstreamRequest), givenUp, abort.signal);
  } catch (err) {
    const reason: unknown = abort.signal.reason;
    if (abort.signal.aborted && reason instanceof ApiError) {
      // Given up on after the origin had the request (a hang-up, a timeout): it may have begun on the prompt, so the
      // input is charged, as an estimate. A call that failed by itself (refused, DNS) reached no model: nothing is.
      if (generates(request.method)) metering?.ended(estimated(inputEstimate, "cut_short"));
      throw reason;
    }
    // Connection refused, DNS, TLS, …: the detail is for logs only; the client gets the public message.
    throw new ApiError("origin_unreachable", undefined, null, { cause: err });
  } finally {
    // Headers are in (or the call is over): a long completion stream must not be cut by either deadline.
    deadlines.answered();
  }

  if (isRedirect(upstream)) {
    await upstream.body?.cancel();
    throw new ApiError("origin_unreachable", "The origin answered with a redirect, which is not followed.", null, {
      cause: `origin status ${upstream.status} to ${upstream.headers.get("location") ?? "(no location)"}`,
    });
  }

  // The origin's body stream itself (or, metered, the meter's reading of it as it passes): never buffered, so SSE
  // reaches the client event by event. Status, status text and headers are copied by the constructor (the origin's
  // own headers cannot be changed), then filtered in place.
  const answer = metering === undefined ? null : await meteredBody(upstream, request.method, metering, body.reading, inputEstimate);
  if (answer !== null) meterFinish = answer.finish;
  const response = new Response(answer === null ? upstream.body : answer.body, upstream);
  const headers = response.headers;
  filterDownstream(headers);
  // Removing the usage keygate asked for changes the length.
  if (answer?.rewritten) headers.delete("content-length");
  headers.set("x-request-id", opts.requestId);
  // Origin content is served from keygate's own host, next to /admin. Should a browser ever render it (an origin
  // answering text/html), it runs in a sandbox with no script, no same-origin access and no sniffing, so it can
  // never act on /admin with a signed-in operator's Cloudflare Access cookie. API clients ignore both headers.
  headers.set("content-security-policy", "sandbox; default-src 'none'");
  headers.set("x-content-type-options", "nosniff");
  return response;
}

/**
 * The answer's body as the response meter (src/metering/response.ts) passes it on, counting its usage (a GET's, HEAD's
 * or OPTIONS' answer holds none, and is ended at once). A small JSON answer is read whole instead. A path keygate
 * does not know is read as a chat answer would be, so a budget still counts what such a route reports, or an estimate.
 */
async function meteredBody(
  upstream: Response,
  method: string,
  metering: ForwardMetering,
  reading: RequestReading | null,
  inputEstimate: number,
): Promise<{ body: BodyInit | null; finish: () => void; rewritten: boolean }> {
  if (!generates(method) || upstream.body === null) {
    metering.ended(NOT_METERED);
    return { body: upstream.body, finish: () => undefined, rewritten: false };
  }
  const route = metering.route ?? "chat";
  const contentType = upstream.headers.get("content-type");
  if (readsWhole(upstream.status, contentType, upstream.headers.get("content-length"))) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await upstream.arrayBuffer());
    } catch (err) {
      // Cut while it arrived (a hang-up, a reset): the origin had the request, so its input is charged.
      metering.ended(estimated(inputEstimate, "cut_short"));
      throw new ApiError("origin_unreachable", undefined, null, { cause: err });
    }
    metering.ended(meterWhole(bytes, { route, inputEstimate }));
    return { body: bytes, finish: () => undefined, rewritten: false };
  }
  const injected = reading?.injected ?? false;
  const meter = meterResponse(upstream.body, contentType, upstream.status, { route, injected, inputEstimate });
  void meter.done.then((usage) => metering.ended(usage));
  return { body: meter.body, finish: meter.finish, rewritten: injected };
}

/** `{origin}{rest}{?query}`: the client's query string as sent, the fragment (never sent on the wire) dropped. */
function targetUrl(originUrl: string, restPath: string, clientUrl: string): string {
  const hash = clientUrl.indexOf("#");
  const withoutFragment = hash === -1 ? clientUrl : clientUrl.slice(0, hash);
  const q = withoutFragment.indexOf("?");
  return originUrl.replace(/\/+$/, "") + restPath + (q === -1 ? "" : withoutFragment.slice(q));
}

/**
 * With `redirect: "manual"` workerd hands back the 3xx itself; a standard fetch gives an "opaqueredirect" (status 0),
 * which workers-types does not list, hence the widening. 304 Not Modified is in the 3xx class but is an answer,
 * not a redirect (RFC 9110 §15.4.5), so it passes through.
 */
function isRedirect(response: Response): boolean {
  const { status } = response;
  if (status >= 300 && status < 400) return status !== 304;
  // An opaque redirect has status 0; only then is the (costlier) `type` getter worth reading.
  return status === 0 && (response.type as string) === "opaqueredirect";
}

/**
 * The call's answer, or the reason it was given up on as soon as there is one, even if the call ignores its signal.
 * An answer that comes after the call was given up on is released: nobody will read its body.
 */
function answerOrGivenUp(call: Promise<Response>, givenUp: Promise<never>, signal: AbortSignal): Promise<Response> {
  call.then(
    (response) => {
      if (signal.aborted) void response.body?.cancel().catch(() => undefined);
    },
    () => undefined, // the race below reports it
  );
  return Promise.race([call, givenUp]);
}
