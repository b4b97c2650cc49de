import { describe, expect, it } from "vitest";
import { compileConditions } from "../../src/authz/conditions";
import { canonicalConditions } from "../../src/authz/conditions-schema";
import type { Conditions } from "../../src/authz/types";

describe("canonicalConditions", () => {
  it.each<[string, unknown, Conditions]>([
    ["null is no conditions", null, {}],
    ["undefined is no conditions", undefined, {}],
    ["an empty object", {}, {}],
    ["null fields are absent", { ip_allow: null, countries: null, not_before: null }, {}],
    [
      "CIDRs canonicalised, deduplicated, order kept",
      { ip_allow: ["203.0.113.7/24", "2001:DB8::/32", "203.0.113.0/24", "::ffff:198.51.100.1"] },
      { ip_allow: ["203.0.113.0/24", "2001:db8::/32", "198.51.100.1/32"] },
    ],
    ["a bare address and its /32 are one entry", { ip_deny: ["192.0.2.1", "192.0.2.1/32"] }, { ip_deny: ["192.0.2.1/32"] }],
    ["an empty ip_deny is absent", { ip_deny: [] }, {}],
    ["countries upper-cased and deduplicated", { countries: ["de", "DE", "Fr"] }, { countries: ["DE", "FR"] }],
    ["asns deduplicated", { asns: [13335, 13335, 1, 4294967295] }, { asns: [13335, 1, 4294967295] }],
    ["user agents kept as written", { user_agents: ["Terraform/*", "curl/?.*", "Terraform/*"] }, { user_agents: ["Terraform/*", "curl/?.*"] }],
    [
      "times stored as ISO UTC",
      { not_before: "2025-01-31T01:00:00+01:00", not_after: "2025-12-31t23:59:59.123456z" },
      { not_before: "2025-01-31T00:00:00.000Z", not_after: "2025-12-31T23:59:59.123Z" },
    ],
    [
      "fixed key order whatever the input order",
      { not_after: "2030-01-01T00:00:00Z", asns: [1], ip_allow: ["10.0.0.0/8"] },
      { ip_allow: ["10.0.0.0/8"], asns: [1], not_after: "2030-01-01T00:00:00.000Z" },
    ],
  ])("%s", (_, input, expected) => {
    const result = canonicalConditions(input);
    expect(result).toEqual({ ok: true, value: expected });
    if (result.ok) expect(Object.keys(result.value)).toEqual(Object.keys(expected));
  });

  it.each<[string, unknown, string]>([
    ["a string", "10.0.0.0/8", "conditions"],
    ["an array", ["10.0.0.0/8"], "conditions"],
    ["a number", 1, "conditions"],
    ["an unknown field", { ip_allowed: ["10.0.0.0/8"] }, "conditions.ip_allowed"],
    ["ip_allow not an array", { ip_allow: "10.0.0.0/8" }, "conditions.ip_allow"],
    ["a bad CIDR", { ip_allow: ["10.0.0.0/8", "192.0.2.0/24", "10.0.0.0/33"] }, "conditions.ip_allow[2]"],
    ["a zone id", { ip_deny: ["fe80::1%eth0"] }, "conditions.ip_deny[0]"],
    ["a CIDR that is not a string", { ip_deny: [167772160] }, "conditions.ip_deny[0]"],
    ["an empty ip_allow", { ip_allow: [] }, "conditions.ip_allow"],
    ["too many CIDRs", { ip_allow: Array.from({ length: 257 }, (_, i) => `10.0.${i >> 8}.${i & 255}`) }, "conditions.ip_allow"],
    ["an empty countries", { countries: [] }, "conditions.countries"],
    ["a 3-letter country", { countries: ["DEU"] }, "conditions.countries[0]"],
    ["a numeric country", { countries: ["T1"] }, "conditions.countries[0]"],
    ["a non-ASCII country", { countries: ["DE", "ÄÖ"] }, "conditions.countries[1]"],
    ["an empty asns", { asns: [] }, "conditions.asns"],
    ["ASN zero", { asns: [0] }, "conditions.asns[0]"],
    ["negative ASN", { asns: [-1] }, "conditions.asns[0]"],
    ["fractional ASN", { asns: [1.5] }, "conditions.asns[0]"],
    ["ASN above 32 bits", { asns: [4294967296] }, "conditions.asns[0]"],
    ["ASN as a string", { asns: ["13335"] }, "conditions.asns[0]"],
    ["an empty user_agents", { user_agents: [] }, "conditions.user_agents"],
    ["an empty glob", { user_agents: ["ok/*", ""] }, "conditions.user_agents[1]"],
    ["a glob with a newline", { user_agents: ["a\nb"] }, "conditions.user_agents[0]"],
    ["a glob too long", { user_agents: ["x".repeat(257)] }, "conditions.user_agents[0]"],
    ["not_before not a string", { not_before: 1735689600000 }, "conditions.not_before"],
    ["not_before a date only", { not_before: "2025-01-01" }, "conditions.not_before"],
    ["not_after with no zone", { not_after: "2025-01-01T00:00:00" }, "conditions.not_after"],
    ["not_after on February 30th", { not_after: "2025-02-30T00:00:00Z" }, "conditions.not_after"],
    ["not_before == not_after", { not_before: "2025-01-01T00:00:00Z", not_after: "2025-01-01T01:00:00+01:00" }, "conditions.not_after"],
    ["not_before after not_after", { not_before: "2026-01-01T00:00:00Z", not_after: "2025-01-01T00:00:00Z" }, "conditions.not_after"],
  ])("rejects %s", (_, input, param) => {
    const result = canonicalConditions(input);
    expect(result).toMatchObject({ ok: false, param });
    if (!result.ok) expect(result.message).toMatch(/^(must|is) .*[^.]$/);
  });

  it("accepts 256 entries", () => {
    const ips = Array.from({ length: 256 }, (_, i) => `10.0.0.${i}`);
    expect(canonicalConditions({ ip_allow: ips })).toMatchObject({ ok: true });
  });

  it("is idempotent: canonical conditions canonicalise to themselves", () => {
    const first = canonicalConditions({
      ip_allow: ["203.0.113.7/24", "::ffff:1.2.3.4"],
      ip_deny: ["2001:db8::1"],
      countries: ["de"],
      asns: [13335],
      user_agents: ["Terraform/*"],
      not_before: "2025-01-01T00:00:00+02:00",
      not_after: "2026-01-01T00:00:00Z",
    });
    if (!first.ok) throw new Error(first.message);
    expect(canonicalConditions(first.value)).toEqual(first);
  });
});

