/**
 * The decision's inputs and output, as plain data. The store builds these records; authz/ decides over them
 * without I/O or a clock of its own (`now` is passed in), so each check is unit-tested in milliseconds.
 */
import type { ErrorCode } from "../errors";

/** Conditions as stored and shown by the API: canonical (CIDRs normalised, countries upper-case). */
export interface Conditions {
  ip_allow?: string[];
  ip_deny?: string[];
  countries?: string[];
  asns?: number[];
  user_agents?: string[];
  not_before?: string;
  not_after?: string;
}

/** What the hot path needs from a request, snapshotted once. */
export interface RequestFacts {
  /** `CF-Connecting-IP` only; null when absent. Never X-Forwarded-For (spoofable). */
  clientIp: string | null;
  /** `request.cf.country` */
  country: string | null;
  /** `request.cf.asn` */
  asn: number | null;
  userAgent: string | null;
}

/** A data-plane key as the decision sees it; times are epoch milliseconds. */
export interface KeyRecord {
  id: string;
  projectId: string;
  projectSlug: string;
  /** Scope `{project}/*`: covers every deployment of the project, including later ones. */
  allDeployments: boolean;
  /** Ids of the deployments linked one by one. */
  deploymentIds: ReadonlySet<string>;
  expiresAt: number | null;
  revokedAt: number | null;
  /** When the secret that matched stops working (set on an old secret after a roll with grace). */
  secretRetireAt: number | null;
  /** Compiled once when the record is loaded; only evaluated per request. */
  conditions: CompiledConditions;
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
  authEnabled: boolean;
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
}

export type Allow = { ok: true; keyId: string | null };
export type Denial = { ok: false; code: ErrorCode; reason: string };
export type Decision = Allow | Denial;
