/**
 * The data plane's only query: everything a decision needs, in ONE round trip to the D1 primary (no read-replica
 * session on this path, so a committed write is always visible): the deployment named by the URL, and the key a
 * presented secret hashes to, with its links, or, for an application key, every rule of its application's
 * policies. The two halves are independent LEFT JOINs from a one-row base, so an unknown key still returns the
 * deployment (whose auth toggle decides whether a key is needed at all). Explain reads the same statement with the
 * key found by id instead (loadExplainRecords), so both decide over records built by the same code.
 *
 * Fail closed: whatever goes wrong between asking and having the records — a binding that throws at prepare, a
 * query that fails, a store that does not answer within STORE_TIMEOUT_MS, a stored row that does not parse —
 * leaves here as a StoreError (503 store_unavailable on the wire), never as a record the decision could allow on.
 */
import { compileConditions } from "../authz/conditions";
import { isPermissionSet, type PermissionSet } from "../authz/permission-sets";
import type { BudgetRef, Conditions, DeploymentRecord, KeyRecord, RuleRecord } from "../authz/types";
import { checkConfig } from "../budgets/budget";
import { toMillis } from "../time";
import { all, first } from "./db";
import { StoreError, storeErrorOf } from "./errors";

/**
 * Longest wait for the decision's query. D1 answers in milliseconds to tens of milliseconds; a store that has not
 * answered in 5 s is treated as down (the request is denied with 503) rather than holding the client until the
 * platform's own limit.
 */
export const STORE_TIMEOUT_MS = 5000;

interface AuthRow {
  d_id: string | null;
  d_project_id: string | null;
  d_project_slug: string | null;
  d_slug: string | null;
  d_origin_url: string | null;
  d_origin_headers: string | null;
  d_model: string | null;
  d_allowed_paths: string | null;
  d_auth_enabled: number | null;
  d_public_enabled: number | null;
  d_private_enabled: number | null;
  d_private_auth_enabled: number | null;
  d_client_cert_fingerprints: string | null;
  d_origin_assertion: number | null;
  d_project_suspended: number | null;
  d_inject_stream_usage: number | null;
  d_default_max_tokens: number | null;
  d_budgets: string | null;
  k_id: string | null;
  k_project_id: string | null;
  k_project_slug: string | null;
  k_all_deployments: number | null;
  k_conditions: string | null;
  k_expires_at: string | null;
  k_revoked_at: string | null;
  k_links: string | null;
  k_permission_set: string | null;
  k_application_id: string | null;
  k_rules: string | null;
  k_budgets: string | null;
  s_retire_at: string | null;
  k_revision: number | null;
  dp_id: string | null;
  revision: number | null;
}

/**
 * An application key's rules: one JSON array per rule, `[policy_id, position, permission_set, all_deployments,
 * conditions, [deployment_id…]]`, sorted by the reader (json_group_array's order is not guaranteed). Only policies
 * of an application of the key's own project count.
 */
const RULES = `(SELECT json_group_array(json_array(r.policy_id, r.position, r.permission_set, r.all_deployments,
      json(r.conditions),
      json((SELECT json_group_array(rd.deployment_id) FROM policy_rule_deployments rd
            WHERE rd.policy_id = r.policy_id AND rd.position = r.position))))
    FROM policy_rules r
    JOIN policies p ON p.id = r.policy_id
    JOIN applications a ON a.id = p.application_id AND a.project_id = k.project_id
    WHERE p.application_id = k.application_id)`;

/** Budgets as `[[id, limit_tokens, mode, period, updated_at], …]`; `subjects` selects which (b is the budget). */
const budgets = (subjects: string) => `(SELECT json_group_array(json_array(b.id, b.limit_tokens, b.mode, b.period, b.updated_at))
    FROM budgets b WHERE ${subjects})`;