describe("compileConditions", () => {
  it("compiles nothing to nulls", () => {
    expect(compileConditions({})).toEqual({
      ipAllow: null,
      ipDeny: null,
      countries: null,
      asns: null,
      userAgents: null,
      notBefore: null,
      notAfter: null,
      endpoints: null,
    });
  });

  it("compiles every field", () => {
    const compiled = compileConditions({
      ip_allow: ["203.0.113.0/24"],
      ip_deny: ["2001:db8::/32"],
      countries: ["DE", "FR"],
      asns: [13335],
      user_agents: ["Terraform/*"],
      not_before: "2025-01-01T00:00:00.000Z",
      not_after: "2026-01-01T00:00:00.000Z",
    });
    expect(compiled.ipAllow).toEqual([{ bytes: new Uint8Array([203, 0, 113, 0]), prefix: 24 }]);
    expect(compiled.ipDeny?.[0]?.prefix).toBe(32);
    expect(compiled.ipDeny?.[0]?.bytes.length).toBe(16);
    expect(compiled.countries).toEqual(new Set(["DE", "FR"]));
    expect(compiled.asns).toEqual(new Set([13335]));
    expect(compiled.userAgents).toEqual(["Terraform/*"]);
    expect(compiled.notBefore).toBe(Date.UTC(2025, 0, 1));
    expect(compiled.notAfter).toBe(Date.UTC(2026, 0, 1));
  });

  it("throws on a corrupt stored CIDR or time rather than failing open", () => {
    expect(() => compileConditions({ ip_deny: ["not a cidr"] })).toThrow();
    expect(() => compileConditions({ not_after: "soon" })).toThrow();
  });
});

describe("a user_agents glob is never mistaken for an error message", () => {
  it("accepts a glob that happens to start with 'must '", () => {
    expect(canonicalConditions({ user_agents: ["must have*", "must "] })).toEqual({
      ok: true,
      value: { user_agents: ["must have*", "must "] },
    });
  });
});
