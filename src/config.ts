/**
 * keygate's configuration: every variable of `Env` parsed once per isolate into typed values (README,
 * "Configuration"). A value that does not parse is never silently replaced:
 *   - a security setting fails closed: every request is answered 500 `internal_error`, and the log names the
 *     variable (never its value, which may be a secret);
 *   - a tuning setting is logged once as a warning naming the default used instead.
 */
import type { Env } from "./env";
import { logLine } from "./log";

export interface Config {
  /** Root admin bearer token; null when unset or too short to be safe (then ignored, with a warning). */
  adminToken: string | null;
  /** HMAC key for stored secret hashes; null: plain SHA-256 (hash_version 0). */
  keyPepper: string | null;
  /** Cloudflare Access, when both its variables are set. */
  access: { teamDomain: string; audience: string } | null;
  allowPrivateOrigins: boolean;
  /** How long an isolate may trust an authorization read; 0: no cache. */
  leaseMs: number;
  /** Most deployments and keys the authorization cache holds per isolate. */
  cacheMaxEntries: number;
  maxBodyBytes: number;
  originTimeoutMs: number;
  /** Longest wait for a whole request body (408 after). */
  bodyTimeoutMs: number;
  /** The rate-limit binding's period, sent as Retry-After. */
  rateLimitPeriodS: number;
  /** Requests to this host arrive on the private endpoint, with a client certificate the edge verified. */
  privateHostname: string | null;
  /** `{deployment}.{project}.{suffix}` serves as `/endpoint/{project}/{deployment}`. */
  endpointHostSuffix: string | null;
}

export const DEFAULTS = {
  leaseMs: 1000,
  cacheMaxEntries: 10_000,
  maxBodyBytes: 10 * 1024 * 1024,
  originTimeoutMs: 120_000,
  bodyTimeoutMs: 60_000,
  rateLimitPeriodS: 60,
} as const;

/** A shorter ADMIN_TOKEN is ignored (and logged): a guessable root credential is worse than none. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** A security setting that does not parse: the Worker refuses to serve until it is fixed. */
export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`${variable} ${problem}`);
  }
}

const parsed = new WeakMap<Env, Config | ConfigError>();
/** Warnings already logged by this isolate: a tuning fallback is reported once, not per request. */
const warned = new Set<string>();

/** The parsed configuration; throws ConfigError for an invalid security setting (every time it is asked). */
export function configOf(env: Env): Config {
  let config = parsed.get(env);
  if (config === undefined) {
    try {
      config = parseConfig(env, warnOnce);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      config = err;
    }
    parsed.set(env, config);
  }
  if (config instanceof ConfigError) throw config;
  return config;
}

function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  logLine({ level: "warn", msg: "configuration", warning: message });
}

/** Pure: the configuration of `env`, tuning fallbacks reported through `warn`. */
export function parseConfig(env: Env, warn: (message: string) => void): Config {
  return {
    adminToken: adminToken(env.ADMIN_TOKEN, warn),
    keyPepper: optionalString(env.KEY_PEPPER),
    access: access(env),
    allowPrivateOrigins: strictBoolean("ALLOW_PRIVATE_ORIGINS", env.ALLOW_PRIVATE_ORIGINS, false),
    leaseMs: integer("AUTH_CACHE_LEASE_MS", env.AUTH_CACHE_LEASE_MS, DEFAULTS.leaseMs, 0, 60_000, warn),
    cacheMaxEntries: integer("AUTH_CACHE_MAX_ENTRIES", env.AUTH_CACHE_MAX_ENTRIES, DEFAULTS.cacheMaxEntries, 0, 10_000_000, warn),
    maxBodyBytes: integer("MAX_BODY_BYTES", env.MAX_BODY_BYTES, DEFAULTS.maxBodyBytes, 1, 2 ** 40, warn),
    originTimeoutMs: integer("ORIGIN_TIMEOUT_MS", env.ORIGIN_TIMEOUT_MS, DEFAULTS.originTimeoutMs, 1, 2 ** 31 - 1, warn),
    bodyTimeoutMs: integer("BODY_TIMEOUT_MS", env.BODY_TIMEOUT_MS, DEFAULTS.bodyTimeoutMs, 1, 2 ** 31 - 1, warn),
    rateLimitPeriodS: rateLimitPeriod(env.KEY_RATE_LIMIT_PERIOD_S, warn),
    privateHostname: hostName("PRIVATE_HOSTNAME", env.PRIVATE_HOSTNAME),
    endpointHostSuffix: hostName("ENDPOINT_HOST_SUFFIX", env.ENDPOINT_HOST_SUFFIX),
  };
}

function optionalString(raw: string | undefined): string | null {
  return raw === undefined || raw === "" ? null : raw;
}

function adminToken(raw: string | undefined, warn: (message: string) => void): string | null {
  const token = optionalString(raw);
  if (token !== null && token.length < MIN_ADMIN_TOKEN_LENGTH) {
    warn(`ADMIN_TOKEN is shorter than ${MIN_ADMIN_TOKEN_LENGTH} characters and is ignored`);
    return null;
  }
  return token;
}

const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i;

/**
 * An optional host name, lower-cased. A security setting: a value that is not a host name would silently route
 * nothing (or the wrong requests) to the private endpoint, so it refuses to serve instead.
 */
function hostName(variable: string, raw: string | undefined): string | null {
  const value = optionalString(raw);
  if (value === null) return null;
  if (!HOST_NAME.test(value)) throw new ConfigError(variable, "must be a host name such as ai.example.com");
  return value.toLowerCase();
}

/** Both or neither: one alone would leave operators believing Access guards the API. */
function access(env: Env): Config["access"] {
  const teamDomain = optionalString(env.ACCESS_TEAM_DOMAIN);
  const audience = optionalString(env.ACCESS_AUD);
  if (teamDomain === null && audience === null) return null;
  if (teamDomain === null) throw new ConfigError("ACCESS_TEAM_DOMAIN", "must be set when ACCESS_AUD is");
  if (audience === null) throw new ConfigError("ACCESS_AUD", "must be set when ACCESS_TEAM_DOMAIN is");
  // A bare host name (`team.cloudflareaccess.com`): it becomes the JWT issuer `https://<domain>`.
  if (!HOST_NAME.test(teamDomain)) {
    throw new ConfigError("ACCESS_TEAM_DOMAIN", "must be a host name such as yourteam.cloudflareaccess.com");
  }
  return { teamDomain: teamDomain.toLowerCase(), audience };
}

function strictBoolean(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === "") return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new ConfigError(name, 'must be "true" or "false"');
}

function integer(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
  warn: (message: string) => void,
): number {
  if (raw === undefined || raw === "") return fallback;
  const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (Number.isSafeInteger(value) && value >= min && value <= max) return value;
  warn(`${name} must be an integer from ${min} to ${max}; using the default ${fallback}`);
  return fallback;
}

/** The Rate Limiting binding only has periods of 10 or 60 seconds. */
function rateLimitPeriod(raw: string | undefined, warn: (message: string) => void): number {
  if (raw === undefined || raw === "") return DEFAULTS.rateLimitPeriodS;
  if (raw.trim() === "10" || raw.trim() === "60") return Number(raw.trim());
  warn(`KEY_RATE_LIMIT_PERIOD_S must be 10 or 60; using the default ${DEFAULTS.rateLimitPeriodS}`);
  return DEFAULTS.rateLimitPeriodS;
}
