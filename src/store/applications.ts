/**
 * SQL for applications: a project's non-human principals. Every statement is filtered by project. Deleting one
 * deletes its policies and revokes its keys in the same transaction, so no request after the delete's response
 * can use what it granted.
 */
import { auditEachStatement, auditIfChangedStatement, auditStatement, type AuditContext } from "./audit";
import { all, batch, changes, first, namesAField, setClause } from "./db";

export interface ApplicationRow {
  id: string;
  project_id: string;
  name: string;
  description: string | null;
  created_at: string;
  updated_at: string;
}

export function getApplication(db: D1Database, projectId: string, id: string) {
  return first<ApplicationRow>(db.prepare("SELECT * FROM applications WHERE project_id = ? AND id = ?").bind(projectId, id));
}

export function listApplications(db: D1Database, projectId: string, afterId: string | null, limit: number) {
  return all<ApplicationRow>(
    db
      .prepare("SELECT * FROM applications WHERE project_id = ?1 AND (?2 IS NULL OR id > ?2) ORDER BY id LIMIT ?3")
      .bind(projectId, afterId, limit),
  );
}

export async function insertApplication(db: D1Database, row: ApplicationRow, audit: AuditContext): Promise<void> {
  await batch(db, [
    db
      .prepare(
        "INSERT INTO applications (id, project_id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .bind(row.id, row.project_id, row.name, row.description, row.created_at, row.updated_at),
    auditStatement(db, row.project_id, audit, "application.create", row.id),
  ]);
}

export type ApplicationFields = Partial<Pick<ApplicationRow, "name" | "description">>;

/**
 * Writes the columns in `fields` (and updated_at); false when the application is gone. A PATCH that names no field
 * changes nothing and records nothing (as for keys).
 */
export async function updateApplication(
  db: D1Database,
  projectId: string,
  id: string,
  fields: ApplicationFields,
  updatedAt: string,
  audit: AuditContext,
): Promise<boolean> {
  if (!namesAField(fields)) return true;
  const set = setClause({ ...fields, updated_at: updatedAt });
  const results = await batch(db, [
    db.prepare(`UPDATE applications SET ${set.sql} WHERE id = ? AND project_id = ?`).bind(...set.values, id, projectId),
    auditIfChangedStatement(db, projectId, audit, "application.update", id),
  ]);
  return changes(results, 0) === 1;
}

/**
 * The application, its policies and their rules, and its budgets go; its live keys are revoked at `at` (kept, so
 * their history still reads). One audit event per key revoked, per policy deleted, per budget deleted, and for the
 * application.
 * @returns false when the application was already gone (nothing changed, nothing audited)
 */
export async function deleteApplication(
  db: D1Database,
  projectId: string,
  id: string,
  at: string,
  audit: AuditContext,
): Promise<boolean> {
  const liveKeys = "SELECT id FROM api_keys WHERE application_id = ? AND project_id = ? AND revoked_at IS NULL";
  const policies = "SELECT id FROM policies WHERE application_id = ? AND project_id = ?";
  const budgets = "SELECT id FROM budgets WHERE subject_type = 'application' AND subject_id = ? AND project_id = ?";
  const results = await batch(db, [
    auditEachStatement(db, projectId, audit, "key.revoke", liveKeys, id, projectId),
    db
      .prepare("UPDATE api_keys SET revoked_at = ? WHERE application_id = ? AND project_id = ? AND revoked_at IS NULL")
      .bind(at, id, projectId),
    auditEachStatement(db, projectId, audit, "policy.delete", policies, id, projectId),
    db.prepare(`DELETE FROM policy_rule_deployments WHERE policy_id IN (${policies})`).bind(id, projectId),
    db.prepare(`DELETE FROM policy_rules WHERE policy_id IN (${policies})`).bind(id, projectId),
    db.prepare("DELETE FROM policies WHERE application_id = ? AND project_id = ?").bind(id, projectId),
    auditEachStatement(db, projectId, audit, "budget.delete", budgets, id, projectId),
    db.prepare(`DELETE FROM budgets WHERE id IN (${budgets})`).bind(id, projectId),
    db.prepare("DELETE FROM applications WHERE id = ? AND project_id = ?").bind(id, projectId),
    auditIfChangedStatement(db, projectId, audit, "application.delete", id),
  ]);
  return changes(results, 8) === 1;
}
