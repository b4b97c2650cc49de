/**
 * The forwarding half of the data plane: an already-authorized request becomes a fresh upstream request to the
 * deployment's origin, and the origin's answer is streamed back as it arrives (docs/api.md, "Data plane").
 *
 * One AbortController governs the origin call. It is aborted, with an ApiError saying why, when the client hangs up,
 * when the origin's response headers take longer than `timeoutMs`, or when a streamed body passes `maxBodyBytes`.
 */
import type { DeploymentRecord } from "../authz/types";
import { ApiError } from "../errors";
import { downstreamHeaders, upstreamHeaders } from "./headers";

export interface ForwardOptions {
  /** The origin call: a parameter so tests can play the origin. */
  fetch: typeof fetch;
  requestId: string;
  /** Largest request body forwarded; larger is 413 `request_too_large`. */
  maxBodyBytes: number;
  /** Longest wait for the origin's response headers; longer is 504 `origin_timeout`. Never cuts a stream. */
  timeoutMs: number;
}

/**
 * @param restPath the normalised path after `/endpoint/{project}/{deployment}` (see normalizeRestPath), already
 *                 checked against the deployment's allowed paths
 * @throws ApiError `request_too_large`, `origin_timeout`, `origin_unreachable` (also for an origin redirect)
 */
export async function forwardToOrigin(
  request: Request,
  deployment: DeploymentRecord,
  restPath: string,
  opts: ForwardOptions,
): Promise<Response> {
  const abort = new AbortController();
  const hangUp = (): void =>
    abort.abort(
      new ApiError("origin_unreachable", "The client closed the request.", null, { cause: request.signal.reason }),
    );
  // Stays attached for the whole response, so a hang-up mid-stream also cancels the origin's body.
  if (request.signal.aborted) hangUp();
  else request.signal.addEventListener("abort", hangUp, { once: true });

  const headers = upstreamHeaders(request.headers, deployment.originHeaders, opts.requestId);
  const body = await upstreamBody(request, deployment.model, opts.maxBodyBytes, () =>
    abort.abort(new ApiError("request_too_large")),
  );
  if (body.length !== null) headers.set("content-length", String(body.length));

  const timer = setTimeout(() => abort.abort(new ApiError("origin_timeout")), opts.timeoutMs);
  let upstream: Response;
  try {
    const upstreamRequest = new Request(targetUrl(deployment.originUrl, restPath, request.url), {
      method: request.method,
      headers,
      body: body.stream,
      // A redirect is the origin's business with its own clients; following it could leave the allowed paths.
      redirect: "manual",
      signal: abort.signal,
    });
    upstream = await untilAborted(opts.fetch(upstreamRequest), abort.signal);
  } catch (err) {
    const reason: unknown = abort.signal.reason;
    if (abort.signal.aborted && reason instanceof ApiError) throw reason;
    // Connection refused, DNS, TLS, …: the detail is for logs only (STYLE.md, "public message").
    throw new ApiError("origin_unreachable", undefined, null, { cause: err });
  } finally {
    // Headers are in (or the call is over): a long completion stream must not be cut by the header timeout.
    clearTimeout(timer);
  }

  if (isRedirect(upstream)) {
    await upstream.body?.cancel();
    throw new ApiError("origin_unreachable", "The origin answered with a redirect, which is not followed.", null, {
      cause: `origin status ${upstream.status} to ${upstream.headers.get("location") ?? "(no location)"}`,
    });
  }

  const responseHeaders = downstreamHeaders(upstream.headers);
  responseHeaders.set("x-request-id", opts.requestId);
  // Origin content is served from keygate's own host, next to /admin. Should a browser ever render it (an origin
  // answering text/html), it runs in a sandbox with no script, no same-origin access and no sniffing, so it can
  // never act on /admin with a signed-in operator's Cloudflare Access cookie. API clients ignore both headers.
  responseHeaders.set("content-security-policy", "sandbox; default-src 'none'");
  responseHeaders.set("x-content-type-options", "nosniff");
  // The origin's body stream itself: never buffered, so SSE reaches the client event by event.
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: responseHeaders,
  });
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

