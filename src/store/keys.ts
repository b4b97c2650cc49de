/**
 * SQL for API keys, their secrets and their links to deployments. Every statement is filtered by project.
 * A key's scopes are stored relationally: `all_deployments` for "{project}/*" and one api_key_deployments row
 * per linked deployment, so deleting a deployment removes it from every key's scopes by itself.
 */
import type { PermissionSet } from "../authz/permission-sets";
import type { SecretHash } from "../secrets/hash";
import { auditIfChangedStatement, auditStatement, type AuditContext } from "./audit";
import { all, batch, changes, first, namesAField, setClause } from "./db";

export interface KeyRow {
  id: string;
  project_id: string;
  name: string;
  description: string | null;
  start: string;
  all_deployments: number;
  conditions: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  request_count: number;
  created_at: string;
  /** The audit actor that created the key; null for keys made before it was recorded. */
  created_by: string | null;
  /** The application the key was made for; null for a standalone key. */
  application_id: string | null;
  /** A standalone key's permission set; null for an application key. */
  permission_set: PermissionSet | null;
}

/** A key with the slugs of the deployments linked to it (JSON array, as SQLite builds it). */
export interface KeyWithLinks extends KeyRow {
  linked_slugs: string;
}

const SELECT_WITH_LINKS = `SELECT k.*, (
    SELECT json_group_array(d.slug) FROM api_key_deployments kd JOIN deployments d ON d.id = kd.deployment_id
    WHERE kd.key_id = k.id ORDER BY d.slug) AS linked_slugs
  FROM api_keys k`;

export function getKey(db: D1Database, projectId: string, keyId: string) {
  return first<KeyWithLinks>(
    db.prepare(`${SELECT_WITH_LINKS} WHERE k.project_id = ? AND k.id = ?`).bind(projectId, keyId),
  );
}

export interface KeyFilter {
  /** An audit actor: only what it created. */
  createdBy: string | null;
  /** Only the keys made for this application. */
  applicationId: string | null;
}

export function listKeys(db: D1Database, projectId: string, afterId: string | null, limit: number, filter: KeyFilter) {
  return all<KeyWithLinks>(
    db
      .prepare(
        `${SELECT_WITH_LINKS} WHERE k.project_id = ?1 AND (?2 IS NULL OR k.id > ?2) AND (?4 IS NULL OR k.created_by = ?4)
           AND (?5 IS NULL OR k.application_id = ?5)
         ORDER BY k.id LIMIT ?3`,
      )
      .bind(projectId, afterId, limit, filter.createdBy, filter.applicationId),
  );
}

/** The keys whose scopes cover a deployment: linked to it, or scoped to the whole project. */
export function listKeysCovering(
  db: D1Database,
  projectId: string,
  deploymentId: string,
  afterId: string | null,
  limit: number,
) {
  return all<KeyWithLinks>(
    db
      .prepare(
        `${SELECT_WITH_LINKS} WHERE k.project_id = ?1 AND (?3 IS NULL OR k.id > ?3)
           AND (k.all_deployments = 1 OR EXISTS (
             SELECT 1 FROM api_key_deployments kd WHERE kd.key_id = k.id AND kd.deployment_id = ?2))
         ORDER BY k.id LIMIT ?4`,
      )
      .bind(projectId, deploymentId, afterId, limit),
  );
}

function linkStatements(db: D1Database, projectId: string, keyId: string, deploymentIds: string[]) {
  // The subquery keeps a link inside the key's own project even if a caller passed a foreign id.
  return deploymentIds.map((deploymentId) =>
    db
      .prepare(
        `INSERT OR IGNORE INTO api_key_deployments (key_id, deployment_id)
         SELECT ?, id FROM deployments WHERE id = ? AND project_id = ?`,
      )
      .bind(keyId, deploymentId, projectId),
  );
}

/**
 * A key's new current secret, written only while the key is live in this transaction (inserted earlier in the same
 * batch, or not revoked), so a roll racing a revoke leaves no secret behind.
 */
function secretStatement(db: D1Database, projectId: string, keyId: string, secret: SecretHash, createdAt: string) {
  return db
    .prepare(
      `INSERT INTO api_key_secrets (hash, hash_version, key_id, retire_at, created_at) SELECT ?, ?, id, NULL, ?
       FROM api_keys WHERE id = ? AND project_id = ? AND revoked_at IS NULL`,
    )
    .bind(secret.hash, secret.version, createdAt, keyId, projectId);
}

/** Rows of `api_key_secrets` that belong to a live (not revoked) key of the project; binds keyId, projectId. */
const OF_LIVE_KEY = "key_id IN (SELECT id FROM api_keys WHERE id = ? AND project_id = ? AND revoked_at IS NULL)";

/**
 * A new key with its secret, links and audit event. An application key is written only while its application
 * exists in the project (in this transaction), so a key cannot outlive a delete that raced its creation.
 * @returns false when the application was deleted meanwhile (nothing written)
 */
