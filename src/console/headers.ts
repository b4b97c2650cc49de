/**
 * The console's response headers. Its pages hold no data (their scripts fetch it from /admin/v1 with the operator's
 * credential), but a page that runs script can be turned against that credential, so each response:
 * - allows only its own inline scripts and styles, by a nonce made for that response (no 'unsafe-inline', no other
 *   origin: nothing is loaded from a CDN), and fetches only from its own origin;
 * - cannot be framed (`frame-ancestors 'none'`, and X-Frame-Options for older browsers): no clickjacking of the
 *   revoke or kill-switch buttons;
 * - is never cached (`no-store`) and sends no Referer, so a page with a project's name in its URL stays put.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { AppBindings } from "../env";

const secure = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: [NONCE],
    styleSrc: [NONCE],
    connectSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    formAction: ["'self'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: "DENY",
  referrerPolicy: "no-referrer",
  crossOriginOpenerPolicy: "same-origin",
  crossOriginResourcePolicy: "same-origin",
});

export const consoleHeaders = createMiddleware<AppBindings>(async (c, next) => {
  await secure(c, next);
  c.header("cache-control", "no-store");
});

/** The nonce secureHeaders made for this response: every inline script and style tag carries it. */
export function nonceOf(c: Context<AppBindings>): string {
  const nonce = c.get("secureHeadersNonce");
  // secureHeaders runs before every console route; without a nonce the page's scripts would be refused anyway.
  if (nonce === undefined) throw new Error("console: no CSP nonce for this response");
  return nonce;
}
