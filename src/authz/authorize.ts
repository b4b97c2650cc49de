/**
 * The data plane's whole decision: plain data in, the allowed target or a tagged denial out. No I/O, no clock
 * (`now` is passed in). The gateway reads the credential's records and hands them over; everything it then does
 * (forward, or answer with the denial's code) follows from what this returns.
 *
 * The checks run in a fixed order and the first denial wins. The order is part of the contract's behaviour
 * (docs/api.md, "The decision"):
 *   0. the method: only those an inference API uses are forwarded (a TRACE echoed by an origin would show the
 *      deployment's own Authorization header to the caller);
 *   1. the deployment's auth toggle: with auth off, no credential check at all (a key sent is ignored);
 *      an unknown deployment still demands a credential first, so its absence is only told to an authenticated
 *      caller;
 *   2. the credential: present, one, an API key, well-formed (credential.ts);
 *   3. the key: known, not revoked, secret not retired, not expired — all 401, so an unusable key learns nothing
 *      about the project;
 *   4. project, then deployment: a key of another project cannot probe which deployments exist (403 before 404);
 *   5. scope, then the key's conditions;
 *   6. the path: normalised, and in the deployment's allowed paths (404 otherwise).
 */
import { cidrContains, parseClientIp } from "./cidr";
import type { DataPlaneCredential } from "./credential";
import { globMatch } from "./glob";
import { isPathAllowed, normalizeRestPath } from "./paths";
import type { CompiledConditions, Decision, DenialReason, Denial, DeploymentRecord, KeyRecord, RequestFacts } from "./types";
import type { ErrorCode } from "../errors";

export interface AuthorizeInput {
  credential: DataPlaneCredential;
  /** The key the credential's secret hashes to; null when unknown or when no usable secret was sent. */
  key: KeyRecord | null;
  /** The deployment named by the URL; null when the project has no such deployment. */
  deployment: DeploymentRecord | null;
  /** The project slug from the URL. */
  projectSlug: string;
  /** The request's method, as the runtime gives it (upper-case for the standard ones). */
  method: string;
  /** The path after `/endpoint/{project}/{deployment}`, as sent (still percent-encoded). */
  rawPath: string;
  facts: RequestFacts;
  /** Epoch milliseconds. */
  now: number;
}

/** A denial found before the path check, for a caller that got that far with this key (null: none). */
type Check = (input: KnownKeyInput) => Denial | null;
type KnownKeyInput = AuthorizeInput & { key: KeyRecord };

const KEY_CHECKS: readonly Check[] = [
  ({ key }) => (key.revokedAt !== null ? deny("invalid_api_key", "revoked", key) : null),
  // After a roll with grace, the old secret keeps working until `secretRetireAt`, then is as good as revoked.
  ({ key, now }) =>
    key.secretRetireAt !== null && now >= key.secretRetireAt ? deny("invalid_api_key", "retired_secret", key) : null,
  // `expires_at` is the first instant the key no longer works.
  ({ key, now }) => (key.expiresAt !== null && now >= key.expiresAt ? deny("expired_api_key", "expired", key) : null),
  ({ key, projectSlug }) => (key.projectSlug !== projectSlug ? deny("project_scope_mismatch", "other_project", key) : null),
  ({ key, deployment }) => (deployment === null ? deny("not_found", "unknown_deployment", key) : null),
  ({ key, deployment }) =>
    deployment !== null && !key.allDeployments && !key.deploymentIds.has(deployment.id)
      ? deny("scope_insufficient", "not_in_scope", key)
      : null,
  ({ key, facts, now }) => evaluateConditions(key.conditions, facts, now, key),
];

/** Methods keygate forwards; anything else (TRACE, CONNECT, made-up ones) is 405. */
const FORWARDED_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * The checks that need nothing from the store, for the gateway to run before it reads any (a TRACE costs no hash and
 * no query); authorize() runs them first too, so it alone still decides everything.
 */
export function preflight(method: string): Denial | null {
  if (FORWARDED_METHODS.has(method)) return null;
  return { ...deny("method_not_allowed", "method_not_allowed"), headers: { allow: [...FORWARDED_METHODS].join(", ") } };
}

