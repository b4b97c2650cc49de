/**
 * Cloudflare Access JWTs (`Cf-Access-Jwt-Assertion`), verified as Cloudflare documents:
 * RS256 signature against the team's JWKS at https://<team>/cdn-cgi/access/certs, `iss` = https://<team>,
 * `aud` containing ACCESS_AUD, and `exp` required (jose checks it). An unreachable JWKS is an outage (503),
 * never a pass. `fetch` is injected so tests can serve the JWKS.
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTVerifyGetKey, type RemoteJWKSet } from "jose";
import { ApiError } from "../errors";

/** Keys are kept this long, then fetched again before the next verification. */
const JWKS_TTL_MS = 10 * 60_000;
/** A token signed by a key we have not seen may mean Access rotated its keys: refetch, but not too often. */
const JWKS_REFRESH_MIN_MS = 30_000;

export interface AccessIdentity {
  /** "access:<email>" for a user, "access:<sub>" for a service token. */
  actor: string;
}

export function accessVerifier(fetchFn: typeof fetch) {
  // One remote set (jose's cache, TTL and refetch cooldown) per team domain, for this isolate's lifetime.
  const keySets = new Map<string, RemoteJWKSet>();

  function keysFor(team: string): JWTVerifyGetKey {
    let keys = keySets.get(team);
    if (!keys) {
      keys = createRemoteJWKSet(new URL(`https://${team}/cdn-cgi/access/certs`), {
        cacheMaxAge: JWKS_TTL_MS,
        cooldownDuration: JWKS_REFRESH_MIN_MS,
        [customFetch]: fetchFn,
      });
      keySets.set(team, keys);
    }
    const remote = keys;
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (err) {
        // No key (or several) for the token's kid is the token's fault, even after the refetch jose makes.
        if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
        // Anything else comes from getting the keys: a failed or timed-out fetch (jose passes fetch errors
        // through as they are), a non-200 answer, a body that is not a JWKS, a key that will not import.
        // Access is then down for us, so fail closed; the detail goes to the logs only.
        throw new ApiError("store_unavailable", "Cloudflare Access keys could not be fetched.", null, { cause: err });
      }
    };
  }

  return async function verifyAccessJwt(token: string, team: string, audience: string): Promise<AccessIdentity> {
    try {
      const result = await jwtVerify(token, keysFor(team), {
        algorithms: ["RS256"],
        issuer: `https://${team}`,
        audience,
        requiredClaims: ["exp", "iss", "aud"],
      });
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
