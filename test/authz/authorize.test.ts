import { describe, expect, it } from "vitest";
import { compileConditions } from "../../src/authz/conditions";
import { authorize, evaluateConditions } from "../../src/authz/authorize";
import type { Conditions, DeploymentRecord, RequestFacts } from "../../src/authz/types";
import { deploymentRecord, keyRecord, requestFacts } from "../records";

const NOW = Date.UTC(2025, 5, 1, 12);

const deployment: DeploymentRecord = deploymentRecord();

const facts: RequestFacts = requestFacts();

const makeKey = keyRecord;

type Input = Parameters<typeof authorize>[0];
const SECRET = { kind: "secret", secret: "ik_live_placeholder" } as const;
const input = (overrides: Partial<Input> = {}): Input => ({
  credential: SECRET,
  key: makeKey(),
  deployment,
  projectSlug: "acme",
  method: "POST",
  rawPath: "/v1/chat/completions",
  facts,
  now: NOW,
  ...overrides,
});

/** `code/reason` of the decision, or "allow". */
const outcome = (overrides: Partial<Input>) => {
  const decision = authorize(input(overrides));
  return decision.ok ? "allow" : `${decision.code}/${decision.reason}`;
};

const authOff: DeploymentRecord = { ...deployment, authEnabled: false };