export function authorize(input: AuthorizeInput): Decision {
  const { deployment, credential } = input;
  const early = preflight(input.method);
  if (early !== null) return early;
  let keyId: string | null = null;
  if (deployment === null || deployment.authEnabled) {
    if (credential.kind === "none") return deny("missing_api_key", "missing_credential");
    if (credential.kind === "error") {
      const message = credential.reason === "two_credentials" ? TWO_CREDENTIALS : undefined;
      return deny(credential.code, credential.reason, null, message);
    }
    const { key } = input;
    if (key === null) return deny("invalid_api_key", "unknown_key");
    const known: KnownKeyInput = { ...input, key };
    for (const check of KEY_CHECKS) {
      const denial = check(known);
      if (denial !== null) return denial;
    }
    keyId = key.id;
  }
  // Only reachable with a deployment: an unknown one was denied above, whatever the credential.
  const target = deployment as DeploymentRecord;
  const path = normalizeRestPath(input.rawPath);
  if (path === null) return denyPath("bad_path", keyId);
  if (!isPathAllowed(path, target.allowedPaths)) return denyPath("path_not_allowed", keyId);
  return { ok: true, deployment: target, path, keyId };
}

const TWO_CREDENTIALS = "Two different credentials were sent (Authorization and X-API-Key); send one.";

function denyPath(reason: DenialReason, keyId: string | null): Denial {
  return { ok: false, code: "not_found", reason, message: "This path is not served by this deployment.", keyId };
}

/**
 * The key's conditions against the request, in a fixed order: IP deny before IP allow (a deny always wins), then
 * country, ASN, User-Agent, and the validity window. Messages name the failed condition and may quote the
 * request's own facts, never the key's lists.
 */
export function evaluateConditions(
  conditions: CompiledConditions,
  facts: RequestFacts,
  now: number,
  key: { id: string } | null = null,
): Denial | null {
  return (
    checkIp(conditions, facts, key) ??
    checkCountry(conditions, facts, key) ??
    checkAsn(conditions, facts, key) ??
    checkUserAgent(conditions, facts, key) ??
    checkWindow(conditions, now, key)
  );
}

type Holder = { id: string } | null;

function checkIp({ ipAllow, ipDeny }: CompiledConditions, facts: RequestFacts, key: Holder): Denial | null {
  if (ipAllow === null && ipDeny === null) return null;
  // With any IP rule, an address we cannot read denies: otherwise stripping the header would bypass ip_deny.
  const address = parseClientIp(facts.clientIp);
  if (address === null) return deny("ip_not_allowed", "ip_unreadable", key);
  if (ipDeny?.some((block) => cidrContains(block, address))) return deny("ip_not_allowed", "ip_denied", key);
  if (ipAllow !== null && !ipAllow.some((block) => cidrContains(block, address))) {
    return deny("ip_not_allowed", "ip_not_allowed", key);
  }
  return null;
}

function checkCountry({ countries }: CompiledConditions, { country }: RequestFacts, key: Holder): Denial | null {
  if (countries === null) return null;
  if (country === null) {
    return unmet("country_unknown", "the request's country is unknown; the key allows only some countries", key);
  }
  return countries.has(country.toUpperCase())
    ? null
    : unmet("country_not_allowed", `country ${country} is not in the key's allowed countries`, key);
}

function checkAsn({ asns }: CompiledConditions, { asn }: RequestFacts, key: Holder): Denial | null {
  if (asns === null) return null;
  if (asn === null) {
    return unmet("asn_unknown", "the request's network (ASN) is unknown; the key allows only some ASNs", key);
  }
  return asns.has(asn) ? null : unmet("asn_not_allowed", `AS${asn} is not in the key's allowed ASNs`, key);
}

/** The User-Agent is not quoted back: it is attacker-chosen text of any length. */
function checkUserAgent({ userAgents }: CompiledConditions, { userAgent }: RequestFacts, key: Holder): Denial | null {
  if (userAgents === null) return null;
  if (userAgent === null) {
    return unmet("user_agent_missing", "no User-Agent was sent; the key requires a matching one", key);
  }
  return userAgents.some((pattern) => globMatch(pattern, userAgent))
    ? null
    : unmet("user_agent_not_allowed", "the User-Agent does not match the key's user_agents patterns", key);
}

/** `not_before` is the first instant the key works; `not_after` the first instant it no longer does. */
function checkWindow({ notBefore, notAfter }: CompiledConditions, now: number, key: Holder): Denial | null {
  if (notBefore !== null && now < notBefore) {
    return unmet("not_yet_valid", `the key is not valid before ${new Date(notBefore).toISOString()} (not_before)`, key);
  }
  if (notAfter !== null && now >= notAfter) {
    return unmet("no_longer_valid", `the key stopped being valid at ${new Date(notAfter).toISOString()} (not_after)`, key);
  }
  return null;
}

function unmet(reason: DenialReason, what: string, key: Holder): Denial {
  return deny("condition_not_met", reason, key, `Condition not met: ${what}.`);
}

function deny(code: ErrorCode, reason: DenialReason, key: Holder = null, message?: string): Denial {
  return message === undefined ? { ok: false, code, reason, keyId: key?.id ?? null } : { ok: false, code, reason, message, keyId: key?.id ?? null };
}
