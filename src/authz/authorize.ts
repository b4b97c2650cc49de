/**
 * The data plane's whole decision: plain data in, the allowed target or a tagged denial out. No I/O, no clock
 * (`now` is passed in). The gateway reads the credential's records and hands them over; everything it then does
 * (forward, or answer with the denial's code) follows from what this returns. Explain (admin/explain.ts) calls it
 * too, with records read by key id, so it cannot answer differently from the data plane.
 *
 * The checks run in a fixed order and the first denial wins. The order is part of the contract's behaviour
 * (docs/api.md, "The decision"):
 *   0. the method: only those an inference API uses are forwarded (a TRACE echoed by an origin would show the
 *      deployment's own Authorization header to the caller);
 *   0a. the endpoint the request arrived on: a deployment whose endpoint is off is treated as unknown; a request to
 *      the private hostname must carry a certificate the deployment accepts (403 client_certificate_required);
 *   1. that endpoint's auth toggle: with auth off, no credential check at all (a key sent is ignored), and only the
 *      project's kill switch and the path apply;
 *      an unknown deployment still demands a credential first, so its absence is only told to an authenticated
 *      caller;
 *   2. the credential: present, one, an API key, well-formed (credential.ts);
 *   3. the key: known, not revoked, secret not retired, not expired — all 401, so an unusable key learns nothing
 *      about the project;
 *   4. project, then deployment: a key of another project cannot probe which deployments exist (403 before 404);
 *      then the project's kill switch (403 project_suspended);
 *   5. what the key may do here:
 *      - a standalone key: its scopes, then its conditions;
 *      - an application key: its own conditions, then whether any rule of its application covers the deployment;
 *   6. the path is normalised (404 when it cannot be);
 *   7. the permission: a standalone key's permission set; for an application key, the first covering rule (in
 *      order) whose permission set allows the method and path and whose conditions hold;
 *   8. the path is in the deployment's allowed paths (404 otherwise).
 */
import { cidrContains, parseClientIp } from "./cidr";
import type { DataPlaneCredential } from "./credential";
import { globMatch } from "./glob";
import { isPathAllowed, normalizeRestPath } from "./paths";
import { permissionMessage, permits } from "./permission-sets";
import type {
  CompiledConditions,
  Coverage,
  Decision,
  DenialReason,
  Denial,
  DeploymentRecord,
  Endpoint,
  KeyRecord,
  RequestFacts,
  RuleRef,
} from "./types";
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

type KnownKey = KnownKeyInput & { deployment: DeploymentRecord };

const covers = (grant: Coverage, deployment: DeploymentRecord) =>
  grant.allDeployments || grant.deploymentIds.has(deployment.id);

/** Checks 3–4: the same for every key. */
const KEY_CHECKS: readonly Check[] = [
  ({ key }) => (key.revokedAt !== null ? deny("invalid_api_key", "revoked", key) : null),
  // After a roll with grace, the old secret keeps working until `secretRetireAt`, then is as good as revoked.
  ({ key, now }) =>
    key.secretRetireAt !== null && now >= key.secretRetireAt ? deny("invalid_api_key", "retired_secret", key) : null,
  // `expires_at` is the first instant the key no longer works.
  ({ key, now }) => (key.expiresAt !== null && now >= key.expiresAt ? deny("expired_api_key", "expired", key) : null),
  ({ key, projectSlug }) => (key.projectSlug !== projectSlug ? deny("project_scope_mismatch", "other_project", key) : null),
  ({ key, deployment }) => (deployment === null ? deny("not_found", "unknown_deployment", key) : null),
  // An endpoint that is off answers exactly as an unknown deployment does; only the log's reason tells them apart.
  ({ key, deployment, facts }) =>
    deployment !== null && !endpointOpen(deployment, facts.endpoint) ? deny("not_found", "endpoint_disabled", key) : null,
  ({ key, deployment }) => (deployment?.projectSuspended ? suspended(key) : null),
];

const suspended = (key: { id: string } | null) => deny("project_suspended", "project_suspended", key);

