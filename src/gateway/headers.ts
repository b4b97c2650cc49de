/**
 * Which headers cross the proxy, in each direction. The upstream request is built fresh, not copied and trimmed: the origin
 * sees the client's content headers and the deployment's own credentials, never the client's credentials, cookies,
 * connection-level headers, or claims about the client's address that the client could have forged.
 */
import { ASSERTION_HEADER, HOP_BY_HOP, isReservedOriginHeader } from "../origin";
import { REVISION_HEADER } from "../revision";

/** The client's credentials for keygate (docs/api.md, "Data plane"): the origin gets its own from origin headers. */
const CLIENT_CREDENTIALS = ["authorization", "x-api-key", "cookie"];

/**
 * Claims about who the client is or how it got here, in the spellings proxies and frameworks read. Cloudflare sets
 * its own `cf-*` facts on the subrequest; a client-sent value would let it impersonate an address or country to an
 * origin that trusts them.
 */
const FORWARDING = [
  "forwarded",
  "via",
  "x-real-ip",
  "true-client-ip",
  "x-client-ip",
  "client-ip",
  "fastly-client-ip",
  "x-cluster-client-ip",
  "x-originating-ip",
  "x-remote-addr",
  "x-remote-ip",
  "x-proxyuser-ip",
  "x-original-forwarded-for",
  "cdn-loop",
];
/** Envoy's `x-envoy-*` headers steer retries, timeouts and routing in a mesh in front of the origin. */
const FORWARDING_PREFIXES = ["x-forwarded-", "cf-", "x-envoy-"];

/**
 * Overrides an origin framework may honour: another path (`X-Original-URL` in IIS and Symfony, `X-Rewrite-URL`) or
 * another method (Rails, Express's method-override, Spring) than the one keygate checked.
 */
const OVERRIDES = [
  "x-original-url",
  "x-rewrite-url",
  "x-http-method-override",
  "x-http-method",
  "x-method-override",
];

/**
 * What keygate itself tells the origin: a client's copy would be a forgery that an origin checking only the header's
 * presence, or a deployment without the assertion, would pass on as keygate's.
 */
const KEYGATE_OWN = [ASSERTION_HEADER];

/**
 * Recomputed by the runtime for the message actually sent: `host` from the origin URL, `content-length` from the
 * forwarded body (which may be rewritten). `x-request-id` is replaced by keygate's own.
 */
const RECOMPUTED = ["host", "content-length", "x-request-id"];

/**
 * Names listed in `Connection` are hop-by-hop for this message too (RFC 9110 §7.6.1). workerd removes `Connection`
 * from an incoming request before the Worker sees it, so on the data plane the names a client lists there cannot
 * be read and are not removed by this rule (the header itself never reaches the origin). It still applies to
 * responses and to requests built in tests.
 */
function connectionListed(headers: Headers): string[] {
  const value = headers.get("connection");
  if (value === null) return [];
  return value
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== "");
}

/**
 * Response headers that act on the whole host rather than on this one answer. keygate's host also serves /admin, and
 * an origin is the tenant's to control, so none of these may pass: cookies; reporting endpoints that would collect
 * the host's traffic (`NEL`, `Report-To`, `Reporting-Endpoints`); `Clear-Site-Data`, which would sign operators out;
 * HSTS and `Alt-Svc`, which bind the host's transport; `Refresh`; CORS grants (`Access-Control-Allow-*`), which would
 * open keygate's host to another site's scripts; `Permissions-Policy`; `Link`, which can preload or prefetch
 * anything; `Service-Worker-Allowed`, which widens a service worker's scope; client-hint opt-ins (`Accept-CH`,
 * `Critical-CH`), `Origin-Trial` and `WWW-Authenticate`. API clients use none of them; Content-Type, Retry-After, `x-ratelimit-*`,
 * `openai-*`, caching and encoding headers pass.
 */