/** The statement, with the key found by `keyJoin` (which binds ?3 and must alias the key `k`, its secret `s`). */
const authQuery = (keyJoin: string) => `
SELECT
  d.id AS d_id, d.project_id AS d_project_id, dp.slug AS d_project_slug, d.slug AS d_slug,
  d.origin_url AS d_origin_url, d.origin_headers AS d_origin_headers, d.model AS d_model,
  d.allowed_paths AS d_allowed_paths, d.auth_enabled AS d_auth_enabled,
  d.public_enabled AS d_public_enabled, d.private_enabled AS d_private_enabled,
  d.private_auth_enabled AS d_private_auth_enabled, d.client_cert_fingerprints AS d_client_cert_fingerprints,
  d.origin_assertion AS d_origin_assertion, dp.suspended AS d_project_suspended,
  d.inject_stream_usage AS d_inject_stream_usage, d.default_max_tokens AS d_default_max_tokens,
  CASE WHEN d.id IS NULL THEN NULL ELSE ${budgets("b.project_id = dp.id AND b.subject_type = 'project'")} END AS d_budgets,
  k.id AS k_id, k.project_id AS k_project_id, kp.slug AS k_project_slug, k.all_deployments AS k_all_deployments,
  k.conditions AS k_conditions, k.expires_at AS k_expires_at, k.revoked_at AS k_revoked_at,
  (SELECT json_group_array(kd.deployment_id) FROM api_key_deployments kd WHERE kd.key_id = k.id) AS k_links,
  k.permission_set AS k_permission_set, k.application_id AS k_application_id,
  CASE WHEN k.application_id IS NULL THEN NULL ELSE ${RULES} END AS k_rules,
  CASE WHEN k.id IS NULL THEN NULL ELSE ${budgets(`b.project_id = k.project_id AND ((b.subject_type = 'key' AND b.subject_id = k.id)
      OR (b.subject_type = 'application' AND b.subject_id = k.application_id))`)} END AS k_budgets,
  s.retire_at AS s_retire_at, kp.revision AS k_revision,
  dp.id AS dp_id, dp.revision AS revision
FROM (SELECT 1) AS base
LEFT JOIN projects dp ON dp.slug = ?1
LEFT JOIN deployments d ON d.project_id = dp.id AND d.slug = ?2
${keyJoin}
LEFT JOIN projects kp ON kp.id = k.project_id
LIMIT 1`;

/** The data plane: the key one of the presented secret's hashes (?3, a JSON array) belongs to. */
const AUTH_QUERY = authQuery(`LEFT JOIN api_key_secrets s ON s.hash IN (SELECT value FROM json_each(?3))
LEFT JOIN api_keys k ON k.id = s.key_id`);

/** Explain: the key with id ?3 in the URL's project, as its current secret would present it (no retirement). */
const EXPLAIN_QUERY = authQuery(`LEFT JOIN api_keys k ON k.id = ?3 AND k.project_id = dp.id
LEFT JOIN api_key_secrets s ON 0`);

/** A project's revision as one read saw it (src/store/revisions.ts). */
export interface ProjectRevision {
  projectId: string;
  revision: number;
}

/**
 * The records, each with the revision of its own project in the same snapshot: the revision is what the cache
 * re-validates them by, and what the data plane's `keygate-revision` header reports.
 */
export interface AuthRecords {
  deployment: DeploymentRecord | null;
  /** null: no hashes were given, or none is known. */
  key: KeyRecord | null;
  /** The URL's project; null when there is no such project (the deployment is null then too). */
  project: ProjectRevision | null;
  /** The key's project (the URL's, unless the key belongs to another); null when there is no key. */
  keyProject: ProjectRevision | null;
}

