/**
 * The configuration parser (src/config.ts): security settings that do not parse fail closed, tuning settings fall
 * back to their default with a warning, and nothing invalid is ever used silently.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULTS, parseConfig, type Config } from "../../src/config";
import type { Env } from "../../src/env";

const BASE = { DB: {} as D1Database } as Env;

function parse(vars: Partial<Record<keyof Env, string>>): { config: Config; warnings: string[] } {
  const warnings: string[] = [];
  const config = parseConfig({ ...BASE, ...vars } as Env, (message) => warnings.push(message));
  return { config, warnings };
}

function failure(vars: Partial<Record<keyof Env, string>>): ConfigError {
  try {
    parse(vars);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("parseConfig", () => {
  it("gives the documented defaults for an empty environment, without warnings", () => {
    const { config, warnings } = parse({});
    expect(config).toEqual({
      adminToken: null,
      keyPepper: null,
      access: null,
      allowPrivateOrigins: false,
      leaseMs: DEFAULTS.leaseMs,
      cacheMaxEntries: DEFAULTS.cacheMaxEntries,
      maxBodyBytes: DEFAULTS.maxBodyBytes,
      originTimeoutMs: DEFAULTS.originTimeoutMs,
      bodyTimeoutMs: DEFAULTS.bodyTimeoutMs,
      rateLimitPeriodS: DEFAULTS.rateLimitPeriodS,
      usageFlushMs: DEFAULTS.usageFlushMs,
      privateHostname: null,
      endpointHostSuffix: null,
      assertionKeys: { signing: null, previous: null },
    });
    expect(warnings).toEqual([]);
  });

  it("reads every value it is given", () => {
    const { config, warnings } = parse({
      ADMIN_TOKEN: "a-long-enough-admin-token",
      KEY_PEPPER: "pepper",
      ACCESS_TEAM_DOMAIN: "Team.CloudflareAccess.com",
      ACCESS_AUD: "aud-tag",
      ALLOW_PRIVATE_ORIGINS: "true",
      AUTH_CACHE_LEASE_MS: "0",
      AUTH_CACHE_MAX_ENTRIES: "5",
      MAX_BODY_BYTES: "1024",
      ORIGIN_TIMEOUT_MS: "2500",
      BODY_TIMEOUT_MS: "3000",
      KEY_RATE_LIMIT_PERIOD_S: "10",
      USAGE_FLUSH_MS: "250",
      PRIVATE_HOSTNAME: "Private.Example.com",
      ENDPOINT_HOST_SUFFIX: "ai.example.com",
    });
    expect(config).toEqual({
      adminToken: "a-long-enough-admin-token",
      keyPepper: "pepper",
      access: { teamDomain: "team.cloudflareaccess.com", audience: "aud-tag" },
      allowPrivateOrigins: true,
      leaseMs: 0,
      cacheMaxEntries: 5,
      maxBodyBytes: 1024,
      originTimeoutMs: 2500,
      bodyTimeoutMs: 3000,
      rateLimitPeriodS: 10,
      usageFlushMs: 250,
      privateHostname: "private.example.com",
      endpointHostSuffix: "ai.example.com",
      assertionKeys: { signing: null, previous: null },
    });
    expect(warnings).toEqual([]);
  });

  it.each([
    ["AUTH_CACHE_LEASE_MS", "1s", "leaseMs", DEFAULTS.leaseMs],
    ["AUTH_CACHE_LEASE_MS", "-1", "leaseMs", DEFAULTS.leaseMs],
    ["AUTH_CACHE_MAX_ENTRIES", "1e3", "cacheMaxEntries", DEFAULTS.cacheMaxEntries],
    ["MAX_BODY_BYTES", "10MB", "maxBodyBytes", DEFAULTS.maxBodyBytes],
    ["MAX_BODY_BYTES", "0", "maxBodyBytes", DEFAULTS.maxBodyBytes],
    ["ORIGIN_TIMEOUT_MS", "2.5", "originTimeoutMs", DEFAULTS.originTimeoutMs],
    ["KEY_RATE_LIMIT_PERIOD_S", "30", "rateLimitPeriodS", DEFAULTS.rateLimitPeriodS],
    // At most 10 s: last_used_at reflects a use within 10 s.
    ["USAGE_FLUSH_MS", "10001", "usageFlushMs", DEFAULTS.usageFlushMs],
  ] as const)("a tuning value that does not parse (%s=%s) warns and uses the default", (name, raw, field, fallback) => {
    const { config, warnings } = parse({ [name]: raw });
    expect(config[field]).toBe(fallback);
    expect(warnings).toEqual([expect.stringContaining(name)]);
    expect(warnings[0]).toContain(String(fallback));
  });

  it.each([
    [{ ALLOW_PRIVATE_ORIGINS: "yes" }, "ALLOW_PRIVATE_ORIGINS"],
    [{ ALLOW_PRIVATE_ORIGINS: "TRUE" }, "ALLOW_PRIVATE_ORIGINS"],
    [{ ACCESS_TEAM_DOMAIN: "team.cloudflareaccess.com" }, "ACCESS_AUD"],
    [{ ACCESS_AUD: "aud" }, "ACCESS_TEAM_DOMAIN"],
    [{ ACCESS_TEAM_DOMAIN: "https://team.cloudflareaccess.com", ACCESS_AUD: "aud" }, "ACCESS_TEAM_DOMAIN"],
    [{ PRIVATE_HOSTNAME: "https://private.example.com" }, "PRIVATE_HOSTNAME"],
    [{ PRIVATE_HOSTNAME: "private" }, "PRIVATE_HOSTNAME"],
    [{ ENDPOINT_HOST_SUFFIX: "*.ai.example.com" }, "ENDPOINT_HOST_SUFFIX"],
  ] as const)("a security value that does not parse fails closed: %j", (vars, variable) => {
    expect(failure(vars).variable).toBe(variable);
  });

  it("names the variable in the error, never its value", () => {
    const error = failure({ ACCESS_TEAM_DOMAIN: "https://secret-looking-value", ACCESS_AUD: "aud" });
    expect(error.message).toContain("ACCESS_TEAM_DOMAIN");
    expect(error.message).not.toContain("secret-looking-value");
  });

  it("ignores an ADMIN_TOKEN too short to be safe, with a warning that does not quote it", () => {
    const { config, warnings } = parse({ ADMIN_TOKEN: "short-token" });
    expect(config.adminToken).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toContain("short-token");
  });

  it("treats an empty variable as unset", () => {
    expect(parse({ ADMIN_TOKEN: "", KEY_PEPPER: "", ALLOW_PRIVATE_ORIGINS: "", MAX_BODY_BYTES: "" })).toEqual(parse({}));
  });
});

/**
 * Published test keys: RFC 7515 appendix A.3 (ES256) and RFC 8037 appendix A (Ed25519). Parsing checks form only;
 * the Worker's tests (test/gateway/assertion.test.ts) import and sign with real keys.
 */