const HOST_WIDE = [
  "set-cookie",
  "set-cookie2",
  "nel",
  "report-to",
  "reporting-endpoints",
  "clear-site-data",
  "strict-transport-security",
  "alt-svc",
  "refresh",
  "permissions-policy",
  "feature-policy",
  "link",
  "service-worker-allowed",
  "accept-ch",
  "critical-ch",
  "origin-trial",
  // A Basic challenge from an origin would make a browser prompt for a password on keygate's own host: a phishing
  // page for operators. keygate's own 401s carry their Bearer challenge (src/errors.ts).
  "www-authenticate",
];
const HOST_WIDE_PREFIXES = ["access-control-allow-"];

/**
 * A deny-list, not an allow-list, for what goes up: OpenAI-compatible clients send headers origins rely on
 * (`OpenAI-Organization`, `OpenAI-Beta`, `x-stainless-*`, `anthropic-version`, tracing headers), and an allow-list
 * would break every one it did not foresee. What is dropped is what an origin could mistake for keygate's word:
 * credentials, forwarding claims, overrides, keygate's own assertion.
 */
const UPSTREAM_DROPPED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  ...CLIENT_CREDENTIALS,
  ...FORWARDING,
  ...OVERRIDES,
  ...KEYGATE_OWN,
  ...RECOMPUTED,
]);
/** keygate's word on the answer (src/revision.ts): an origin's would be a forgery when keygate says none. */
const KEYGATE_SAYS = [REVISION_HEADER];
const DOWNSTREAM_DROPPED: ReadonlySet<string> = new Set([...HOP_BY_HOP, ...HOST_WIDE, ...KEYGATE_SAYS]);

/**
 * Deletes the dropped names from `headers`, in place: the headers of the message keygate is building (the upstream
 * Request, or the Response around the origin's), which the runtime copied once from the other side. On the data
 * plane's hot path (BENCHMARKS.md, "The warm path"), filtering a separate copy that the constructor then copies again
 * measured about twice the cost, and handing the constructor a list of [name, value] pairs built in JavaScript cost
 * more still (every string crosses into the runtime); deleting only the names present is about half the cost of
 * deleting every name on the drop lists. The names are collected before any is deleted (a Headers iterator over a
 * list that shrinks under it would skip one). Header names iterate lower-cased.
 */
function dropFrom(headers: Headers, dropped: ReadonlySet<string>, droppedPrefixes: readonly string[]): void {
  const listed = connectionListed(headers);
  let doomed: string[] | null = null;
  for (const name of headers.keys()) {
    if (dropped.has(name) || (listed.length > 0 && listed.includes(name)) || startsWithAny(name, droppedPrefixes)) {
      (doomed ??= []).push(name);
    }
  }
  if (doomed !== null) for (const name of doomed) headers.delete(name);
}

function startsWithAny(name: string, prefixes: readonly string[]): boolean {
  for (const prefix of prefixes) if (name.startsWith(prefix)) return true;
  return false;
}

/**
 * The headers of the request to the origin, from the client's copy in place: minus credentials, hop-by-hop and
 * forgeable forwarding headers, plus keygate's `x-request-id` (so origin logs can be joined to ours), plus the
 * deployment's origin headers, which win over anything the client sent (e.g. the origin's own `Authorization`).
 */
export function filterUpstream(headers: Headers, originHeaders: Record<string, string>, requestId: string): void {
  dropFrom(headers, UPSTREAM_DROPPED, FORWARDING_PREFIXES);
  headers.set("x-request-id", requestId);
  for (const [name, value] of Object.entries(originHeaders)) {
    // The admin API rejects these at write time; skipping them here keeps a bad row from corrupting the request.
    if (!isReservedOriginHeader(name)) headers.set(name, value);
  }
}

/**
 * The headers of the response to the client, from the origin's copy in place: minus hop-by-hop and host-wide headers
 * (HOST_WIDE). An origin's cookies would be set on keygate's host, shared by every deployment behind it, so they never
 * pass.
 */
export function filterDownstream(headers: Headers): void {
  dropFrom(headers, DOWNSTREAM_DROPPED, HOST_WIDE_PREFIXES);
  // The Workers fetch() hands over a compressed body already decoded (and re-encodes it on the way out, as
  // `content-encoding` still says), so the origin's length of the encoded bytes no longer describes this body.
  if (headers.has("content-encoding")) headers.delete("content-length");
}