function deploymentOf(row: AuthRow): DeploymentRecord | null {
  if (row.d_id === null) return null;
  return {
    id: row.d_id,
    projectId: row.d_project_id ?? "",
    projectSlug: row.d_project_slug ?? "",
    slug: row.d_slug ?? "",
    originUrl: row.d_origin_url ?? "",
    originHeaders: JSON.parse(row.d_origin_headers ?? "{}") as Record<string, string>,
    model: row.d_model,
    allowedPaths: JSON.parse(row.d_allowed_paths ?? "[]") as string[],
    // A toggle reads as on only when it is exactly 1: an auth toggle that is not readable keeps auth on.
    authEnabled: row.d_auth_enabled !== 0,
    publicEnabled: row.d_public_enabled === 1,
    privateEnabled: row.d_private_enabled === 1,
    privateAuthEnabled: row.d_private_auth_enabled !== 0,
    clientCertFingerprints:
      row.d_client_cert_fingerprints === null ? null : new Set(JSON.parse(row.d_client_cert_fingerprints) as string[]),
    originAssertion: row.d_origin_assertion === 1,
    projectSuspended: row.d_project_suspended !== 0,
    // Off only when exactly 0, like the auth toggle: an unreadable flag keeps counting streams.
    injectStreamUsage: row.d_inject_stream_usage !== 0,
    defaultMaxTokens: row.d_default_max_tokens,
    projectBudgets: budgetsOf(row.d_budgets),
  };
}

function keyOf(row: AuthRow): KeyRecord | null {
  if (row.k_id === null) return null;
  const application = row.k_application_id === null ? null : { id: row.k_application_id, rules: rulesOf(row.k_rules) };
  let permissionSet: PermissionSet | null = null;
  if (application === null) {
    // A standalone key must carry a known permission set; anything else is a corrupt row (fail closed).
    if (!isPermissionSet(row.k_permission_set)) throw new Error("stored permission_set is not known");
    permissionSet = row.k_permission_set;
  }
  return {
    id: row.k_id,
    projectId: row.k_project_id ?? "",
    projectSlug: row.k_project_slug ?? "",
    allDeployments: row.k_all_deployments === 1,
    deploymentIds: new Set(JSON.parse(row.k_links ?? "[]") as string[]),
    permissionSet,
    application,
    expiresAt: toMillis(row.k_expires_at),
    revokedAt: toMillis(row.k_revoked_at),
    secretRetireAt: toMillis(row.s_retire_at),
    conditions: compileConditions(JSON.parse(row.k_conditions ?? "{}") as Conditions),
    budgets: budgetsOf(row.k_budgets),
  };
}

/**
 * Stored budgets, checked as their counters check them (checkConfig throws on one that does not read as a budget: a
 * corrupt row, so the read is a StoreError and nothing is allowed on it). The version is the row's updated_at.
 */
function budgetsOf(json: string | null): BudgetRef[] {
  const stored = JSON.parse(json ?? "[]") as [string, unknown, unknown, unknown, string][];
  return stored.map(([id, limitTokens, mode, period, updatedAt]) => ({
    id,
    ...checkConfig({ limitTokens, mode, period, version: toMillis(updatedAt) }),
  }));
}

type StoredRule = [string, number, string, number, Conditions, string[]];

/** An application's rules in the order they apply: by policy id (creation order), then position. */
function rulesOf(json: string | null): RuleRecord[] {
  const stored = JSON.parse(json ?? "[]") as StoredRule[];
  const rules = stored.map(([policyId, index, permissionSet, all, conditions, deploymentIds]): RuleRecord => {
    if (!isPermissionSet(permissionSet)) throw new Error("stored rule permission_set is not known");
    return {
      policyId,
      index,
      permissionSet,
      allDeployments: all === 1,
      deploymentIds: new Set(deploymentIds),
      conditions: compileConditions(conditions),
    };
  });
  return rules.sort((a, b) => (a.policyId < b.policyId ? -1 : a.policyId > b.policyId ? 1 : a.index - b.index));
}