/** Whether the deployment answers on this endpoint at all. */
const endpointOpen = (d: DeploymentRecord, endpoint: Endpoint) => (endpoint === "public" ? d.publicEnabled : d.privateEnabled);
/** The API-key auth toggle of the endpoint the request arrived on. */
const authOn = (d: DeploymentRecord, endpoint: Endpoint) => (endpoint === "public" ? d.authEnabled : d.privateAuthEnabled);

/** Whether this endpoint of the deployment answers anyone, key or not: open, with its auth toggle off. */
export const openWithoutKey = (d: DeploymentRecord, endpoint: Endpoint) => endpointOpen(d, endpoint) && !authOn(d, endpoint);

/**
 * A request to the private hostname arrives with the fingerprint of a certificate the edge verified (the gateway
 * refused it otherwise); a deployment that lists fingerprints accepts only those.
 */
function certificateCheck(d: DeploymentRecord, { viaPrivateHostname, clientCert }: RequestFacts): Denial | null {
  if (!viaPrivateHostname || d.clientCertFingerprints === null) return null;
  if (clientCert !== null && d.clientCertFingerprints.has(clientCert)) return null;
  return deny("client_certificate_required", "client_certificate_not_allowed");
}

/** Check 5 for a standalone key: its scopes cover the deployment, and its conditions hold. */
function standaloneChecks({ key, deployment, facts, now }: KnownKey): Denial | null {
  if (!covers(key, deployment)) return deny("scope_insufficient", "not_in_scope", key);
  return evaluateConditions(key.conditions, facts, now, key);
}

/** Check 5 for an application key: its own conditions hold, and some rule covers the deployment. */
function applicationChecks({ key, deployment, facts, now }: KnownKey): Denial | null {
  const keyDenial = evaluateConditions(key.conditions, facts, now, key);
  if (keyDenial !== null) return keyDenial;
  if (!key.application?.rules.some((rule) => covers(rule, deployment))) {
    return deny("scope_insufficient", "no_rule_covers", key, "No policy rule of this key's application covers this deployment.");
  }
  return null;
}

interface Granted {
  granted: true;
  rule?: RuleRef;
}

const GRANTED: Granted = { granted: true };

/**
 * Check 7. A standalone key: its permission set. An application key: the first covering rule whose permission set
 * allows the request and whose conditions hold wins; when none does, the first such rule's failed condition is the
 * answer, and when no covering rule's set allows the request at all, 403 scope_insufficient.
 */
function permission(known: KnownKey, path: string): Denial | Granted {
  const { key, deployment, method, facts, now } = known;
  if (key.application === null) {
    // A standalone key without a permission set cannot come from the store (it fails to load); deny, never allow.
    const set = key.permissionSet ?? "InferenceReadOnly";
    return permits(set, method, path) ? GRANTED : deny("scope_insufficient", "permission_set", key, permissionMessage(set, "key"));
  }
  let firstFailure: Denial | null = null;
  let deniedSet = null;
  for (const rule of key.application.rules) {
    if (!covers(rule, deployment)) continue;
    if (!permits(rule.permissionSet, method, path)) {
      deniedSet ??= rule.permissionSet;
      continue;
    }
    const ref = { policyId: rule.policyId, index: rule.index };
    const failed = evaluateConditions(rule.conditions, facts, now, key, "policy rule");
    if (failed === null) return { granted: true, rule: ref };
    firstFailure ??= { ...failed, rule: ref };
  }
  return firstFailure ?? deny("scope_insufficient", "permission_set", key, permissionMessage(deniedSet ?? "InferenceReadOnly", "rules"));
}

/** Methods keygate forwards; anything else (TRACE, CONNECT, made-up ones) is 405. */
const FORWARDED_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * The checks that need nothing from the store, for the gateway to run before it reads any (a TRACE, or a request to
 * the private hostname without a certificate, costs no hash and no query); authorize() runs them first too, so it
 * alone still decides everything.
 */
