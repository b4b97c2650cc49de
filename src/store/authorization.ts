/**
 * The data plane's only query: everything a decision needs, in ONE round trip to the D1 primary (no read-replica
 * session on this path, so a committed write is always visible): the deployment named by the URL, and the key a
 * presented secret hashes to, with its links. The two halves are independent LEFT JOINs from a one-row base, so
 * an unknown key still returns the deployment (whose auth toggle decides whether a key is needed at all).
 *
 * Fail closed: whatever goes wrong between asking and having the records — a binding that throws at prepare, a
 * query that fails, a store that does not answer within STORE_TIMEOUT_MS, a stored row that does not parse —
 * leaves here as a StoreError (503 store_unavailable on the wire), never as a record the decision could allow on.
 */
import { compileConditions } from "../authz/conditions";
import type { Conditions, DeploymentRecord, KeyRecord } from "../authz/types";
import { toMillis } from "../time";
import { first } from "./db";
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
  k_id: string | null;
  k_project_id: string | null;
  k_project_slug: string | null;
  k_all_deployments: number | null;
  k_conditions: string | null;
  k_expires_at: string | null;
  k_revoked_at: string | null;
  k_links: string | null;
  s_retire_at: string | null;
}

const AUTH_QUERY = `
SELECT
  d.id AS d_id, d.project_id AS d_project_id, dp.slug AS d_project_slug, d.slug AS d_slug,
  d.origin_url AS d_origin_url, d.origin_headers AS d_origin_headers, d.model AS d_model,
  d.allowed_paths AS d_allowed_paths, d.auth_enabled AS d_auth_enabled,
  k.id AS k_id, k.project_id AS k_project_id, kp.slug AS k_project_slug, k.all_deployments AS k_all_deployments,
  k.conditions AS k_conditions, k.expires_at AS k_expires_at, k.revoked_at AS k_revoked_at,
  (SELECT json_group_array(kd.deployment_id) FROM api_key_deployments kd WHERE kd.key_id = k.id) AS k_links,
  s.retire_at AS s_retire_at
FROM (SELECT 1) AS base
LEFT JOIN projects dp ON dp.slug = ?1
LEFT JOIN deployments d ON d.project_id = dp.id AND d.slug = ?2
LEFT JOIN api_key_secrets s ON s.hash IN (SELECT value FROM json_each(?3))
LEFT JOIN api_keys k ON k.id = s.key_id
LEFT JOIN projects kp ON kp.id = k.project_id
LIMIT 1`;

export interface AuthRecords {
  deployment: DeploymentRecord | null;
  /** null: no hashes were given, or none is known. */
  key: KeyRecord | null;
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
    authEnabled: row.d_auth_enabled === 1,
  };
}

function keyOf(row: AuthRow): KeyRecord | null {
  if (row.k_id === null) return null;
  return {
    id: row.k_id,
    projectId: row.k_project_id ?? "",
    projectSlug: row.k_project_slug ?? "",
    allDeployments: row.k_all_deployments === 1,
    deploymentIds: new Set(JSON.parse(row.k_links ?? "[]") as string[]),
    expiresAt: toMillis(row.k_expires_at),
    revokedAt: toMillis(row.k_revoked_at),
    secretRetireAt: toMillis(row.s_retire_at),
    conditions: compileConditions(JSON.parse(row.k_conditions ?? "{}") as Conditions),
  };
}

/** The query's answer, or a `timeout` StoreError once `ms` have passed without one. */
function withinTimeout<T>(query: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreError("timeout", `no answer within ${ms} ms`)), ms);
  });
  return Promise.race([query, timeout]).finally(() => clearTimeout(timer));
}

/**
 * @param hashes every hash the presented secret could be stored under; empty when no usable secret was sent
 * @throws StoreError — never anything else, so a caller cannot mistake an outage for a denial
 */
export async function loadAuthRecords(
  db: D1Database,
  projectSlug: string,
  deploymentSlug: string,
  hashes: string[],
): Promise<AuthRecords> {
  try {
    const statement = db.prepare(AUTH_QUERY).bind(projectSlug, deploymentSlug, JSON.stringify(hashes));
    const row = await withinTimeout(first<AuthRow>(statement), STORE_TIMEOUT_MS);
    if (!row) return { deployment: null, key: null };
    // A row that does not parse (corrupt JSON, a stored CIDR that is not canonical) is a store fault too.
    return { deployment: deploymentOf(row), key: keyOf(row) };
  } catch (err) {
    throw storeErrorOf(err);
  }
}
