/** The audit log: one event per mutation, written in the same batch as the change it records. */
import { newId } from "../secrets/ids";
import { isoNow } from "../time";
import { all } from "./db";

/** Who made a change and in which request; passed to every store write. */
export interface AuditContext {
  actor: string;
  requestId: string;
}

export interface AuditRow {
  id: string;
  project_id: string;
  actor: string;
  action: string;
  target: string;
  request_id: string;
  created_at: string;
}

const INSERT = "INSERT INTO audit_events (id, project_id, actor, action, target, request_id, created_at)";

/** Never pass a secret, hash or header value as `target`: ids only. */
export function auditStatement(
  db: D1Database,
  projectId: string,
  ctx: AuditContext,
  action: string,
  target: string,
): D1PreparedStatement {
  return db.prepare(`${INSERT} VALUES (?, ?, ?, ?, ?, ?, ?)`).bind(...auditValues(projectId, ctx, action, target));
}

/**
 * An audit row written only if the statement just before it in the batch changed a row (SQLite's changes()),
 * so an idempotent repeat (revoking what is already revoked) records nothing.
 */
export function auditIfChangedStatement(
  db: D1Database,
  projectId: string,
  ctx: AuditContext,
  action: string,
  target: string,
): D1PreparedStatement {
  return db
    .prepare(`${INSERT} SELECT ?, ?, ?, ?, ?, ?, ? WHERE changes() = 1`)
    .bind(...auditValues(projectId, ctx, action, target));
}

/**
 * One audit row per id that `targetsSql` selects (a subquery with a column `id`; its `?` parameters are `binds`),
 * for a write that changes many rows at once (an application's keys revoked with it). Ids keep the time-ordered
 * prefix of a fresh id (src/secrets/ids.ts), with random hex after it.
 */
export function auditEachStatement(
  db: D1Database,
  projectId: string,
  ctx: AuditContext,
  action: string,
  targetsSql: string,
  ...binds: unknown[]
): D1PreparedStatement {
  const prefix = newId("evt").slice(0, 14);
  return db
    .prepare(`${INSERT} SELECT ? || lower(hex(randomblob(8))), ?, ?, ?, id, ?, ? FROM (${targetsSql})`)
    .bind(prefix, projectId, ctx.actor, action, ctx.requestId, isoNow(), ...binds);
}

function auditValues(projectId: string, ctx: AuditContext, action: string, target: string) {
  return [newId("evt"), projectId, ctx.actor, action, target, ctx.requestId, isoNow()];
}

/** Newest first; `beforeId` is the last id of the previous page. */
export function listAudit(db: D1Database, projectId: string, beforeId: string | null, limit: number) {
  return all<AuditRow>(
    db
      .prepare(
        `SELECT * FROM audit_events WHERE project_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3`,
      )
      .bind(projectId, beforeId, limit),
  );
}