export function preflight(method: string, { viaPrivateHostname, clientCert }: RequestFacts): Denial | null {
  if (!FORWARDED_METHODS.has(method)) {
    return { ...deny("method_not_allowed", "method_not_allowed"), headers: { allow: [...FORWARDED_METHODS].join(", ") } };
  }
  // The private hostname is reachable from anywhere; what makes a request there private is the certificate.
  if (viaPrivateHostname && clientCert === null) return deny("client_certificate_required", "client_certificate_missing");
  return null;
}

export function authorize(input: AuthorizeInput): Decision {
  const { credential, facts } = input;
  const early = preflight(input.method, facts);
  if (early !== null) return early;
  // Where the request arrived, the deployment is open, or as good as unknown (the key checks say which).
  const deployment = input.deployment !== null && endpointOpen(input.deployment, facts.endpoint) ? input.deployment : null;
  if (deployment !== null) {
    const certificate = certificateCheck(deployment, facts);
    if (certificate !== null) return certificate;
  }
  let known: KnownKey | null = null;
  if (deployment === null || authOn(deployment, facts.endpoint)) {
    if (credential.kind === "none") return deny("missing_api_key", "missing_credential");
    if (credential.kind === "error") {
      const message = credential.reason === "two_credentials" ? TWO_CREDENTIALS : undefined;
      return deny(credential.code, credential.reason, null, message);
    }
    const { key } = input;
    if (key === null) return deny("invalid_api_key", "unknown_key");
    const withKey: KnownKeyInput = { ...input, key };
    for (const check of KEY_CHECKS) {
      const denial = check(withKey);
      if (denial !== null) return denial;
    }
    // The checks above denied an unknown deployment and a closed endpoint.
    known = { ...withKey, deployment: deployment as DeploymentRecord };
    const denial = key.application === null ? standaloneChecks(known) : applicationChecks(known);
    if (denial !== null) return denial;
  }
  // Only reachable with a deployment: an unknown one was denied above, whatever the credential.
  const target = deployment as DeploymentRecord;
  if (known === null && target.projectSuspended) return suspended(null);
  const keyId = known?.key.id ?? null;
  const path = normalizeRestPath(input.rawPath);
  if (path === null) return denyPath("bad_path", keyId);
  const granted = known === null ? GRANTED : permission(known, path);
  if (!("granted" in granted)) return granted;
  if (!isPathAllowed(path, target.allowedPaths)) return denyPath("path_not_allowed", keyId, granted.rule);
  return granted.rule === undefined
    ? { ok: true, deployment: target, path, keyId }
    : { ok: true, deployment: target, path, keyId, rule: granted.rule };
}

const TWO_CREDENTIALS = "Two different credentials were sent (Authorization and X-API-Key); send one.";

function denyPath(reason: DenialReason, keyId: string | null, rule?: RuleRef): Denial {
  const denial: Denial = { ok: false, code: "not_found", reason, message: "This path is not served by this deployment.", keyId };
  return rule === undefined ? denial : { ...denial, rule };
}

/**
 * A key's or a policy rule's conditions against the request, in a fixed order: IP deny before IP allow (a deny
 * always wins), then country, ASN, User-Agent, and the validity window. Messages name the failed condition and
 * whose it is, and may quote the request's own facts, never the key's or rule's lists.
 */
export function evaluateConditions(
  conditions: CompiledConditions,
  facts: RequestFacts,
  now: number,
  key: { id: string } | null = null,
  subject: Subject = "key",
): Denial | null {
  const at = { key, subject };
  return (
    checkIp(conditions, facts, at) ??
    checkCountry(conditions, facts, at) ??
    checkAsn(conditions, facts, at) ??
    checkUserAgent(conditions, facts, at) ??
    checkWindow(conditions, now, at) ??
    checkEndpoint(conditions, facts, at)
  );
}

/** Whose conditions are checked: the message says so, so an operator knows whether to edit the key or a policy. */
type Subject = "key" | "policy rule";
interface Holder {
  key: { id: string } | null;
  subject: Subject;
}

