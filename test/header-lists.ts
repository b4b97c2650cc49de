/**
 * Header names that must never cross keygate in one direction or the other, and fast-check generators of header lists
 * mixing them with harmless ones in any case and repetition: shared by the filters' own property test
 * (test/fuzz/headers.fuzz.test.ts) and the one through forwardToOrigin (test/gateway/forward-headers.test.ts).
 */
import fc from "fast-check";

export const NEVER_UP = [
  "authorization", "x-api-key", "cookie", "proxy-authorization", "forwarded", "via", "x-real-ip", "true-client-ip",
  "x-client-ip", "client-ip", "fastly-client-ip", "x-cluster-client-ip", "x-originating-ip", "x-remote-addr",
  "x-proxyuser-ip", "x-original-forwarded-for", "x-original-url", "x-rewrite-url", "x-http-method-override",
  "x-http-method", "x-method-override", "x-forwarded-for", "x-forwarded-host", "x-forwarded-anything",
  "cf-connecting-ip", "cf-ipcountry", "cf-access-jwt-assertion", "x-envoy-original-path", "keep-alive", "te",
  "transfer-encoding", "upgrade",
];
export const NEVER_DOWN = [
  "set-cookie", "nel", "report-to", "reporting-endpoints", "clear-site-data", "strict-transport-security", "alt-svc",
  "refresh", "permissions-policy", "link", "access-control-allow-origin", "access-control-allow-credentials",
  "access-control-allow-methods", "service-worker-allowed", "keep-alive",
];
export const HARMLESS = ["content-type", "accept", "user-agent", "openai-organization", "x-custom", "retry-after"];

/** A name in random case: header names are case-insensitive, so every spelling must be caught. */
const anyCase = (names: string[]) =>
  fc.tuple(fc.constantFrom(...names), fc.array(fc.boolean(), { minLength: 40, maxLength: 40 })).map(([name, flips]) =>
    [...name].map((ch, i) => (flips[i] ? ch.toUpperCase() : ch)).join(""),
  );

export const headerList = (dangerous: string[]) =>
  fc.array(fc.tuple(fc.oneof(anyCase(dangerous), anyCase(HARMLESS)), fc.string({ maxLength: 20 }).map((v) => v.replace(/[\r\n\0]/g, ""))), {
    maxLength: 25,
  });

export function build(pairs: [string, string][]): Headers {
  const headers = new Headers();
  for (const [name, value] of pairs) headers.append(name, value);
  return headers;
}
