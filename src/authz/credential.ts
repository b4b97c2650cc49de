/**
 * Reading credentials from request headers, strictly and before any lookup (contract, "Data plane"):
 * `Authorization: Bearer <secret>` or `X-API-Key: <secret>`, never the query string or cookies.
 *
 * Reasons returned here are internal words for the log line (authorize.ts passes them on); they name what was
 * wrong, never the secret itself.
 *
 * An empty header (`Authorization:` with nothing after it) carries no credential and counts as absent: some
 * clients send one when no key is configured, and "missing" is the more useful answer. A scheme with nothing
 * after it (`Authorization: Bearer`) names a credential that is not there, so it is malformed: invalid_api_key.
 */
import type { ErrorCode } from "../errors";
import { API_KEY_PREFIX, TOKEN_PREFIX, isWellFormed } from "../secrets/format";

export type DataPlaneCredential =
  | { kind: "none" }
  | { kind: "secret"; secret: string }
  | { kind: "error"; code: ErrorCode; reason: CredentialReason };

/** Why a sent credential was refused before any lookup. */
export type CredentialReason =
  | "malformed_authorization"
  | "two_credentials"
  | "management_token"
  | "not_an_api_key"
  | "malformed_key";

export type BearerToken = { kind: "none" } | { kind: "bearer"; token: string } | { kind: "malformed" };

/**
 * RFC 6750 §2.1: `Bearer 1*SP b64token`, the scheme case-insensitive (RFC 9110 §11.1). We allow exactly one
 * space and one token: a second space or a second word is a malformed header, not a credential to guess at.
 * Fetch has already trimmed leading and trailing whitespace from the value.
 */
const BEARER = /^bearer (\S+)$/i;

/** Authorization: Bearer only — for the management API, which compares the token itself. */
export function readBearer(headers: Headers): BearerToken {
  const value = headers.get("authorization");
  if (value === null || value === "") return { kind: "none" };
  const match = BEARER.exec(value);
  if (match?.[1] === undefined) return { kind: "malformed" };
  return { kind: "bearer", token: match[1] };
}

/** The data-plane secret: present, one, an API key by its prefix, and well-formed (charset, length, checksum). */
export function readDataPlaneCredential(headers: Headers): DataPlaneCredential {
  const bearer = readBearer(headers);
  if (bearer.kind === "malformed") return { kind: "error", code: "invalid_api_key", reason: "malformed_authorization" };
  const fromAuthorization = bearer.kind === "bearer" ? bearer.token : null;

  const apiKeyHeader = headers.get("x-api-key");
  const fromApiKeyHeader = apiKeyHeader === null || apiKeyHeader === "" ? null : apiKeyHeader;

  if (fromAuthorization !== null && fromApiKeyHeader !== null && fromAuthorization !== fromApiKeyHeader) {
    return { kind: "error", code: "invalid_request", reason: "two_credentials" };
  }
  const secret = fromAuthorization ?? fromApiKeyHeader;
  if (secret === null) return { kind: "none" };

  // The kind is decided by the prefix alone, known or not, so a management token is never looked up here.
  if (secret.startsWith(TOKEN_PREFIX)) {
    return { kind: "error", code: "wrong_credential_type", reason: "management_token" };
  }
  if (!secret.startsWith(API_KEY_PREFIX)) {
    return { kind: "error", code: "invalid_api_key", reason: "not_an_api_key" };
  }
  if (!isWellFormed(secret, "api_key")) {
    return { kind: "error", code: "invalid_api_key", reason: "malformed_key" };
  }
  return { kind: "secret", secret };
}