/** A key's IP denial keeps the code's default message (no address quoted); a rule's says it was a policy rule. */
const RULE_IP_MESSAGE = "Requests from this IP address are not allowed by the policy rules of this key's application.";

function checkIp({ ipAllow, ipDeny }: CompiledConditions, facts: RequestFacts, { key, subject }: Holder): Denial | null {
  if (ipAllow === null && ipDeny === null) return null;
  const message = subject === "key" ? undefined : RULE_IP_MESSAGE;
  // With any IP rule, an address we cannot read denies: otherwise stripping the header would bypass ip_deny.
  const address = parseClientIp(facts.clientIp);
  if (address === null) return deny("ip_not_allowed", "ip_unreadable", key, message);
  if (ipDeny?.some((block) => cidrContains(block, address))) return deny("ip_not_allowed", "ip_denied", key, message);
  if (ipAllow !== null && !ipAllow.some((block) => cidrContains(block, address))) {
    return deny("ip_not_allowed", "ip_not_allowed", key, message);
  }
  return null;
}

// The facts are read only once a condition needs them (the gateway's read request.cf lazily: gateway/facts.ts).
function checkCountry({ countries }: CompiledConditions, facts: RequestFacts, at: Holder): Denial | null {
  if (countries === null) return null;
  const { country } = facts;
  if (country === null) {
    return unmet("country_unknown", `the request's country is unknown; the ${at.subject} allows only some countries`, at);
  }
  return countries.has(country.toUpperCase())
    ? null
    : unmet("country_not_allowed", `country ${country} is not in the ${at.subject}'s allowed countries`, at);
}

function checkAsn({ asns }: CompiledConditions, facts: RequestFacts, at: Holder): Denial | null {
  if (asns === null) return null;
  const { asn } = facts;
  if (asn === null) {
    return unmet("asn_unknown", `the request's network (ASN) is unknown; the ${at.subject} allows only some ASNs`, at);
  }
  return asns.has(asn) ? null : unmet("asn_not_allowed", `AS${asn} is not in the ${at.subject}'s allowed ASNs`, at);
}

/** The User-Agent is not quoted back: it is attacker-chosen text of any length. */
function checkUserAgent({ userAgents }: CompiledConditions, facts: RequestFacts, at: Holder): Denial | null {
  if (userAgents === null) return null;
  const { userAgent } = facts;
  if (userAgent === null) {
    return unmet("user_agent_missing", `no User-Agent was sent; the ${at.subject} requires a matching one`, at);
  }
  return userAgents.some((pattern) => globMatch(pattern, userAgent))
    ? null
    : unmet("user_agent_not_allowed", `the User-Agent does not match the ${at.subject}'s user_agents patterns`, at);
}

/** `not_before` is the first instant the key works; `not_after` the first instant it no longer does. */
function checkWindow({ notBefore, notAfter }: CompiledConditions, now: number, at: Holder): Denial | null {
  if (notBefore !== null && now < notBefore) {
    return unmet("not_yet_valid", `the ${at.subject} is not valid before ${new Date(notBefore).toISOString()} (not_before)`, at);
  }
  if (notAfter !== null && now >= notAfter) {
    return unmet("no_longer_valid", `the ${at.subject} stopped being valid at ${new Date(notAfter).toISOString()} (not_after)`, at);
  }
  return null;
}

function checkEndpoint({ endpoints }: CompiledConditions, { endpoint }: RequestFacts, at: Holder): Denial | null {
  if (endpoints === null || endpoints.has(endpoint)) return null;
  return unmet("endpoint_not_allowed", `the request arrived on the ${endpoint} endpoint, which the ${at.subject} does not allow (endpoints)`, at);
}

function unmet(reason: DenialReason, what: string, { key }: Holder): Denial {
  return deny("condition_not_met", reason, key, `Condition not met: ${what}.`);
}

function deny(code: ErrorCode, reason: DenialReason, key: { id: string } | null = null, message?: string): Denial {
  return message === undefined ? { ok: false, code, reason, keyId: key?.id ?? null } : { ok: false, code, reason, message, keyId: key?.id ?? null };
}
