/**
 * Who is calling the management API. In order:
 *   1. `Authorization: Bearer …` — the ADMIN_TOKEN (constant-time), else an `ik_sdk_` management token;
 *      an `ik_live_` API key is 403 wrong_credential_type (decided by prefix, before any lookup).
 *   2. Only when no Authorization header was sent: a Cloudflare Access JWT in `Cf-Access-Jwt-Assertion`,
 *      when ACCESS_TEAM_DOMAIN and ACCESS_AUD are both set; a write made with Access's browser cookie must also
 *      pass the cross-site check (csrf.ts).
 * Denials are ApiErrors thrown before the handler runs.
 */
import { createMiddleware } from "hono/factory";
import { readBearer } from "../authz/credential";
import type { Config } from "../config";
import type { AppBindings, Principal } from "../env";
import { ApiError } from "../errors";
import { checkAccessCookieWrite } from "./csrf";
import { claimedKind, isWellFormed } from "../secrets/format";
import { constantTimeEqual, lookupHashes } from "../secrets/hash";
import { findTokenByHash } from "../store/tokens";
import { toMillis } from "../time";
import type { VerifyAccessJwt } from "./access";

/** ADMIN_TOKEN, when configured (config.ts ignores one too short to be safe), compared in constant time. */
async function isAdminToken(token: string, config: Config): Promise<boolean> {
  return config.adminToken !== null && constantTimeEqual(token, config.adminToken);
}

async function fromManagementToken(token: string, db: D1Database, config: Config, now: number): Promise<Principal> {
  const kind = claimedKind(token);
  if (kind === "api_key") {
    throw new ApiError("wrong_credential_type", "API keys (ik_live_) cannot call the management API; use a management token.");
  }
  if (kind !== "management_token" || !isWellFormed(token, "management_token")) throw new ApiError("invalid_api_key");
  const row = await findTokenByHash(db, await lookupHashes(token, config.keyPepper));
  if (!row || row.revoked_at !== null) throw new ApiError("invalid_api_key");
  const expiresAt = toMillis(row.expires_at);
  if (expiresAt !== null && now >= expiresAt) throw new ApiError("expired_api_key");
  return { kind: "token", actor: `token:${row.id}`, tokenId: row.id, projectId: row.project_id, role: row.role, expiresAt: row.expires_at };
}

export function authenticate(verifyAccessJwt: VerifyAccessJwt) {
  return createMiddleware<AppBindings>(async function authenticate(c, next) {
    const config = c.get("config");
    const bearer = readBearer(c.req.raw.headers);
    let principal: Principal;
    if (bearer.kind === "malformed") {
      throw new ApiError("invalid_api_key", "The Authorization header must be 'Bearer <token>'.");
    } else if (bearer.kind === "bearer") {
      principal = (await isAdminToken(bearer.token, config))
        ? { kind: "root", actor: "admin" }
        : await fromManagementToken(bearer.token, c.env.DB, config, Date.now());
    } else {
      const assertion = c.req.header("cf-access-jwt-assertion");
      if (!assertion) throw new ApiError("missing_api_key", "No credential was sent. Use 'Authorization: Bearer <token>'.");
      if (!config.access) throw new ApiError("invalid_api_key", "Cloudflare Access is not configured on this keygate.");
      const { teamDomain, audience } = config.access;
      principal = { kind: "root", actor: (await verifyAccessJwt(assertion, teamDomain, audience)).actor };
      // After the identity, so an anonymous caller learns nothing from the answer: a 401 comes first.
      checkAccessCookieWrite(c.req.raw);
    }
    c.set("principal", principal);
    await next();
  });
}
