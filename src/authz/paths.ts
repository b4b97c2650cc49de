/**
 * Which origin paths a deployment may reach, and the one normal form they are compared in.
 *
 * The allow-list is only as strong as the comparison: `/v1/models/../../admin` or `/v1/models%2F..%2Fadmin` must not
 * pass a `/v1/models/*` entry and then reach `/admin` on an origin that decodes or resolves them itself. So the path
 * is normalised once here, checked, and that same normalised string is what gets forwarded.
 */

/** The OpenAI-compatible inference routes. Never a server's admin routes (vLLM's `/v1/load_lora_adapter`, …). */
export const DEFAULT_ALLOWED_PATHS: readonly string[] = [
  "/v1/chat/completions",
  "/v1/completions",
  "/v1/embeddings",
  "/v1/models",
  "/v1/models/*",
];

export const MAX_ALLOWED_PATH_LENGTH = 256;

/** What can make a path not normal: an escape, a backslash, a control, a ";", an empty segment, a dot segment. */
const NEEDS_NORMALISING = /[%\\;\u0000-\u001f\u007f]|\/\/|\/\.\.?(?:\/|$)/;
/** Encoded "/" and "\": origins disagree on whether they are separators, so they are made separators here. */
const ENCODED_SEPARATOR = /%2f|%5c|\\/gi;
/** Raw C0 controls and DEL, or their percent-encodings (%00–%1F, %7F): no inference route has them. */
const CONTROL = /[\u0000-\u001f\u007f]|%[01][0-9a-f]|%7f/i;
/**
 * A ";" (or its encoding %3B) starts a path parameter in Java servers (Tomcat, Jetty, Spring): `/v1/models/..;/x`
 * is `/v1/models/../x` to them, which would climb past the allow-list. No inference route has one.
 */
const PATH_PARAMETER = /;|%3b/i;
/** A "%" not followed by two hex digits: origins would each repair it differently. */
const BROKEN_ESCAPE = /%(?![0-9a-f]{2})/i;

/**
 * Normalises the part of the URL path after `/endpoint/{project}/{deployment}` (still percent-encoded).
 *
 * Encoded slashes and backslashes become "/", empty segments collapse, and dot-segments — including encoded ones
 * such as `%2e%2E` — are resolved as in RFC 3986 §5.2.4 (remove_dot_segments). Every other percent-encoding is
 * kept as sent, so the origin receives the client's bytes.
 *
 * @returns the normalised path, starting with "/" (an empty input is "/"), or null when it would climb above the
 *          root, contains control characters (NUL included), a ";" path parameter or a malformed "%" escape.
 */
export function normalizeRestPath(raw: string): string | null {
  // The common case, `/v1/chat/completions`, is already normal: nothing encoded, no empty or dot segment.
  if (raw.startsWith("/") && !NEEDS_NORMALISING.test(raw)) return raw;
  if (CONTROL.test(raw) || BROKEN_ESCAPE.test(raw) || PATH_PARAMETER.test(raw)) return null;
  const path = raw.replace(ENCODED_SEPARATOR, "/");
  if (path === "") return "/";
  if (!path.startsWith("/")) return null;

  const out: string[] = [];
  // RFC 3986 §5.2.4: a path ending in "." or ".." keeps its trailing "/" (`/a/b/..` → `/a/`).
  let trailingSlash = false;
  for (const segment of path.split("/").slice(1)) {
    const dots = segment.replace(/%2e/gi, ".");
    if (segment === "") {
      trailingSlash = true;
    } else if (dots === ".") {
      trailingSlash = true;
    } else if (dots === "..") {
      // Where RFC 3986 would silently stay at the root, climbing out of it is an attack, not a typo.
      if (out.pop() === undefined) return null;
      trailingSlash = true;
    } else {
      out.push(segment);
      trailingSlash = false;
    }
  }
  if (out.length === 0) return "/";
  return "/" + out.join("/") + (trailingSlash ? "/" : "");
}

/**
 * Write-time check of one `allowed_paths` entry.
 * @returns an error message for the admin API (400, `param: "allowed_paths"`), or null when the entry is valid.
 */
export function validateAllowedPath(entry: string): string | null {
  if (entry.length > MAX_ALLOWED_PATH_LENGTH) return `must be at most ${MAX_ALLOWED_PATH_LENGTH} characters`;
  if (!entry.startsWith("/")) return 'must start with "/"';
  if (/\s/.test(entry)) return "must not contain whitespace";
  const star = entry.indexOf("*");
  if (star !== -1 && star !== entry.length - 1) return 'may contain "*" only as its last character';
  const prefix = star === -1 ? entry : entry.slice(0, -1);
  // Requests are compared in normal form, so an entry that is not in normal form could never match.
  if (normalizeRestPath(prefix) !== prefix) {
    return "must be a normalised path (no dot-segments, duplicate or encoded slashes, control characters)";
  }
  return null;
}

/**
 * Whether a normalised path is allowed. An entry is an exact path, or, when it ends in "*", a prefix:
 * `/v1/models/*` matches `/v1/models/x` and `/v1/models/a/b`, but not `/v1/models`. Comparison is case-sensitive,
 * as paths are (RFC 3986 §6.2.2.1).
 */
export function isPathAllowed(path: string, allowedPaths: readonly string[]): boolean {
  return allowedPaths.some((entry) =>
    entry.endsWith("*") ? path.startsWith(entry.slice(0, -1)) : path === entry,
  );
}
