/**
 * Cross-site request forgery, for the one credential a browser sends by itself: Cloudflare Access's session cookie
 * (`CF_Authorization`), from which the edge makes the `Cf-Access-Jwt-Assertion` header on every request to this
 * host — whichever site caused it. A Bearer token (what the console keeps in sessionStorage, and every SDK and CLI
 * sends) is never sent by itself, so it needs none of this; nor does an Access service token sent by a program
 * (`CF-Access-Client-Id`, no cookie).
 *
 * A write authenticated by the cookie must therefore
 *   1. carry `X-Keygate-Console` (the console's scripts send it): a custom header, which a cross-site form cannot
 *      send and a cross-site fetch cannot send without a CORS preflight that keygate never answers with permission;
 *   2. not be cross-site by the browser's own account: `Sec-Fetch-Site`, when sent, is `same-origin`; else `Origin`,
 *      when sent, is this host's origin.
 * Reads need neither: they change nothing, and CORS keeps their answers from another site's scripts.
 */
import { ApiError } from "../errors";

export const CONSOLE_HEADER = "x-keygate-console";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Whether the request carries Access's browser session cookie. */
function hasAccessCookie(headers: Headers): boolean {
  const cookie = headers.get("cookie");
  // `;` separates cookies in one header; `, ` is how Headers joins a request's several Cookie fields.
  return cookie !== null && /(?:^|[;,]\s*)CF_Authorization=/i.test(cookie);
}

/** Throws 403 csrf_check_failed for a cookie-authenticated write that could have been made by another site. */
export function checkAccessCookieWrite(request: Request): void {
  if (SAFE_METHODS.has(request.method) || !hasAccessCookie(request.headers)) return;
  if (!request.headers.has(CONSOLE_HEADER)) {
    throw new ApiError(
      "csrf_check_failed",
      `A write authenticated by the Cloudflare Access cookie must carry the '${CONSOLE_HEADER}' header (the console sends it), or use a Bearer token.`,
    );
  }
  const site = request.headers.get("sec-fetch-site");
  const origin = request.headers.get("origin");
  const sameSite = site !== null ? site === "same-origin" : origin === null || origin === new URL(request.url).origin;
  if (!sameSite) throw new ApiError("csrf_check_failed", "A write authenticated by the Cloudflare Access cookie must come from this host's own pages.");
}
