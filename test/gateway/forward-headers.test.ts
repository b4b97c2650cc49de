/**
 * Property, through forwardToOrigin and the runtime's own Request and Response: whatever the case and repetition, no
 * client credential, forwarding claim or override reaches the origin, no host-wide header from the origin reaches the
 * client, and keygate's own answer headers come once, with keygate's values. (The filters alone: test/fuzz.)
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_ALLOWED_PATHS } from "../../src/authz/paths";
import { forwardToOrigin } from "../../src/gateway/forward";
import { build, HARMLESS, headerList, NEVER_DOWN, NEVER_UP } from "../header-lists";
import { deploymentRecord } from "../records";

const RUNS = 150;
const deployment = deploymentRecord({
  originUrl: "https://origin.test",
  allowedPaths: [...DEFAULT_ALLOWED_PATHS],
  originHeaders: { Authorization: "Bearer origin" },
});
/** What keygate says on every forwarded answer: an origin's own value must not come along. */
const KEYGATE_SAYS = ["x-request-id", "content-security-policy", "x-content-type-options", "keygate-revision"];

describe("forwardToOrigin: headers, through the runtime's Request and Response", () => {
  it("nothing dangerous goes up or comes down, and keygate's own headers come once", async () => {
    await fc.assert(
      fc.asyncProperty(headerList(NEVER_UP), headerList([...NEVER_DOWN, ...KEYGATE_SAYS]), async (up, down) => {
        let sent: Headers | null = null;
        const origin = async (request: Request) => {
          sent = new Headers(request.headers);
          return new Response("ok", { status: 200, statusText: "Fine", headers: build(down) });
        };
        const client = new Request("https://keygate.test/endpoint/acme/llama/v1/models", { headers: build(up) });
        const response = await forwardToOrigin(client, deployment, "/v1/models", {
          fetch: origin as typeof fetch, requestId: "req_test", maxBodyBytes: 1024, timeoutMs: 2000, bodyTimeoutMs: 2000,
        });
        await response.text();
        const upstream = sent as unknown as Headers;
        for (const name of NEVER_UP) {
          if (name === "authorization") expect(upstream.get(name)).toBe("Bearer origin");
          else expect(upstream.has(name), `${name} went up`).toBe(false);
        }
        for (const name of NEVER_DOWN) expect(response.headers.has(name), `${name} came down`).toBe(false);
        expect(response.headers.get("x-request-id")).toBe("req_test");
        expect(response.headers.get("content-security-policy")).toBe("sandbox; default-src 'none'");
        expect(response.headers.get("x-content-type-options")).toBe("nosniff");
        expect(response.headers.has("keygate-revision")).toBe(false);
        expect(response.statusText).toBe("Fine");
        for (const [name] of up) if (HARMLESS.includes(name.toLowerCase())) expect(upstream.has(name)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
