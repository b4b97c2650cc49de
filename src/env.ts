/** The Worker's bindings and variables (see wrangler.toml and README "Configuration"). */
export interface Env {
  DB: D1Database;
  /** Root admin bearer token. Unset: only Cloudflare Access can act as root. */
  ADMIN_TOKEN?: string;
  /** HMAC key for secret hashes. Unset: plain SHA-256 (hash_version 0). */
  KEY_PEPPER?: string;
  ACCESS_TEAM_DOMAIN?: string;
  ACCESS_AUD?: string;
  /** "true" lets origins be http:// or private/loopback hosts (local development only). */
  ALLOW_PRIVATE_ORIGINS?: string;
  /** How long an isolate may trust a cached authorization read; "0" turns the cache off. */
  AUTH_CACHE_LEASE_MS?: string;
  /** Most entries the authorization cache holds per isolate. */
  AUTH_CACHE_MAX_ENTRIES?: string;
  MAX_BODY_BYTES?: string;
  /** Optional `[[ratelimits]]` binding: per-key limits (429 rate_limited). Absent: no limit. */
  KEY_RATE_LIMITER?: RateLimit;
  /** The limiter's period in seconds (10 or 60, as configured on the binding), sent as Retry-After. */
  KEY_RATE_LIMIT_PERIOD_S?: string;
  ORIGIN_TIMEOUT_MS?: string;
}

/** Outbound I/O the Worker takes as a parameter (origins, Access's JWKS), so tests can play the other side. */
export interface Deps {
  fetch: typeof fetch;
}

/** Who is calling the management API, once authenticated. */
export type Principal =
  | { kind: "root"; actor: string }
  | {
      kind: "token";
      actor: string;
      tokenId: string;
      projectId: string;
      role: "full" | "read_only";
      /** A token cannot mint a token that outlives it. */
      expiresAt: string | null;
    };

/** Per-request values set by middleware and read by handlers. */
export interface Variables {
  requestId: string;
  principal: Principal;
  /** Set when a handler starts a store write: the answer then waits out the authorization lease. */
  wrote?: boolean;
}

export interface AppBindings {
  Bindings: Env;
  Variables: Variables;
}
