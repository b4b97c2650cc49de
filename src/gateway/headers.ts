/**
 * Which headers cross the proxy, in each direction. The upstream request is built fresh (STYLE.md §10): the origin
 * sees the client's content headers and the deployment's own credentials, never the client's credentials, cookies,
 * connection-level headers, or claims about the client's address that the client could have forged.
 */
import { HOP_BY_HOP, isReservedOriginHeader } from "../origin";

/** The client's credentials for keygate (docs/api.md, "Data plane"): the origin gets its own from origin headers. */
const CLIENT_CREDENTIALS = ["authorization", "x-api-key", "cookie"];

/**
 * Claims about who the client is or how it got here. Cloudflare sets its own `cf-*` facts on the subrequest; a
 * client-sent value would let it impersonate an address or country to an origin that trusts them.
 */
const FORWARDING = ["forwarded", "x-real-ip", "true-client-ip", "x-client-ip", "x-cluster-client-ip", "cdn-loop"];
const FORWARDING_PREFIXES = ["x-forwarded-", "cf-"];

/**
 * Recomputed by the runtime for the message actually sent: `host` from the origin URL, `content-length` from the
 * forwarded body (which may be rewritten). `x-request-id` is replaced by keygate's own.
 */
const RECOMPUTED = ["host", "content-length", "x-request-id"];

/** Names listed in `Connection` are hop-by-hop for this message too (RFC 9110 §7.6.1). */
function connectionListed(headers: Headers): string[] {
  const value = headers.get("connection");
  if (value === null) return [];
  return value
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== "");
}

const UPSTREAM_DROPPED: ReadonlySet<string> = new Set([...HOP_BY_HOP, ...CLIENT_CREDENTIALS, ...FORWARDING, ...RECOMPUTED]);
const DOWNSTREAM_DROPPED: ReadonlySet<string> = new Set([...HOP_BY_HOP, "set-cookie", "set-cookie2"]);

/**
 * A copy of `source` without the dropped names. One pass over the names, deleting only those present: on the
 * data plane's hot path this measured about half the cost of deleting every name on the drop lists, and of
 * rebuilding the headers by appending. Header names iterate lower-cased.
 */
function keepOnly(source: Headers, dropped: ReadonlySet<string>, droppedPrefixes: readonly string[]): Headers {
  const listed = connectionListed(source);
  const out = new Headers(source);
  for (const name of source.keys()) {
    if (dropped.has(name) || listed.includes(name) || droppedPrefixes.some((prefix) => name.startsWith(prefix))) {
      out.delete(name);
    }
  }
  return out;
}

/**
 * Headers for the request to the origin: the client's, minus credentials, hop-by-hop and forgeable forwarding
 * headers, plus keygate's `x-request-id` (so origin logs can be joined to ours), plus the deployment's origin
 * headers, which win over anything the client sent (e.g. the origin's own `Authorization`).
 */
export function upstreamHeaders(
  clientHeaders: Headers,
  originHeaders: Record<string, string>,
  requestId: string,
): Headers {
  const out = keepOnly(clientHeaders, UPSTREAM_DROPPED, FORWARDING_PREFIXES);
  out.set("x-request-id", requestId);
  for (const [name, value] of Object.entries(originHeaders)) {
    // The admin API rejects these at write time; skipping them here keeps a bad row from corrupting the request.
    if (!isReservedOriginHeader(name)) out.set(name, value);
  }
  return out;
}

/**
 * Headers for the response to the client: the origin's, minus hop-by-hop headers and cookies. An origin's cookies
 * would be set on keygate's host, shared by every deployment behind it, so they never pass.
 */
export function downstreamHeaders(originHeaders: Headers): Headers {
  const out = keepOnly(originHeaders, DOWNSTREAM_DROPPED, []);
  // The Workers fetch() hands over a compressed body already decoded (and re-encodes it on the way out, as
  // `content-encoding` still says), so the origin's length of the encoded bytes no longer describes this body.
  if (out.has("content-encoding")) out.delete("content-length");
  return out;
}
