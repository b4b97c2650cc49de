/** SQL for management tokens (ik_sdk_…). Every statement is filtered by project. */
import type { SecretHash } from "../secrets/hash";
import { newId } from "../secrets/ids";
import { auditIfChangedStatement, type AuditContext } from "./audit";
import { all, batch, changes, first } from "./db";

export interface TokenRow {
  id: string;
  project_id: string;
  name: string;
  role: "full" | "read_only";
  start: string;
  expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
  /** The audit actor that created the token ("token:<id>" for one made by another token); null before recorded. */
  created_by: string | null;
}

/** The token a presented secret hashes to, with its project's slug; null when unknown. */
export function findTokenByHash(db: D1Database, hashes: string[]) {
  return first<TokenRow & { project_slug: string }>(
    db
      .prepare(
        `SELECT t.id, t.project_id, t.name, t.role, t.start, t.expires_at, t.revoked_at, t.created_at, t.created_by,
           p.slug AS project_slug
         FROM management_tokens t JOIN projects p ON p.id = t.project_id
         WHERE t.hash IN (SELECT value FROM json_each(?))`,
      )
      .bind(JSON.stringify(hashes)),
  );
}

const PUBLIC_COLUMNS = "id, project_id, name, role, start, expires_at, revoked_at, created_at, created_by";

export function getToken(db: D1Database, projectId: string, tokenId: string) {
  return first<TokenRow>(
    db.prepare(`SELECT ${PUBLIC_COLUMNS} FROM management_tokens WHERE project_id = ? AND id = ?`).bind(projectId, tokenId),
  );
}

/** `createdBy` (an audit actor) keeps only what it created. */
export function listTokens(db: D1Database, projectId: string, afterId: string | null, limit: number, createdBy: string | null) {
  return all<TokenRow>(
    db
      .prepare(
        `SELECT ${PUBLIC_COLUMNS} FROM management_tokens WHERE project_id = ?1 AND (?2 IS NULL OR id > ?2)
           AND (?4 IS NULL OR created_by = ?4)
         ORDER BY id LIMIT ?3`,
      )
      .bind(projectId, afterId, limit, createdBy),
  );
}

/**
 * A new token, written only while the token creating it (when `created_by` names one) is still live in this
 * transaction: a child made while its parent is being revoked cannot escape the revoke's cascade.
 * @returns false when the creating token was revoked meanwhile (nothing written)
 */
export async function insertToken(db: D1Database, row: TokenRow, secret: SecretHash, audit: AuditContext) {
  const results = await batch(db, [
    db
      .prepare(
        `INSERT INTO management_tokens (id, project_id, name, role, hash, hash_version, start, expires_at,
           revoked_at, created_at, created_by)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9, ?10
         WHERE NOT EXISTS (
           SELECT 1 FROM management_tokens p
           WHERE ?10 LIKE 'token:%' AND p.id = substr(?10, 7) AND p.revoked_at IS NOT NULL)`,
      )
      .bind(
        row.id,
        row.project_id,
        row.name,
        row.role,
        secret.hash,
        secret.version,
        row.start,
        row.expires_at,
        row.created_at,
        row.created_by,
      ),
    auditIfChangedStatement(db, row.project_id, audit, "token.create", row.id),
  ]);
  return changes(results, 0) === 1;
}

/**
 * The token and every token it created, transitively (`created_by = 'token:<id>'`): what a leaked token made goes
 * with it. Binds ?1 the token id, ?2 the project id.
 */
const TOKEN_TREE = `WITH RECURSIVE tree(id) AS (
    SELECT id FROM management_tokens WHERE id = ?1 AND project_id = ?2
    UNION
    SELECT t.id FROM management_tokens t JOIN tree ON t.created_by = 'token:' || tree.id WHERE t.project_id = ?2
  )`;

/**
 * Revokes a token and every token it created, transitively, in one transaction, with one audit event per token
 * revoked (one already revoked changes nothing and records nothing).
 * @returns whether the named token itself was revoked by this call
 */
export async function revokeToken(db: D1Database, projectId: string, tokenId: string, at: string, audit: AuditContext) {
  // Audit ids keep the time-ordered prefix of a fresh id (src/secrets/ids.ts), with random hex after it.
  const timePrefix = newId("evt").slice(0, 14);
  const results = await batch(db, [
    db
      .prepare("SELECT 1 FROM management_tokens WHERE id = ?1 AND project_id = ?2 AND revoked_at IS NULL")
      .bind(tokenId, projectId),
    db
      .prepare(
        `${TOKEN_TREE}
         INSERT INTO audit_events (id, project_id, actor, action, target, request_id, created_at)
         SELECT ?3 || lower(hex(randomblob(8))), ?2, ?4, 'token.revoke', id, ?5, ?6
         FROM management_tokens WHERE id IN (SELECT id FROM tree) AND revoked_at IS NULL`,
      )
      .bind(tokenId, projectId, timePrefix, audit.actor, audit.requestId, at),
    db
      .prepare(
        `${TOKEN_TREE}
         UPDATE management_tokens SET revoked_at = ?3 WHERE id IN (SELECT id FROM tree) AND revoked_at IS NULL`,
      )
      .bind(tokenId, projectId, at),
  ]);
  return (results[0]?.results.length ?? 0) === 1;
}