const ES256_PUBLIC = {
  kty: "EC",
  crv: "P-256",
  x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
  y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
};
const ES256_PRIVATE = { ...ES256_PUBLIC, d: "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI" };
const ED25519_PUBLIC = { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" };
const ED25519_PRIVATE = { ...ED25519_PUBLIC, d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A" };

describe("parseConfig: the assertion keys", () => {
  it("reads an ES256 and an Ed25519 JWK, keeping only the members keygate uses", () => {
    const { config } = parse({
      ASSERTION_SIGNING_KEY: JSON.stringify({ ...ES256_PRIVATE, alg: "ES256", use: "sig", key_ops: ["sign"], ext: true }),
      ASSERTION_SIGNING_KEY_PREVIOUS: JSON.stringify({ ...ED25519_PRIVATE, kid: "2025-old" }),
    });
    expect(config.assertionKeys).toEqual({
      signing: { alg: "ES256", kid: null, publicJwk: ES256_PUBLIC, d: ES256_PRIVATE.d },
      previous: { alg: "EdDSA", kid: "2025-old", publicJwk: ED25519_PUBLIC, d: ED25519_PRIVATE.d },
    });
  });

  it("takes a previous key given as a public JWK (it is only published)", () => {
    const { config } = parse({ ASSERTION_SIGNING_KEY_PREVIOUS: JSON.stringify({ ...ED25519_PUBLIC, alg: "EdDSA" }) });
    expect(config.assertionKeys).toEqual({
      signing: null,
      previous: { alg: "EdDSA", kid: null, publicJwk: ED25519_PUBLIC, d: null },
    });
  });

  const SIGNING = "ASSERTION_SIGNING_KEY";
  it.each([
    ["not JSON", "{kty: EC}"],
    ["JSON but not an object", JSON.stringify([ES256_PRIVATE])],
    ["a public key", JSON.stringify(ES256_PUBLIC)],
    ["an RSA key", JSON.stringify({ kty: "RSA", n: "AQAB", e: "AQAB", d: "AQAB" })],
    ["a P-384 key", JSON.stringify({ ...ES256_PRIVATE, crv: "P-384" })],
    ["an X25519 key", JSON.stringify({ ...ED25519_PRIVATE, crv: "X25519" })],
    ["a symmetric key", JSON.stringify({ kty: "oct", k: ES256_PRIVATE.d })],
    ["an alg the key cannot have", JSON.stringify({ ...ES256_PRIVATE, alg: "EdDSA" })],
    ["an unsupported alg", JSON.stringify({ ...ES256_PRIVATE, alg: "ES384" })],
    ["a key for encryption", JSON.stringify({ ...ES256_PRIVATE, use: "enc" })],
    ["an empty kid", JSON.stringify({ ...ES256_PRIVATE, kid: "" })],
    ["a kid with a space", JSON.stringify({ ...ES256_PRIVATE, kid: "a b" })],
    ["no y", JSON.stringify({ ...ES256_PRIVATE, y: undefined })],
    ["a short x", JSON.stringify({ ...ED25519_PRIVATE, x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR" })],
    ["a d that is not base64url", JSON.stringify({ ...ED25519_PRIVATE, d: "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A" })],
  ])("refuses %s as ASSERTION_SIGNING_KEY, naming the variable and never the value", (_, raw) => {
    const error = failure({ ASSERTION_SIGNING_KEY: raw });
    expect(error.variable).toBe(SIGNING);
    expect(error.message).toContain(SIGNING);
    for (const secret of [raw, ES256_PRIVATE.d, ED25519_PRIVATE.d, "kty: EC"]) expect(error.message).not.toContain(secret);
  });

  it("refuses a malformed previous key under its own name", () => {
    const error = failure({
      ASSERTION_SIGNING_KEY: JSON.stringify(ES256_PRIVATE),
      ASSERTION_SIGNING_KEY_PREVIOUS: JSON.stringify({ ...ED25519_PUBLIC, x: "not-a-key" }),
    });
    expect(error.variable).toBe("ASSERTION_SIGNING_KEY_PREVIOUS");
  });
});
