/** SQL for deployments. Every statement is filtered by project_id. */
import { auditIfChangedStatement, auditStatement, type AuditContext } from "./audit";
import { all, batch, changes, first, setClause } from "./db";

export interface DeploymentRow {
  id: string;
  project_id: string;
  slug: string;
  name: string;
  origin_url: string;
  /** JSON object: name → value. */
  origin_headers: string;
  model: string | null;
  /** JSON array. */
  allowed_paths: string;
  auth_enabled: number;
  public_enabled: number;
  private_enabled: number;
  private_auth_enabled: number;
  /** JSON array of lower-case hex SHA-256 fingerprints, or null: any certificate the edge verified. */
  client_cert_fingerprints: string | null;
  origin_assertion: number;
  inject_stream_usage: number;
  default_max_tokens: number | null;
  created_at: string;
  updated_at: string;
}

export function getDeployment(db: D1Database, projectId: string, slug: string) {
  return first<DeploymentRow>(
    db.prepare("SELECT * FROM deployments WHERE project_id = ? AND slug = ?").bind(projectId, slug),
  );
}

export function getDeploymentsBySlugs(db: D1Database, projectId: string, slugs: string[]) {
  if (slugs.length === 0) return Promise.resolve([]);
  return all<Pick<DeploymentRow, "id" | "slug">>(
    db
      .prepare(
        `SELECT id, slug FROM deployments WHERE project_id = ? AND slug IN (SELECT value FROM json_each(?))`,
      )
      .bind(projectId, JSON.stringify(slugs)),
  );
}

export function listDeployments(db: D1Database, projectId: string, afterId: string | null, limit: number) {
  return all<DeploymentRow>(
    db
      .prepare(`SELECT * FROM deployments WHERE project_id = ?1 AND (?2 IS NULL OR id > ?2) ORDER BY id LIMIT ?3`)
      .bind(projectId, afterId, limit),
  );
}

const COLUMNS = `id, project_id, slug, name, origin_url, origin_headers, model, allowed_paths, auth_enabled, public_enabled,
  private_enabled, private_auth_enabled, client_cert_fingerprints, origin_assertion, inject_stream_usage, default_max_tokens,
  created_at, updated_at`;

export async function insertDeployment(db: D1Database, row: DeploymentRow, audit: AuditContext): Promise<void> {
  await batch(db, [
    db
      .prepare(`INSERT INTO deployments (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .bind(
        row.id,
        row.project_id,
        row.slug,
        row.name,
        row.origin_url,
        row.origin_headers,
        row.model,
        row.allowed_paths,
        row.auth_enabled,
        row.public_enabled,
        row.private_enabled,
        row.private_auth_enabled,
        row.client_cert_fingerprints,
        row.origin_assertion,
        row.inject_stream_usage,
        row.default_max_tokens,
        row.created_at,
        row.updated_at,
      ),
    auditStatement(db, row.project_id, audit, "deployment.create", row.id),
  ]);
}

export type DeploymentFields = Partial<
  Pick<
    DeploymentRow,
    | "name"
    | "origin_url"
    | "origin_headers"
    | "model"
    | "allowed_paths"
    | "auth_enabled"
    | "public_enabled"
    | "private_enabled"
    | "private_auth_enabled"
    | "client_cert_fingerprints"
    | "origin_assertion"
    | "inject_stream_usage"
    | "default_max_tokens"
  >
>;

/**
 * Writes the columns in `fields` (and updated_at); false when the deployment is gone, or when the write would leave
 * it with no endpoint enabled.
 */
export async function updateDeployment(
  db: D1Database,
  projectId: string,
  id: string,
  fields: DeploymentFields,
  updatedAt: string,
  audit: AuditContext,
): Promise<boolean> {
  const set = setClause({ ...fields, updated_at: updatedAt });
  // At least one endpoint stays enabled, checked against the row as this transaction sees it (not the caller's read).
  const results = await batch(db, [
    db
      .prepare(
        `UPDATE deployments SET ${set.sql} WHERE id = ? AND project_id = ?
           AND (coalesce(?, public_enabled) = 1 OR coalesce(?, private_enabled) = 1)`,
      )
      .bind(...set.values, id, projectId, fields.public_enabled ?? null, fields.private_enabled ?? null),
    auditIfChangedStatement(db, projectId, audit, "deployment.update", id),
  ]);
  return changes(results, 0) === 1;
}

/** The deployment leaves every key's scopes and every policy rule with it (their rows go in the same transaction). */
export async function deleteDeployment(
  db: D1Database,
  projectId: string,
  id: string,
  audit: AuditContext,
): Promise<void> {
  await batch(db, [
    db
      .prepare(
        `DELETE FROM api_key_deployments WHERE deployment_id = ?
           AND deployment_id IN (SELECT id FROM deployments WHERE project_id = ?)`,
      )
      .bind(id, projectId),
    db
      .prepare(
        `DELETE FROM policy_rule_deployments WHERE deployment_id = ?
           AND deployment_id IN (SELECT id FROM deployments WHERE project_id = ?)`,
      )
      .bind(id, projectId),
    db.prepare("DELETE FROM deployments WHERE id = ? AND project_id = ?").bind(id, projectId),
    auditStatement(db, projectId, audit, "deployment.delete", id),
  ]);
}