describe("authorize", () => {
  it("allows a plain key and names it, the deployment and the path to forward", () => {
    expect(authorize(input())).toEqual({ ok: true, keyId: "key_1", deployment, path: "/v1/chat/completions" });
  });

  it.each<[string, Partial<Input>, string]>([
    // the credential (authz/credential.ts decides its kind; the decision turns it into the answer)
    ["no credential", { credential: { kind: "none" }, key: null }, "missing_api_key/missing_credential"],
    ["no credential, missing deployment", { credential: { kind: "none" }, key: null, deployment: null }, "missing_api_key/missing_credential"],
    ["malformed key", { credential: { kind: "error", code: "invalid_api_key", reason: "malformed_key" }, key: null }, "invalid_api_key/malformed_key"],
    ["management token", { credential: { kind: "error", code: "wrong_credential_type", reason: "management_token" }, key: null }, "wrong_credential_type/management_token"],
    ["two credentials", { credential: { kind: "error", code: "invalid_request", reason: "two_credentials" }, key: null }, "invalid_request/two_credentials"],
    // the key
    ["unknown key", { key: null }, "invalid_api_key/unknown_key"],
    ["unknown key, even for a missing deployment", { key: null, deployment: null }, "invalid_api_key/unknown_key"],
    ["revoked", { key: makeKey({ revokedAt: NOW - 1 }) }, "invalid_api_key/revoked"],
    ["revoked in the future is still revoked", { key: makeKey({ revokedAt: NOW + 1000 }) }, "invalid_api_key/revoked"],
    ["revoked beats expired", { key: makeKey({ revokedAt: NOW - 1, expiresAt: NOW - 1 }) }, "invalid_api_key/revoked"],
    ["old secret inside its grace", { key: makeKey({ secretRetireAt: NOW + 1 }) }, "allow"],
    ["old secret at the end of its grace", { key: makeKey({ secretRetireAt: NOW }) }, "invalid_api_key/retired_secret"],
    ["old secret after its grace", { key: makeKey({ secretRetireAt: NOW - 1 }) }, "invalid_api_key/retired_secret"],
    ["one millisecond before expires_at", { key: makeKey({ expiresAt: NOW + 1 }) }, "allow"],
    ["at expires_at", { key: makeKey({ expiresAt: NOW }) }, "expired_api_key/expired"],
    ["after expires_at", { key: makeKey({ expiresAt: NOW - 1 }) }, "expired_api_key/expired"],
    ["expires_at set in the past at creation", { key: makeKey({ expiresAt: 0 }) }, "expired_api_key/expired"],
    ["expired beats another project", { key: makeKey({ expiresAt: NOW, projectSlug: "other" }) }, "expired_api_key/expired"],
    // project, deployment, scope, conditions
    ["key of another project", { projectSlug: "other" }, "project_scope_mismatch/other_project"],
    ["another project beats a missing deployment", { projectSlug: "other", deployment: null }, "project_scope_mismatch/other_project"],
    ["missing deployment", { deployment: null }, "not_found/unknown_deployment"],
    ["missing deployment beats scope", { deployment: null, key: makeKey({ deploymentIds: new Set() }) }, "not_found/unknown_deployment"],
    ["not scoped to the deployment", { key: makeKey({ deploymentIds: new Set(["dep_2"]) }) }, "scope_insufficient/not_in_scope"],
    ["no scopes at all", { key: makeKey({ deploymentIds: new Set() }) }, "scope_insufficient/not_in_scope"],
    ["project wildcard", { key: makeKey({ allDeployments: true, deploymentIds: new Set() }) }, "allow"],
    [
      "scope beats conditions",
      { key: makeKey({ deploymentIds: new Set() }, { ip_allow: ["10.0.0.0/8"] }) },
      "scope_insufficient/not_in_scope",
    ],
    ["conditions after scope", { key: makeKey({}, { ip_allow: ["10.0.0.0/8"] }) }, "ip_not_allowed/ip_not_allowed"],
    ["conditions before the path", { key: makeKey({}, { countries: ["FR"] }), rawPath: "/admin" }, "condition_not_met/country_not_allowed"],
    // the path, last
    ["path not allowed", { rawPath: "/v1/load_lora_adapter" }, "not_found/path_not_allowed"],
    ["path climbing out", { rawPath: "/v1/../../x" }, "not_found/bad_path"],
    ["path with an encoded NUL", { rawPath: "/v1/chat%00/completions" }, "not_found/bad_path"],
    ["path normalised before the check", { rawPath: "/v1//chat/./completions" }, "allow"],
    ["auth beats the path", { key: null, rawPath: "/admin" }, "invalid_api_key/unknown_key"],
    // the auth toggle
    ["auth off: no credential needed", { deployment: authOff, credential: { kind: "none" }, key: null }, "allow"],
    ["auth off: a bad key is ignored", { deployment: authOff, credential: { kind: "error", code: "invalid_api_key", reason: "malformed_key" }, key: null }, "allow"],
    ["auth off: a revoked key is ignored", { deployment: authOff, key: makeKey({ revokedAt: NOW - 1 }) }, "allow"],
    ["auth off: paths still apply", { deployment: authOff, rawPath: "/metrics" }, "not_found/path_not_allowed"],
  ])("%s → %s", (_, overrides, expected) => {
    expect(outcome(overrides)).toBe(expected);
  });

  it("names the key in a denial once it is known, and no key before", () => {
    expect(authorize(input({ projectSlug: "other" }))).toMatchObject({ ok: false, keyId: "key_1" });
    expect(authorize(input({ key: null }))).toMatchObject({ ok: false, keyId: null });
  });

  it("with auth off, forwards without naming a key (nothing is metered against it)", () => {
    expect(authorize(input({ deployment: authOff }))).toMatchObject({ ok: true, keyId: null });
  });

  it("never puts the secret in a reason or message", () => {
    const secret = "ik_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for (const overrides of [{ key: null }, { projectSlug: "other" }, { rawPath: "/x" }] as Partial<Input>[]) {
      const text = JSON.stringify(authorize(input({ ...overrides, credential: { kind: "secret", secret } })));
      expect(text).not.toContain(secret.slice(8));
    }
  });
});

