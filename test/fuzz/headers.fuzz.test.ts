/**
 * Property: whatever the case and repetition, no client credential, cookie, forwarding claim or override header
 * reaches the origin, and no host-wide header from the origin reaches the client.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { filterDownstream, filterUpstream } from "../../src/gateway/headers";

const RUNS = 3000;

const NEVER_UP = [
  "authorization", "x-api-key", "cookie", "proxy-authorization", "forwarded", "via", "x-real-ip", "true-client-ip",
  "x-client-ip", "client-ip", "fastly-client-ip", "x-cluster-client-ip", "x-originating-ip", "x-remote-addr",
  "x-proxyuser-ip", "x-original-forwarded-for", "x-original-url", "x-rewrite-url", "x-http-method-override",
  "x-http-method", "x-method-override", "x-forwarded-for", "x-forwarded-host", "x-forwarded-anything",
  "cf-connecting-ip", "cf-ipcountry", "cf-access-jwt-assertion", "x-envoy-original-path", "keep-alive", "te",
  "transfer-encoding", "upgrade",
];
const NEVER_DOWN = [
  "set-cookie", "nel", "report-to", "reporting-endpoints", "clear-site-data", "strict-transport-security", "alt-svc",
  "refresh", "permissions-policy", "link", "access-control-allow-origin", "access-control-allow-credentials",
  "access-control-allow-methods", "service-worker-allowed", "keep-alive",
];
const HARMLESS = ["content-type", "accept", "user-agent", "openai-organization", "x-custom", "retry-after"];

/** A name in random case: header names are case-insensitive, so every spelling must be caught. */
const anyCase = (names: string[]) =>
  fc.tuple(fc.constantFrom(...names), fc.array(fc.boolean(), { minLength: 40, maxLength: 40 })).map(([name, flips]) =>
    [...name].map((ch, i) => (flips[i] ? ch.toUpperCase() : ch)).join(""),
  );

const headerList = (dangerous: string[]) =>
  fc.array(fc.tuple(fc.oneof(anyCase(dangerous), anyCase(HARMLESS)), fc.string({ maxLength: 20 }).map((v) => v.replace(/[\r\n\0]/g, ""))), {
    maxLength: 25,
  });

function build(pairs: [string, string][]): Headers {
  const headers = new Headers();
  for (const [name, value] of pairs) headers.append(name, value);
  return headers;
}

describe("header filters", () => {
  it("nothing dangerous goes up, whatever the case and repetition", () => {
    fc.assert(
      fc.property(headerList(NEVER_UP), (pairs) => {
        const out = build(pairs);
        filterUpstream(out, { authorization: "Bearer origin" }, "req_1");
        for (const name of NEVER_UP) {
          if (name === "authorization") expect(out.get(name)).toBe("Bearer origin");
          else expect(out.has(name), name).toBe(false);
        }
        expect([...out.values()].join("\n")).not.toContain("ik_live_");
      }),
      { numRuns: RUNS },
    );
  });

  it("nothing host-wide comes down, whatever the case and repetition", () => {
    fc.assert(
      fc.property(headerList(NEVER_DOWN), (pairs) => {
        const out = build(pairs);
        filterDownstream(out);
        for (const name of NEVER_DOWN) expect(out.has(name), name).toBe(false);
        for (const [name] of pairs) if (HARMLESS.includes(name.toLowerCase())) expect(out.has(name)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