/** Settles with the call, or rejects with the signal's reason as soon as it aborts, even if the call ignores it. */
function untilAborted(call: Promise<Response>, signal: AbortSignal): Promise<Response> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    call.then(
      (response) => {
        signal.removeEventListener("abort", onAbort);
        // Lost the race: nobody will read this body, so release the origin connection.
        if (signal.aborted) void response.body?.cancel().catch(() => undefined);
        resolve(response);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

interface UpstreamBody {
  stream: ReadableStream<Uint8Array> | Uint8Array | null;
  /** Set when the body was buffered (model rewrite): the length of what is actually sent. */
  length: number | null;
}

async function upstreamBody(
  request: Request,
  model: string | null,
  maxBodyBytes: number,
  onTooLarge: () => void,
): Promise<UpstreamBody> {
  if (request.method === "GET" || request.method === "HEAD" || request.body === null) {
    return { stream: null, length: null };
  }
  const declared = declaredLength(request.headers);
  if (declared !== null && declared > maxBodyBytes) throw new ApiError("request_too_large");

  if (model !== null && isRewritable(request.headers)) {
    const bytes = await readBounded(request.body, maxBodyBytes);
    const sent = withModel(bytes, model) ?? bytes;
    return { stream: sent, length: sent.byteLength };
  }

  // A declared length within the limit is a bound the runtime enforces: HTTP framing delivers exactly
  // Content-Length bytes (RFC 9112 §6.2; a mismatch is a protocol error in HTTP/2, RFC 9113 §8.1.1). The native
  // stream then goes up as it came — no JavaScript in the byte path, and the runtime keeps sending Content-Length
  // to origins that do not accept chunked uploads. Only a body of unknown length has its bytes counted.
  if (declared !== null) return { stream: request.body, length: null };
  return { stream: request.body.pipeThrough(byteLimit(maxBodyBytes, onTooLarge)), length: null };
}

function declaredLength(headers: Headers): number | null {
  const value = headers.get("content-length");
  return value !== null && /^\d+$/.test(value) ? Number(value) : null;
}

/**
 * A body that may be JSON and is not content-encoded: only then can `model` be read and replaced. JSON is judged by
 * the body itself (withModel parses it), not only by the label: origins such as vLLM (FastAPI) and Ollama parse a
 * body sent without a Content-Type, or as `application/<x>+json`, so skipping those would let a client choose the
 * model a deployment pins.
 */
function isRewritable(headers: Headers): boolean {
  const type = headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  const json = type === undefined || type === "" || type === "application/json" || /^application\/[\w.+-]+\+json$/.test(type);
  const encoding = headers.get("content-encoding")?.trim().toLowerCase();
  return json && (encoding === undefined || encoding === "" || encoding === "identity");
}

/** The body with `model` replaced, or null when it is not a JSON object with a `model` field (then sent as is). */
function withModel(bytes: Uint8Array, model: string): Uint8Array | null {
  let parsed: unknown;
  try {
    // fatal: invalid UTF-8 is forwarded untouched rather than "repaired" with U+FFFD.
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || !Object.hasOwn(parsed, "model")) {
    return null;
  }
  // Spreading keeps the key order, with `model` where the client put it.
  return new TextEncoder().encode(JSON.stringify({ ...parsed, model }));
}

async function readBounded(body: ReadableStream<Uint8Array>, maxBodyBytes: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (err) {
      throw new ApiError("invalid_request", "The request body could not be read.", null, { cause: err });
    }
    if (chunk.done) break;
    total += chunk.value.byteLength;
    if (total > maxBodyBytes) {
      await reader.cancel().catch(() => undefined);
      throw new ApiError("request_too_large");
    }
    chunks.push(chunk.value);
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
function byteLimit(max: number, onTooLarge: () => void): TransformStream<Uint8Array, Uint8Array> {
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
  });
}
