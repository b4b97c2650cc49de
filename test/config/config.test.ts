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
      privateHostname: null,
      endpointHostSuffix: null,
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
      privateHostname: "private.example.com",
      endpointHostSuffix: "ai.example.com",
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
