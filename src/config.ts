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
  /** Longest a usage count waits in an isolate before its coalesced write (src/gateway/usage.ts). */
  usageFlushMs: number;
  /** The keys of the Keygate-Assertion (src/gateway/assertion.ts imports them, once per isolate). */
  assertionKeys: AssertionKeys;
}

/** ASSERTION_SIGNING_KEY and ASSERTION_SIGNING_KEY_PREVIOUS, each null when unset. */
export interface AssertionKeys {
  /** Signs every assertion; always has its private member. */
  signing: AssertionKey | null;
  /** The key before the last rotation: only published in the JWKS, never used to sign. */
  previous: AssertionKey | null;
}

/** A signing key as a JWK, checked and reduced to the members keygate uses. */
export interface AssertionKey {
  alg: "ES256" | "EdDSA";
  /** The JWK's own `kid`; null: its RFC 7638 thumbprint, computed when the key is imported. */
  kid: string | null;
  /** The public members, all a JWKS publishes of the key besides kid, alg and use. */
  publicJwk: { kty: "EC"; crv: "P-256"; x: string; y: string } | { kty: "OKP"; crv: "Ed25519"; x: string };
  /** The private member; null for a previous key given as a public JWK. */
  d: string | null;
}

export const DEFAULTS = {
  leaseMs: 1000,
  cacheMaxEntries: 10_000,
  maxBodyBytes: 10 * 1024 * 1024,
  originTimeoutMs: 120_000,
  bodyTimeoutMs: 60_000,
  rateLimitPeriodS: 60,
  usageFlushMs: 5000,
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
    // At most 10 s: `last_used_at` reflects a use within 10 s (docs/api.md).
    usageFlushMs: integer("USAGE_FLUSH_MS", env.USAGE_FLUSH_MS, DEFAULTS.usageFlushMs, 0, 10_000, warn),
    assertionKeys: {
      signing: assertionKey("ASSERTION_SIGNING_KEY", env.ASSERTION_SIGNING_KEY, true),
      previous: assertionKey("ASSERTION_SIGNING_KEY_PREVIOUS", env.ASSERTION_SIGNING_KEY_PREVIOUS, false),
    },
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

/** One coordinate or private scalar of a P-256 or Ed25519 key: 32 bytes, base64url without padding. */
const KEY_MEMBER = /^[A-Za-z0-9_-]{43}$/;
/** A kid goes into every token header and the JWKS: printable ASCII, and short. */
const KID = /^[\x21-\x7e]{1,128}$/;

/**
 * An optional JWK (JSON) of an EC P-256 key (alg ES256) or an OKP Ed25519 key (alg EdDSA). A security setting: a key
 * that does not parse would leave origins that rely on the assertion with nothing to check, so it refuses to serve
 * instead. The errors name what is wrong, never a member's value: the variable holds a private key.
 * Checked here: the form of every member keygate uses. Checked when the key is imported (assertion.ts): that
 * WebCrypto accepts it and that its private member matches its public ones.
 *
 * @param requirePrivate the signing key must have its private member `d`; the previous key may be public only
 */
function assertionKey(variable: string, raw: string | undefined, requirePrivate: boolean): AssertionKey | null {
  const value = optionalString(raw);
  if (value === null) return null;
  let jwk: unknown;
  try {
    jwk = JSON.parse(value);
  } catch {
    // Never the parser's message: it quotes the text around the error, which is the key.
    jwk = undefined;
  }
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) {
    throw new ConfigError(variable, "must be a JWK: a JSON object");
  }
  const { kty, crv, alg, use, kid, x, y, d } = jwk as Record<string, unknown>;
  const ec = kty === "EC" && crv === "P-256";
  if (!ec && !(kty === "OKP" && crv === "Ed25519")) {
    throw new ConfigError(variable, 'must be an EC key on curve P-256 or an OKP key on curve Ed25519 ("kty", "crv")');
  }
  const expectedAlg = ec ? "ES256" : "EdDSA";
  if (alg !== undefined && alg !== expectedAlg) throw new ConfigError(variable, `"alg" must be ${expectedAlg} for this key, or absent`);
  if (use !== undefined && use !== "sig") throw new ConfigError(variable, '"use" must be "sig", or absent');
  if (kid !== undefined && !(typeof kid === "string" && KID.test(kid))) {
    throw new ConfigError(variable, '"kid" must be 1 to 128 printable ASCII characters, or absent');
  }
  if (typeof x !== "string" || !KEY_MEMBER.test(x) || (ec && (typeof y !== "string" || !KEY_MEMBER.test(y)))) {
    throw new ConfigError(variable, `must have its public members (${ec ? '"x" and "y"' : '"x"'}), 32 bytes each in base64url`);
  }
  if (d === undefined && requirePrivate) throw new ConfigError(variable, 'must be a private key: it has no "d"');
  if (d !== undefined && (typeof d !== "string" || !KEY_MEMBER.test(d))) {
    throw new ConfigError(variable, '"d" must be 32 bytes in base64url');
  }
  return {
    alg: expectedAlg,
    kid: typeof kid === "string" ? kid : null,
    publicJwk: ec ? { kty: "EC", crv: "P-256", x, y: y as string } : { kty: "OKP", crv: "Ed25519", x },
    d: typeof d === "string" ? d : null,
  };
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