describe("evaluateConditions", () => {
  const evaluate = (conditions: Conditions, requestFacts: Partial<RequestFacts> = {}, now = NOW) => {
    const denial = evaluateConditions(compileConditions(conditions), { ...facts, ...requestFacts }, now);
    return denial === null ? "allow" : denial.code;
  };

  it.each<[string, Conditions, Partial<RequestFacts>, string]>([
    ["no conditions", {}, {}, "allow"],
    ["no conditions, no facts", {}, { clientIp: null, country: null, asn: null, userAgent: null }, "allow"],
    // IP rules
    ["ip_allow match", { ip_allow: ["203.0.113.0/24"] }, {}, "allow"],
    ["ip_allow miss", { ip_allow: ["198.51.100.0/24"] }, {}, "ip_not_allowed"],
    ["ip_allow /0", { ip_allow: ["0.0.0.0/0"] }, {}, "allow"],
    ["ip_allow IPv6 /0 does not cover IPv4", { ip_allow: ["::/0"] }, {}, "ip_not_allowed"],
    ["ip_allow IPv4 matches a mapped client", { ip_allow: ["203.0.113.5/32"] }, { clientIp: "::ffff:203.0.113.5" }, "allow"],
    ["ip_allow IPv4 matches a hex-mapped client", { ip_allow: ["203.0.113.0/24"] }, { clientIp: "::ffff:cb00:7105" }, "allow"],
    ["ip_allow IPv6", { ip_allow: ["2001:db8::/32"] }, { clientIp: "2001:db8::42" }, "allow"],
    ["ip_allow IPv6 with zone id", { ip_allow: ["fe80::/10"] }, { clientIp: "fe80::1%eth0" }, "allow"],
    ["ip_allow IPv6 miss", { ip_allow: ["2001:db8::/32"] }, { clientIp: "2001:db9::1" }, "ip_not_allowed"],
    ["ip_deny match", { ip_deny: ["203.0.113.5/32"] }, {}, "ip_not_allowed"],
    ["ip_deny miss", { ip_deny: ["198.51.100.0/24"] }, {}, "allow"],
    ["ip_deny matches a mapped client", { ip_deny: ["203.0.113.0/24"] }, { clientIp: "::ffff:203.0.113.5" }, "ip_not_allowed"],
    ["deny wins over allow", { ip_allow: ["203.0.113.0/24"], ip_deny: ["203.0.113.5/32"] }, {}, "ip_not_allowed"],
    ["allow and deny, outside deny", { ip_allow: ["203.0.113.0/24"], ip_deny: ["203.0.113.5/32"] }, { clientIp: "203.0.113.6" }, "allow"],
    ["ip_allow, client IP missing", { ip_allow: ["0.0.0.0/0"] }, { clientIp: null }, "ip_not_allowed"],
    ["ip_deny only, client IP missing", { ip_deny: ["198.51.100.0/24"] }, { clientIp: null }, "ip_not_allowed"],
    ["ip_allow, client IP unparseable", { ip_allow: ["0.0.0.0/0"] }, { clientIp: "not-an-ip" }, "ip_not_allowed"],
    ["ip_deny only, client IP unparseable", { ip_deny: ["198.51.100.0/24"] }, { clientIp: "203.0.113.5, 10.0.0.1" }, "ip_not_allowed"],
    ["no IP rule, client IP missing", { countries: ["DE"] }, { clientIp: null }, "allow"],
    // countries
    ["country allowed", { countries: ["DE", "FR"] }, {}, "allow"],
    ["country allowed, lower-case fact", { countries: ["DE"] }, { country: "de" }, "allow"],
    ["country not allowed", { countries: ["FR"] }, {}, "condition_not_met"],
    ["country missing", { countries: ["DE"] }, { country: null }, "condition_not_met"],
    ["country unknown (XX)", { countries: ["DE"] }, { country: "XX" }, "condition_not_met"],
    // ASNs
    ["ASN allowed", { asns: [13335] }, {}, "allow"],
    ["ASN not allowed", { asns: [15169] }, {}, "condition_not_met"],
    ["ASN missing", { asns: [13335] }, { asn: null }, "condition_not_met"],
    // User-Agent
    ["User-Agent matches", { user_agents: ["curl/*", "Terraform/*"] }, {}, "allow"],
    ["User-Agent does not match", { user_agents: ["curl/*"] }, {}, "condition_not_met"],
    ["User-Agent is case-sensitive", { user_agents: ["terraform/*"] }, {}, "condition_not_met"],
    ["User-Agent missing", { user_agents: ["*"] }, { userAgent: null }, "condition_not_met"],
    ["User-Agent empty matches *", { user_agents: ["*"] }, { userAgent: "" }, "allow"],
    // order among conditions: IP first, then country, ASN, User-Agent, window
    ["IP before country", { ip_allow: ["10.0.0.0/8"], countries: ["FR"] }, {}, "ip_not_allowed"],
    ["everything holds", { ip_allow: ["203.0.113.0/24"], countries: ["DE"], asns: [13335], user_agents: ["Terraform/*"] }, {}, "allow"],
  ])("%s → %s", (_, conditions, requestFacts, expected) => {
    expect(evaluate(conditions, requestFacts)).toBe(expected);
  });

  const window: Conditions = { not_before: "2025-06-01T12:00:00.000Z", not_after: "2025-06-02T12:00:00.000Z" };
  const start = Date.UTC(2025, 5, 1, 12);
  const end = Date.UTC(2025, 5, 2, 12);

  it.each([
    ["one millisecond before not_before", start - 1, "condition_not_met"],
    ["at not_before", start, "allow"],
    ["inside the window", start + 1000, "allow"],
    ["one millisecond before not_after", end - 1, "allow"],
    ["at not_after", end, "condition_not_met"],
    ["after not_after", end + 1, "condition_not_met"],
  ])("%s → %s", (_, now, expected) => {
    expect(evaluate(window, {}, now)).toBe(expected);
  });

  it.each<[Conditions, Partial<RequestFacts>, string, RegExp | null]>([
    [{ ip_deny: ["203.0.113.0/24"] }, {}, "ip_denied", null],
    [{ ip_allow: ["10.0.0.0/8"] }, {}, "ip_not_allowed", null],
    [{ ip_allow: ["10.0.0.0/8"] }, { clientIp: null }, "ip_unreadable", null],
    [{ countries: ["FR"] }, {}, "country_not_allowed", /country DE is not in the key's allowed countries/],
    [{ countries: ["FR"] }, { country: null }, "country_unknown", /country is unknown/],
    [{ asns: [1] }, {}, "asn_not_allowed", /AS13335 is not in the key's allowed ASNs/],
    [{ asns: [1] }, { asn: null }, "asn_unknown", /ASN\) is unknown/],
    [{ user_agents: ["curl/*"] }, {}, "user_agent_not_allowed", /User-Agent does not match/],
    [{ user_agents: ["curl/*"] }, { userAgent: null }, "user_agent_missing", /no User-Agent was sent/],
    [{ not_before: "2030-01-01T00:00:00.000Z" }, {}, "not_yet_valid", /not valid before 2030-01-01T00:00:00.000Z/],
    [{ not_after: "2020-01-01T00:00:00.000Z" }, {}, "no_longer_valid", /2020-01-01T00:00:00.000Z \(not_after\)/],
  ])("explains %j as %s", (conditions, requestFacts, reason, message) => {
    const denial = evaluateConditions(compileConditions(conditions), { ...facts, ...requestFacts }, NOW);
    expect(denial?.reason).toBe(reason);
    if (message === null) expect(denial?.message).toBeUndefined(); // the code's default message: no IP quoted
    else expect(denial?.message).toMatch(message);
  });

  it("does not quote the User-Agent or the key's lists", () => {
    const ua = "EvilAgent/<script>";
    const conditions = compileConditions({ user_agents: ["Terraform/*"], countries: ["DE"] });
    const denial = evaluateConditions(conditions, { ...facts, userAgent: ua }, NOW);
    expect(denial?.message).not.toContain(ua);
    expect(denial?.message).not.toContain("Terraform/*");
  });
});
