/**
 * The decision's inputs and output, as plain data. The store builds these records; authz/ decides over them
 * without I/O or a clock of its own (`now` is passed in), so each check is unit-tested in milliseconds.
 */
import type { BudgetConfig } from "../budgets/budget";
import type { ErrorCode } from "../errors";
import type { CredentialReason } from "./credential";
import type { PermissionSet } from "./permission-sets";

/** Conditions as stored and shown by the API: canonical (defined by conditions-schema.ts). */
export type { Conditions } from "./conditions-schema";

/** The two ways into a deployment (docs/api.md, "Endpoints"). */
export type Endpoint = "public" | "private";

/** What the hot path needs from a request, snapshotted once. */
export interface RequestFacts {
  /** The endpoint the request arrived on: private through the PrivateEndpoint entrypoint or PRIVATE_HOSTNAME. */
  endpoint: Endpoint;
  /** The request came to PRIVATE_HOSTNAME: it must carry a client certificate the edge verified. */
  viaPrivateHostname: boolean;
  /**
   * The SHA-256 fingerprint (lower-case hex) of the client certificate the edge verified and saw unrevoked; null when
   * there is none (or it failed, or was revoked). Only read for a request to PRIVATE_HOSTNAME.
   */
  clientCert: string | null;
  /** `CF-Connecting-IP` only; null when absent. Never X-Forwarded-For (spoofable). */
  clientIp: string | null;
  /** `request.cf.country` */
  country: string | null;
  /** `request.cf.asn` */
  asn: number | null;
  userAgent: string | null;
}

/** Which of a project's deployments a key's scopes or a rule cover. */
export interface Coverage {
  /** Scope `{project}/*` or a rule's `["*"]`: every deployment of the project, including later ones. */
  allDeployments: boolean;
  /** Ids of the deployments named one by one. */
  deploymentIds: ReadonlySet<string>;
}

/** One rule of one policy of an application. */
export interface RuleRecord extends Coverage {
  policyId: string;
  /** The rule's position in its policy, from 0. */
  index: number;
  permissionSet: PermissionSet;
  conditions: CompiledConditions;
}

/**
 * A data-plane key as the decision sees it; times are epoch milliseconds. A standalone key carries its own
 * coverage (its scopes) and permission set; an application key has neither (empty coverage, null set) and is
 * decided by its application's rules.
 */
export interface KeyRecord extends Coverage {
  id: string;
  projectId: string;
  projectSlug: string;
  /** A standalone key's permission set; null for an application key. */
  permissionSet: PermissionSet | null;
  /** An application key's application and its rules in the order they apply; null for a standalone key. */
  application: { id: string; rules: readonly RuleRecord[] } | null;
  expiresAt: number | null;
  revokedAt: number | null;
  /** When the secret that matched stops working (set on an old secret after a roll with grace). */
  secretRetireAt: number | null;
  /** Compiled once when the record is loaded; only evaluated per request. */
  conditions: CompiledConditions;
  /** The token budgets on the key itself and on its application (not decided here: src/gateway/budget-gate.ts). */
  budgets: readonly BudgetRef[];
}

/** A token budget that covers a request: its id and definition, as D1 has them (its counter holds what is spent). */
export interface BudgetRef extends BudgetConfig {
  id: string;
}

export interface DeploymentRecord {
  id: string;
  projectId: string;
  projectSlug: string;
  slug: string;
  originUrl: string;
  /** name → value, added to every upstream request. */
  originHeaders: Record<string, string>;
  model: string | null;
  allowedPaths: string[];
  /** The public endpoint's API-key auth toggle (the API's top-level `auth_enabled`). */
  authEnabled: boolean;
  publicEnabled: boolean;
  privateEnabled: boolean;
  privateAuthEnabled: boolean;
  /** Client certificates the private hostname accepts for this deployment; null: any the edge verified. */
  clientCertFingerprints: ReadonlySet<string> | null;
  /** Sign a Keygate-Assertion for the origin on every forwarded request. */
  originAssertion: boolean;
  /** The project's kill switch. */
  projectSuspended: boolean;
  /** Streamed chat and completions ask the origin for `stream_options.include_usage` (src/metering/). */
  injectStreamUsage: boolean;
  /** What a hard budget reserves for the output of a request that names no max_tokens; null: keygate's default. */
  defaultMaxTokens: number | null;
  /** The project's own token budgets, covering every request to its deployments. */
  projectBudgets: readonly BudgetRef[];
}

/** An IPv4 or IPv6 network as bytes (IPv4: 4 bytes, IPv6: 16) and a prefix length. */
export interface CidrBlock {
  bytes: Uint8Array;
  prefix: number;
}

export interface CompiledConditions {
  ipAllow: CidrBlock[] | null;
  ipDeny: CidrBlock[] | null;
  countries: ReadonlySet<string> | null;
  asns: ReadonlySet<number> | null;
  /** Glob patterns, matched without backtracking. */
  userAgents: string[] | null;
  notBefore: number | null;
  notAfter: number | null;
  endpoints: ReadonlySet<Endpoint> | null;
}

/**
 * Why a request was denied: an internal word for the endpoint log line, so an operator can tell a revoked key from
 * an unknown one. Never sent to the client (it gets the code and a safe message) and never a secret.
 */
export type DenialReason =
  | CredentialReason
  | "method_not_allowed"
  | "missing_credential"
  | "unknown_key"
  | "revoked"
  | "retired_secret"
  | "expired"
  | "other_project"
  | "unknown_deployment"
  | "not_in_scope"
  | "no_rule_covers"
  | "permission_set"
  | "ip_unreadable"
  | "ip_denied"
  | "ip_not_allowed"
  | "country_unknown"
  | "country_not_allowed"
  | "asn_unknown"
  | "asn_not_allowed"
  | "user_agent_missing"
  | "user_agent_not_allowed"
  | "not_yet_valid"
  | "no_longer_valid"
  | "endpoint_not_allowed"
  | "endpoint_disabled"
  | "client_certificate_missing"
  | "client_certificate_not_allowed"
  | "project_suspended"
  | "bad_path"
  | "path_not_allowed";

/** The rule that decided an application key's request: the one that allowed it, or the first whose conditions failed. */
export interface RuleRef {
  policyId: string;
  index: number;
}

export interface Denial {
  ok: false;
  code: ErrorCode;
  reason: DenialReason;
  /** The public message when the code's default is not enough; safe to show (no secret, no key's lists). */
  message?: string;
  /** The key that was denied, when one was found (for the log line). */
  keyId: string | null;
  /** Headers the answer must carry (`Allow` on a 405, RFC 9110 §15.5.6). */
  headers?: Record<string, string>;
  rule?: RuleRef;
}

export interface Allow {
  ok: true;
  deployment: DeploymentRecord;
  /** The normalised origin path, checked against the deployment's allowed paths: what is forwarded. */
  path: string;
  /** The key that was allowed; null when the deployment's auth is off. */
  keyId: string | null;
  /** The rule that allowed an application key's request. */
  rule?: RuleRef;
}

export type Decision = Allow | Denial;
