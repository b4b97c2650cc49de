/**
 * What a deployment's origin may be — its URL and the headers keygate adds for it — in one place, used by the
 * admin API when an origin is written and by the gateway when a request is built (docs/api.md: "Origins must be
 * https URLs on public hosts").
 * keygate never resolves DNS here; it refuses what is private by its form: IP literals outside public unicast
 * space, and names that only resolve inside a network. In production Workers cannot reach private addresses
 * anyway; this check makes the mistake a clear 400 instead of a 502 later. ALLOW_PRIVATE_ORIGINS=true (local
 * development) allows http and loopback/private hosts.
 */
import ipaddr from "ipaddr.js";

/**
 * Hop-by-hop headers: they describe one connection, not the message, so a proxy must not forward them
 * (RFC 9110 §7.6.1). `proxy-connection` is the non-standard ancestor of `connection` still sent by old clients;
 * `proxy-authenticate` / `proxy-authorization` were hop-by-hop in RFC 2616 §13.5.1: they concern a proxy, not the
 * origin.
 */
export const HOP_BY_HOP: readonly string[] = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "proxy-authenticate",
  "proxy-authorization",
];

/** keygate's signed word to the origin (gateway/assertion.ts): only keygate ever sets it. */
export const ASSERTION_HEADER = "keygate-assertion";

/**
 * Header names an origin header may not use: they would break the message framing or the connection, or pass for
 * keygate's own assertion. The admin API refuses them at write time; the gateway skips them too, so a bad row cannot
 * corrupt a request.
 */
export function isReservedOriginHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return HOP_BY_HOP.includes(lower) || lower === "host" || lower === "content-length" || lower === ASSERTION_HEADER;
}

const PRIVATE_SUFFIXES = [".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet", ".corp"];

function isPrivateHost(hostname: string): boolean {
  // A fully qualified name may end in "." ("localhost." is localhost): judge it without the root label.
  const host = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname.replace(/\.$/, "");
  if (ipaddr.isValid(host)) {
    let addr = ipaddr.parse(host);
    if (addr.kind() === "ipv6") {
      const v6 = addr as ipaddr.IPv6;
      if (v6.isIPv4MappedAddress()) addr = v6.toIPv4Address();
      // ::a.b.c.d, the deprecated IPv4-compatible form (RFC 4291 §2.5.5.1): ipaddr.js calls it unicast, but
      // stacks that still honour it reach the embedded IPv4 address, loopback and link-local included.
      else if (v6.parts.slice(0, 6).every((part) => part === 0)) return true;
    }
    return addr.range() !== "unicast";
  }
  // A single label ("vllm", "localhost") only resolves through a local resolver or /etc/hosts.
  if (!host.includes(".")) return true;
  return PRIVATE_SUFFIXES.some((suffix) => host.endsWith(suffix));
}

/** The canonical origin URL (no trailing slash), or an error message. */
export function checkOriginUrl(raw: string, allowPrivate: boolean): { url: string } | { error: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { error: "is not an absolute URL" };
  }
  if (url.protocol !== "https:" && !(allowPrivate && url.protocol === "http:")) {
    return { error: allowPrivate ? "must be an http or https URL" : "must be an https URL" };
  }
  if (url.username || url.password) return { error: "must not contain credentials; use origin.headers" };
  if (url.search || url.hash) return { error: "must not have a query string or fragment" };
  if (!allowPrivate && isPrivateHost(url.hostname)) {
    return { error: "must be a public host (private and loopback hosts need ALLOW_PRIVATE_ORIGINS=true)" };
  }
  return { url: url.href.replace(/\/+$/, "") };
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// RFC 9110 §5.5: a field value is visible ASCII, space and tab; no CR, LF or NUL (header injection).
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
export const MAX_ORIGIN_HEADERS = 32;

/** An error message for the first bad origin header, with the field path to name in `param`. */
export function checkOriginHeaders(headers: Record<string, string>): { param: string; error: string } | null {
  const names = Object.keys(headers);
  if (names.length > MAX_ORIGIN_HEADERS) return { param: "origin.headers", error: `at most ${MAX_ORIGIN_HEADERS}` };
  const seen = new Set<string>();
  for (const name of names) {
    const param = `origin.headers.${name}`;
    if (!HEADER_NAME.test(name)) return { param, error: "is not a valid header name" };
    if (isReservedOriginHeader(name)) return { param, error: "is managed by the connection or by keygate and cannot be set" };
    if (seen.has(name.toLowerCase())) return { param, error: "is given twice (header names are case-insensitive)" };
    seen.add(name.toLowerCase());
    const value = headers[name] ?? "";
    if (value.length > 8192 || !HEADER_VALUE.test(value)) return { param, error: "is not a valid header value" };
  }
  return null;
}
