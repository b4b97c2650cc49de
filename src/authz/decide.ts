/**
 * The decision: plain data in, allow or a tagged denial out. No I/O, no clock (`now` is passed in).
 *
 * The caller has already parsed a well-formed API key (credential.ts) and made ONE store lookup that produced
 * the key (null: unknown hash) and the deployment (null: no such deployment in the project). The toggle
 * `authEnabled: false` is the caller's too: it allows before asking, so this module only decides for deployments
 * that require a key.
 *
 * The checks run in a fixed order and the first denial wins. The order is part of the contract's behaviour:
 * an unknown, revoked or expired key learns nothing about the project (401 before any 403 or 404), and a key of
 * another project cannot probe which deployments exist (403 before 404).
 */
import { cidrContains, parseClientIp } from "./cidr";
import { globMatch } from "./glob";
import type { CompiledConditions, Decision, DeploymentRecord, Denial, KeyRecord, RequestFacts } from "./types";

export interface AuthorizeInput {
  key: KeyRecord | null;
  deployment: DeploymentRecord | null;
  projectSlug: string;
  facts: RequestFacts;
  /** Epoch milliseconds. */
  now: number;
}

/** The same input, once the key is known to exist. */
type KnownKeyInput = AuthorizeInput & { key: KeyRecord };
type Check = (input: KnownKeyInput) => Denial | null;

const KEY_CHECKS: readonly Check[] = [
  checkRevoked,
  checkSecretRetired,
  checkExpired,
  checkProject,
  checkDeploymentExists,
  checkScope,
  (input) => evaluateConditions(input.key.conditions, input.facts, input.now),
];

export function authorize(input: AuthorizeInput): Decision {
  const { key } = input;
  if (key === null) return deny("invalid_api_key", "the API key is unknown");
  const known: KnownKeyInput = { ...input, key };
  for (const check of KEY_CHECKS) {
    const denial = check(known);
    if (denial !== null) return denial;
  }
  return { ok: true, keyId: key.id };
}

function checkRevoked({ key }: KnownKeyInput): Denial | null {
  return key.revokedAt !== null ? deny("invalid_api_key", "the API key has been revoked") : null;
}

/** After a roll with grace, the old secret keeps working until `secretRetireAt`, then is as good as revoked. */
function checkSecretRetired({ key, now }: KnownKeyInput): Denial | null {
  return key.secretRetireAt !== null && now >= key.secretRetireAt
    ? deny("invalid_api_key", "the API key was rolled and this secret has been retired")
    : null;
}

/** `expires_at` is the first instant the key no longer works. */
function checkExpired({ key, now }: KnownKeyInput): Denial | null {
  return key.expiresAt !== null && now >= key.expiresAt ? deny("expired_api_key", "the API key has expired") : null;
}

function checkProject({ key, projectSlug }: KnownKeyInput): Denial | null {
  return key.projectSlug !== projectSlug
    ? deny("project_scope_mismatch", "the API key belongs to another project")
    : null;
}

function checkDeploymentExists({ deployment }: KnownKeyInput): Denial | null {
  return deployment === null ? deny("not_found", "no such deployment in this project") : null;
}

function checkScope({ key, deployment }: KnownKeyInput): Denial | null {
  if (deployment === null || key.allDeployments || key.deploymentIds.has(deployment.id)) return null;
  return deny("scope_insufficient", "the API key is not scoped to this deployment");
}

/**
 * The key's conditions against the request, in a fixed order: IP deny before IP allow (a deny always wins), then
 * country, ASN, User-Agent, and the validity window. Reasons name the failed condition and may quote the
 * request's own facts, never the key's lists.
 */
export function evaluateConditions(conditions: CompiledConditions, facts: RequestFacts, now: number): Denial | null {
  return (
    checkIp(conditions, facts) ??
    checkCountry(conditions, facts) ??
    checkAsn(conditions, facts) ??
    checkUserAgent(conditions, facts) ??
    checkWindow(conditions, now)
  );
}

function checkIp({ ipAllow, ipDeny }: CompiledConditions, facts: RequestFacts): Denial | null {
  if (ipAllow === null && ipDeny === null) return null;
  // With any IP rule, an address we cannot read denies: otherwise stripping the header would bypass ip_deny.
  const address = parseClientIp(facts.clientIp);
  if (address === null) return deny("ip_not_allowed", "the client IP address is missing or unreadable");
  // Quoted without its zone id: what is left parsed as an address, so it is short and harmless.
  const shown = (facts.clientIp ?? "").split("%", 1)[0];
  if (ipDeny?.some((block) => cidrContains(block, address))) {
    return deny("ip_not_allowed", `the client IP address ${shown} is in the key's ip_deny list`);
  }
  if (ipAllow !== null && !ipAllow.some((block) => cidrContains(block, address))) {
    return deny("ip_not_allowed", `the client IP address ${shown} is not in the key's ip_allow list`);
  }
  return null;
}

function checkCountry({ countries }: CompiledConditions, { country }: RequestFacts): Denial | null {
  if (countries === null) return null;
  if (country === null) {
    return deny("condition_not_met", "the request's country is unknown; the key allows only some countries");
  }
  return countries.has(country.toUpperCase())
    ? null
    : deny("condition_not_met", `country ${country} is not in the key's allowed countries`);
}

function checkAsn({ asns }: CompiledConditions, { asn }: RequestFacts): Denial | null {
  if (asns === null) return null;
  if (asn === null) {
    return deny("condition_not_met", "the request's network (ASN) is unknown; the key allows only some ASNs");
  }
  return asns.has(asn) ? null : deny("condition_not_met", `AS${asn} is not in the key's allowed ASNs`);
}

/** The User-Agent is not quoted back: it is attacker-chosen text of any length. */
function checkUserAgent({ userAgents }: CompiledConditions, { userAgent }: RequestFacts): Denial | null {
  if (userAgents === null) return null;
  if (userAgent === null) return deny("condition_not_met", "no User-Agent was sent; the key requires a matching one");
  return userAgents.some((pattern) => globMatch(pattern, userAgent))
    ? null
    : deny("condition_not_met", "the User-Agent does not match the key's user_agents patterns");
}

/** `not_before` is the first instant the key works; `not_after` the first instant it no longer does. */
function checkWindow({ notBefore, notAfter }: CompiledConditions, now: number): Denial | null {
  if (notBefore !== null && now < notBefore) {
    return deny("condition_not_met", `the key is not valid before ${new Date(notBefore).toISOString()} (not_before)`);
  }
  if (notAfter !== null && now >= notAfter) {
    return deny("condition_not_met", `the key stopped being valid at ${new Date(notAfter).toISOString()} (not_after)`);
  }
  return null;
}

function deny(code: Denial["code"], reason: string): Denial {
  return { ok: false, code, reason };
}
