/**
 * Key conditions through the Worker's fetch: the client address from CF-Connecting-IP, country and ASN from
 * `request.cf`, the User-Agent header, and the not_before/not_after window. A failed condition never reaches
 * the origin.
 */
import { describe, expect, it } from "vitest";
import { call, expectError, fixture, recordingOrigin, type CallOptions } from "../helpers";

/** A fixture whose key carries `conditions`, and a caller that reports status and whether the origin was called. */
async function keyWith(conditions: Record<string, unknown>) {
  const f = await fixture({}, { conditions });
  const attempt = async (options: Omit<CallOptions, "origin" | "token"> = {}) => {
    const { origin, seen } = recordingOrigin();
    // settle: false — one key is used many times here; its coalesced usage write must not slow each call.
    const res = await call(`${f.path}/v1/models`, { ...options, token: f.key.key, origin, settle: false });
    return { res, reached: seen.length };
  };
  return { f, attempt };
}

const ip = (address: string): Omit<CallOptions, "origin" | "token"> => ({ headers: { "cf-connecting-ip": address } });

async function expectAllowed(outcome: Promise<{ res: Response; reached: number }>) {
  const { res, reached } = await outcome;
  expect(res.status).toBe(200);
  expect(reached).toBe(1);
}

async function expectDenied(outcome: Promise<{ res: Response; reached: number }>, code: string) {
  const { res, reached } = await outcome;
  await expectError(res, 403, code);
  expect(reached).toBe(0);
}

describe("ip_allow / ip_deny", () => {
  it("allows addresses inside ip_allow, IPv4 and IPv6", async () => {
    const { attempt } = await keyWith({ ip_allow: ["203.0.113.0/24", "2001:db8::/32"] });
    await expectAllowed(attempt(ip("203.0.113.9")));
    await expectAllowed(attempt(ip("2001:db8::1")));
    await expectAllowed(attempt(ip("2001:0db8:0000:0000:0000:0000:0000:0001")));
    await expectDenied(attempt(ip("203.0.114.9")), "ip_not_allowed");
    await expectDenied(attempt(ip("2001:db9::1")), "ip_not_allowed");
  });

  it("reads an IPv4-mapped IPv6 client as its IPv4 address", async () => {
    const { attempt } = await keyWith({ ip_allow: ["203.0.113.0/24"] });
    await expectAllowed(attempt(ip("::ffff:203.0.113.5")));
    await expectAllowed(attempt(ip("::ffff:cb00:7105")));
    await expectDenied(attempt(ip("::ffff:198.51.100.5")), "ip_not_allowed");
    const deny = await keyWith({ ip_deny: ["198.51.100.0/24"] });
    await expectDenied(deny.attempt(ip("::ffff:198.51.100.5")), "ip_not_allowed");
    await expectAllowed(deny.attempt(ip("::ffff:203.0.113.5")));
  });

  it("ip_deny wins over ip_allow", async () => {
    const { attempt } = await keyWith({ ip_allow: ["203.0.113.0/24"], ip_deny: ["203.0.113.7"] });
    await expectAllowed(attempt(ip("203.0.113.8")));
    await expectDenied(attempt(ip("203.0.113.7")), "ip_not_allowed");
  });

  it("ip_deny alone denies only its blocks (IPv6 too)", async () => {
    const { attempt } = await keyWith({ ip_deny: ["2001:db8::/48"] });
    await expectDenied(attempt(ip("2001:db8:0:1::1")), "ip_not_allowed");
    await expectAllowed(attempt(ip("2001:db8:1::1")));
    await expectAllowed(attempt(ip("192.0.2.1")));
  });

  it("a missing or unreadable CF-Connecting-IP denies when an IP rule exists", async () => {
    const allow = await keyWith({ ip_allow: ["0.0.0.0/0", "::/0"] });
    await expectDenied(allow.attempt(), "ip_not_allowed");
    await expectDenied(allow.attempt(ip("not-an-ip")), "ip_not_allowed");
    const deny = await keyWith({ ip_deny: ["198.51.100.0/24"] });
    await expectDenied(deny.attempt(), "ip_not_allowed");
  });

  it("reads only CF-Connecting-IP, never X-Forwarded-For or X-Real-IP", async () => {
    const { attempt } = await keyWith({ ip_allow: ["203.0.113.0/24"] });
    const spoofed = { "x-forwarded-for": "203.0.113.9", "x-real-ip": "203.0.113.9", "true-client-ip": "203.0.113.9" };
    await expectDenied(attempt({ headers: spoofed }), "ip_not_allowed");
    await expectDenied(attempt({ headers: { ...spoofed, "cf-connecting-ip": "198.51.100.1" } }), "ip_not_allowed");
  });
});

