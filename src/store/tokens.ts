/** SQL for management tokens (ik_sdk_…). Every statement is filtered by project. */
import type { SecretHash } from "../secrets/hash";
import { auditIfChangedStatement, auditStatement, type AuditContext } from "./audit";
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
}

/** The token a presented secret hashes to, with its project's slug; null when unknown. */
export function findTokenByHash(db: D1Database, hashes: string[]) {
  return first<TokenRow & { project_slug: string }>(
    db
      .prepare(
        `SELECT t.id, t.project_id, t.name, t.role, t.start, t.expires_at, t.revoked_at, t.created_at,
           p.slug AS project_slug
         FROM management_tokens t JOIN projects p ON p.id = t.project_id
         WHERE t.hash IN (SELECT value FROM json_each(?))`,
      )
      .bind(JSON.stringify(hashes)),
  );
}

const PUBLIC_COLUMNS = "id, project_id, name, role, start, expires_at, revoked_at, created_at";

export function getToken(db: D1Database, projectId: string, tokenId: string) {
  return first<TokenRow>(
    db.prepare(`SELECT ${PUBLIC_COLUMNS} FROM management_tokens WHERE project_id = ? AND id = ?`).bind(projectId, tokenId),
  );
}

export function listTokens(db: D1Database, projectId: string, afterId: string | null, limit: number) {
  return all<TokenRow>(
    db
      .prepare(
        `SELECT ${PUBLIC_COLUMNS} FROM management_tokens WHERE project_id = ?1 AND (?2 IS NULL OR id > ?2)
         ORDER BY id LIMIT ?3`,
      )
      .bind(projectId, afterId, limit),
  );
}

export async function insertToken(db: D1Database, row: TokenRow, secret: SecretHash, audit: AuditContext) {
  await batch(db, [
    db
      .prepare(
        `INSERT INTO management_tokens (id, project_id, name, role, hash, hash_version, start, expires_at,
           revoked_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
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
      ),
    auditStatement(db, row.project_id, audit, "token.create", row.id),
  ]);
}

/** Returns false when the token was already revoked (nothing changed). */
export async function revokeToken(db: D1Database, projectId: string, tokenId: string, at: string, audit: AuditContext) {
  const results = await batch(db, [
    db
      .prepare("UPDATE management_tokens SET revoked_at = ? WHERE id = ? AND project_id = ? AND revoked_at IS NULL")
      .bind(at, tokenId, projectId),
    auditIfChangedStatement(db, projectId, audit, "token.revoke", tokenId),
  ]);
  return changes(results, 0) === 1;
}