export async function insertKey(
  db: D1Database,
  row: KeyRow,
  secret: SecretHash,
  deploymentIds: string[],
  audit: AuditContext,
): Promise<boolean> {
  const results = await batch(db, [
    db
      .prepare(
        `INSERT INTO api_keys (id, project_id, name, description, start, all_deployments, conditions, expires_at,
           revoked_at, last_used_at, request_count, created_at, created_by, application_id, permission_set)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, NULL, 0, ?9, ?10, ?11, ?12
         WHERE ?11 IS NULL OR EXISTS (SELECT 1 FROM applications WHERE id = ?11 AND project_id = ?2)`,
      )
      .bind(
        row.id,
        row.project_id,
        row.name,
        row.description,
        row.start,
        row.all_deployments,
        row.conditions,
        row.expires_at,
        row.created_at,
        row.created_by,
        row.application_id,
        row.permission_set,
      ),
    auditIfChangedStatement(db, row.project_id, audit, "key.create", row.id),
    secretStatement(db, row.project_id, row.id, secret, row.created_at),
    ...linkStatements(db, row.project_id, row.id, deploymentIds),
  ]);
  return changes(results, 0) === 1;
}

export type KeyFields = Partial<
  Pick<KeyRow, "name" | "description" | "all_deployments" | "conditions" | "expires_at" | "permission_set">
>;

/** Writes the columns in `fields`; when `deploymentIds` is given the key's links are replaced by it. */
export async function updateKey(
  db: D1Database,
  projectId: string,
  keyId: string,
  fields: KeyFields,
  deploymentIds: string[] | null,
  audit: AuditContext,
): Promise<void> {
  const set = setClause(fields);
  const update = !namesAField(fields)
      ? []
      : [db.prepare(`UPDATE api_keys SET ${set.sql} WHERE id = ? AND project_id = ?`).bind(...set.values, keyId, projectId)];
  const relink =
    deploymentIds === null
      ? []
      : [
          db
            .prepare("DELETE FROM api_key_deployments WHERE key_id = ? AND key_id IN (SELECT id FROM api_keys WHERE project_id = ?)")
            .bind(keyId, projectId),
          ...linkStatements(db, projectId, keyId, deploymentIds),
        ];
  if (update.length === 0 && relink.length === 0) return; // nothing named: nothing changed, nothing audited
  await batch(db, [...update, ...relink, auditStatement(db, projectId, audit, "key.update", keyId)]);
}

/** Returns false when the key was already revoked (nothing changed, nothing audited). */
export async function revokeKey(
  db: D1Database,
  projectId: string,
  keyId: string,
  at: string,
  audit: AuditContext,
): Promise<boolean> {
  const results = await batch(db, [
    db
      .prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND project_id = ? AND revoked_at IS NULL")
      .bind(at, keyId, projectId),
    auditIfChangedStatement(db, projectId, audit, "key.revoke", keyId),
  ]);
  return changes(results, 0) === 1;
}

/**
 * A roll adds a new current secret and retires the old ones at `retireAt` (null: at once, so they are deleted).
 * An old secret already retiring sooner keeps its earlier time. Only a key that is not revoked can be rolled;
 * the caller checked, and the WHERE clauses check again inside the transaction.
 */
export async function rollKey(
  db: D1Database,
  projectId: string,
  keyId: string,
  secret: SecretHash,
  start: string,
  createdAt: string,
  retireAt: string | null,
  audit: AuditContext,
): Promise<boolean> {
  const retire =
    retireAt === null
      ? db.prepare(`DELETE FROM api_key_secrets WHERE ${OF_LIVE_KEY}`).bind(keyId, projectId)
      : db
          .prepare(`UPDATE api_key_secrets SET retire_at = min(coalesce(retire_at, ?), ?) WHERE ${OF_LIVE_KEY}`)
          .bind(retireAt, retireAt, keyId, projectId);
  // The audit event follows the new secret's INSERT: both are written only for a key still live in this
  // transaction, so a roll racing a revoke leaves no trace (and answers 409).
  const results = await batch(db, [
    db
      .prepare("UPDATE api_keys SET start = ? WHERE id = ? AND project_id = ? AND revoked_at IS NULL")
      .bind(start, keyId, projectId),
    retire,
    secretStatement(db, projectId, keyId, secret, createdAt),
    auditIfChangedStatement(db, projectId, audit, "key.roll", keyId),
  ]);
  return changes(results, 0) === 1;
}

export async function linkKey(
  db: D1Database,
  projectId: string,
  keyId: string,
  deploymentId: string,
  audit: AuditContext,
): Promise<void> {
  await batch(db, [
    ...linkStatements(db, projectId, keyId, [deploymentId]),
    auditStatement(db, projectId, audit, "key.link", keyId),
  ]);
}

export async function unlinkKey(
  db: D1Database,
  projectId: string,
  keyId: string,
  deploymentId: string,
  audit: AuditContext,
): Promise<void> {
  await batch(db, [
    db
      .prepare(
        `DELETE FROM api_key_deployments WHERE key_id = ? AND deployment_id = ?
           AND key_id IN (SELECT id FROM api_keys WHERE project_id = ?)`,
      )
      .bind(keyId, deploymentId, projectId),
    auditStatement(db, projectId, audit, "key.unlink", keyId),
  ]);
}