/** The query's answer, or a `timeout` StoreError once `ms` have passed without one (a budget counter's call too). */
export function withinTimeout<T>(query: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreError("timeout", `no answer within ${ms} ms`)), ms);
  });
  return Promise.race([query, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Every read of the data plane: `query` answered within STORE_TIMEOUT_MS and the answer parsed; whatever goes wrong —
 * a binding that throws at prepare, a failed query, no answer in time, a row that does not parse — leaves as a
 * StoreError, never as something a decision could allow on.
 */
async function storeRead<R, T>(query: () => Promise<R>, parse: (answer: R) => T): Promise<T> {
  try {
    return parse(await withinTimeout(query(), STORE_TIMEOUT_MS));
  } catch (err) {
    throw storeErrorOf(err);
  }
}

/**
 * @param hashes every hash the presented secret could be stored under; empty when no usable secret was sent
 * @throws StoreError — never anything else, so a caller cannot mistake an outage for a denial
 */
export function loadAuthRecords(
  db: D1Database,
  projectSlug: string,
  deploymentSlug: string,
  hashes: string[],
): Promise<AuthRecords> {
  return read(db, AUTH_QUERY, projectSlug, deploymentSlug, JSON.stringify(hashes));
}

/** The same records for the key with this id (of the URL's project only), as explain decides over them. */
export function loadExplainRecords(
  db: D1Database,
  projectSlug: string,
  deploymentSlug: string,
  keyId: string,
): Promise<AuthRecords> {
  return read(db, EXPLAIN_QUERY, projectSlug, deploymentSlug, keyId);
}

function read(
  db: D1Database,
  sql: string,
  projectSlug: string,
  deploymentSlug: string,
  keyArg: string,
): Promise<AuthRecords> {
  return storeRead(
    () => first<AuthRow>(db.prepare(sql).bind(projectSlug, deploymentSlug, keyArg)),
    (row): AuthRecords => {
      if (!row) return { deployment: null, key: null, project: null, keyProject: null };
      // A row that does not parse (corrupt JSON, a stored CIDR that is not canonical) is a store fault too.
      const key = keyOf(row);
      return {
        deployment: deploymentOf(row),
        key,
        project: row.dp_id === null ? null : { projectId: row.dp_id, revision: row.revision ?? 0 },
        keyProject: key === null ? null : { projectId: key.projectId, revision: row.k_revision ?? 0 },
      };
    },
  );
}

/** An audit event after a revision an isolate holds: what a management write changed. */
export interface RevisionEvent {
  revision: number;
  action: string;
  target: string;
}

/** A held project as D1 has it now: its revision, and the events since the one held (null: too many, or none needed). */
export interface ProjectNow {
  revision: number;
  events: RevisionEvent[] | null;
}

/**
 * ?1: JSON `[[project_id, held_revision], …]`; ?2: the most events worth listing. Events come only for a project whose
 * revision moved by at most ?2 (beyond that the isolate drops the project anyway), from the same snapshot as the
 * revision itself.
 */
const PROJECTS_NOW_QUERY = `
SELECT p.id AS id, p.revision AS revision,
  CASE WHEN p.revision = h.held OR p.revision - h.held > ?2 OR p.revision < h.held THEN NULL ELSE
    (SELECT json_group_array(json_array(e.revision, e.action, e.target)) FROM audit_events e
      WHERE e.project_id = p.id AND e.revision > h.held AND e.revision <= p.revision)
  END AS events
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS held FROM json_each(?1)) AS h
JOIN projects p ON p.id = h.id`;

/**
 * What changed in each of these projects since the revision the isolate holds, in one small query: what the cache
 * re-validates everything it holds by. A project that no longer exists is absent from the answer.
 * @throws StoreError, as every read of the data plane
 */
export async function loadProjectsNow(
  db: D1Database,
  held: [projectId: string, revision: number][],
  maxEvents: number,
): Promise<Map<string, ProjectNow>> {
  type Row = { id: string; revision: number; events: string | null };
  return storeRead(
    () => all<Row>(db.prepare(PROJECTS_NOW_QUERY).bind(JSON.stringify(held), maxEvents)),
    (rows) =>
      new Map(
        rows.map((row): [string, ProjectNow] => {
          const events = row.events === null ? null : (JSON.parse(row.events) as [number, string, string][]);
          return [
            row.id,
            {
              revision: row.revision,
              events: events?.map(([revision, action, target]) => ({ revision, action, target })) ?? null,
            },
          ];
        }),
      ),
  );
}