describe("countries, asns, user_agents", () => {
  it("countries: checked against request.cf.country", async () => {
    const { attempt } = await keyWith({ countries: ["DE", "FR"] });
    await expectAllowed(attempt({ cf: { country: "DE" } }));
    await expectDenied(attempt({ cf: { country: "US" } }), "condition_not_met");
    await expectDenied(attempt(), "condition_not_met");
    // A header is not request.cf: a client cannot claim its country.
    await expectDenied(attempt({ headers: { "cf-ipcountry": "DE" } }), "condition_not_met");
  });

  it("asns: checked against request.cf.asn", async () => {
    const { attempt } = await keyWith({ asns: [13335, 64496] });
    await expectAllowed(attempt({ cf: { asn: 64496 } }));
    await expectDenied(attempt({ cf: { asn: 15169 } }), "condition_not_met");
    await expectDenied(attempt(), "condition_not_met");
  });

  it("user_agents: glob patterns against User-Agent", async () => {
    const { attempt } = await keyWith({ user_agents: ["Terraform/*", "OpenAI/Python *"] });
    await expectAllowed(attempt({ headers: { "user-agent": "Terraform/1.9.0" } }));
    await expectAllowed(attempt({ headers: { "user-agent": "OpenAI/Python 1.54.0" } }));
    await expectDenied(attempt({ headers: { "user-agent": "curl/8.0" } }), "condition_not_met");
    await expectDenied(attempt(), "condition_not_met");
  });

  it("every present condition must hold", async () => {
    const { attempt } = await keyWith({ ip_allow: ["203.0.113.0/24"], countries: ["DE"], asns: [64496] });
    const good = { headers: { "cf-connecting-ip": "203.0.113.1" }, cf: { country: "DE", asn: 64496 } };
    await expectAllowed(attempt(good));
    await expectDenied(attempt({ ...good, cf: { country: "DE", asn: 1 } }), "condition_not_met");
    await expectDenied(attempt({ ...good, headers: { "cf-connecting-ip": "198.51.100.1" } }), "ip_not_allowed");
  });

  it("the denial message names the condition but not the key's lists", async () => {
    const { attempt } = await keyWith({ countries: ["DE"], user_agents: ["Secret-Agent/*"] });
    const { res } = await attempt({ cf: { country: "US" } });
    const body = await expectError(res, 403, "condition_not_met");
    expect(body.error.message).toMatch(/countr/i);
    expect(body.error.message).not.toContain("Secret-Agent");
  });
});

describe("not_before / not_after", () => {
  const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

  it("a key whose window has not opened yet: 403 condition_not_met", async () => {
    const { attempt } = await keyWith({ not_before: at(3_600_000) });
    await expectDenied(attempt(), "condition_not_met");
  });

  it("a key whose window has closed: 403 condition_not_met", async () => {
    const { attempt } = await keyWith({ not_before: at(-7_200_000), not_after: at(-3_600_000) });
    await expectDenied(attempt(), "condition_not_met");
  });

  it("a key inside its window works", async () => {
    const { attempt } = await keyWith({ not_before: at(-3_600_000), not_after: at(3_600_000) });
    await expectAllowed(attempt());
  });
});
