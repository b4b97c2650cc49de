/**
 * Property: whatever the case and repetition, no client credential, cookie, forwarding claim or override header
 * reaches the origin, and no host-wide header from the origin reaches the client.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { filterDownstream, filterUpstream } from "../../src/gateway/headers";
import { build, HARMLESS, headerList, NEVER_DOWN, NEVER_UP } from "../header-lists";

const RUNS = 3000;

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
