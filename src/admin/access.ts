/**
 * Cloudflare Access JWTs (`Cf-Access-Jwt-Assertion`), verified as Cloudflare documents:
 * RS256 signature against the team's JWKS at https://<team>/cdn-cgi/access/certs, `iss` = https://<team>,
 * `aud` containing ACCESS_AUD, and `exp` required (jose checks it). An unreachable JWKS is an outage (503),
 * never a pass. `fetch` is injected so tests can serve the JWKS.
 */
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { ApiError } from "../errors";

const JWKS_TTL_MS = 10 * 60_000;
/** A token signed by a key we have not seen may mean Access rotated its keys: refetch, but not too often. */
const JWKS_REFRESH_MIN_MS = 30_000;

interface CachedJwks {
  getKey: JWTVerifyGetKey;
  fetchedAt: number;
}

export interface AccessIdentity {
  /** "access:<email>" for a user, "access:<sub>" for a service token. */
  actor: string;
}

export function accessVerifier(fetchFn: typeof fetch) {
  const cache = new Map<string, CachedJwks>();

  async function loadJwks(team: string): Promise<CachedJwks> {
    let response: Response;
    try {
      response = await fetchFn(`https://${team}/cdn-cgi/access/certs`, { headers: { accept: "application/json" } });
    } catch (err) {
      throw new ApiError("store_unavailable", "Cloudflare Access keys could not be fetched.", null, { cause: err });
    }
    if (!response.ok) {
      throw new ApiError("store_unavailable", "Cloudflare Access keys could not be fetched.", null, {
        cause: new Error(`JWKS answered ${response.status}`),
      });
    }
    const body = (await response.json().catch(() => null)) as JSONWebKeySet | null;
    if (!body || !Array.isArray(body.keys)) {
      throw new ApiError("store_unavailable", "Cloudflare Access keys could not be read.", null);
    }
    const entry = { getKey: createLocalJWKSet(body), fetchedAt: Date.now() };
    cache.set(team, entry);
    return entry;
  }

  async function verifyWith(entry: CachedJwks, token: string, team: string, audience: string) {
    return jwtVerify(token, entry.getKey, {
      algorithms: ["RS256"],
      issuer: `https://${team}`,
      audience,
      requiredClaims: ["exp", "iss", "aud"],
    });
  }

  return async function verifyAccessJwt(token: string, team: string, audience: string): Promise<AccessIdentity> {
    let entry = cache.get(team);
    if (!entry || Date.now() - entry.fetchedAt > JWKS_TTL_MS) entry = await loadJwks(team);
    try {
      let result;
      try {
        result = await verifyWith(entry, token, team, audience);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey) || Date.now() - entry.fetchedAt < JWKS_REFRESH_MIN_MS) throw err;
        result = await verifyWith(await loadJwks(team), token, team, audience);
      }
      const { email, sub } = result.payload as { email?: unknown; sub?: unknown };
      const who = typeof email === "string" && email ? email : typeof sub === "string" ? sub : "unknown";
      return { actor: `access:${who}` };
    } catch (err) {
      if (err instanceof ApiError) throw err;
      if (err instanceof errors.JWTExpired) {
        throw new ApiError("expired_api_key", "The Cloudflare Access token has expired.", null, { cause: err });
      }
      throw new ApiError("invalid_api_key", "The Cloudflare Access token is not valid.", null, { cause: err });
    }
  };
}

export type VerifyAccessJwt = ReturnType<typeof accessVerifier>;
