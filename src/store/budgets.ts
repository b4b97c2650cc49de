/**
 * SQL for token budgets' definitions: which requests a budget covers, its limit, period and mode. What a budget has
 * spent and reserved is its BudgetCounter's (src/budgets/counter.ts), never D1's. Every statement is filtered by
 * project.
 */
import { auditIfChangedStatement, auditStatement, type AuditContext } from "./audit";
import { all, batch, changes, first, setClause } from "./db";

export const BUDGET_SUBJECT_TYPES = ["key", "application", "project"] as const;
export type BudgetSubjectType = (typeof BUDGET_SUBJECT_TYPES)[number];

export interface BudgetRow {
  id: string;
  project_id: string;
  subject_type: BudgetSubjectType;
  /** The key's id, the application's id, or the project's own id. */
  subject_id: string;
  limit_tokens: number;
  period: "day" | "month" | "total";
  mode: "hard" | "soft";
  created_at: string;
  updated_at: string;
}

export function getBudget(db: D1Database, projectId: string, id: string) {
  return first<BudgetRow>(db.prepare("SELECT * FROM budgets WHERE project_id = ? AND id = ?").bind(projectId, id));
}

export function listBudgets(db: D1Database, projectId: string, afterId: string | null, limit: number) {
  return all<BudgetRow>(
    db
      .prepare("SELECT * FROM budgets WHERE project_id = ?1 AND (?2 IS NULL OR id > ?2) ORDER BY id LIMIT ?3")
      .bind(projectId, afterId, limit),
  );
}

/** Every budget of the project, for deleting their counters with the project. */
export function budgetIdsOfProject(db: D1Database, projectId: string) {
  return all<Pick<BudgetRow, "id">>(db.prepare("SELECT id FROM budgets WHERE project_id = ?").bind(projectId));
}

/** The budgets on one application, for deleting their counters with it (its rows go in deleteApplication's batch). */
export function budgetIdsOfApplication(db: D1Database, projectId: string, applicationId: string) {
  return all<Pick<BudgetRow, "id">>(
    db
      .prepare("SELECT id FROM budgets WHERE project_id = ? AND subject_type = 'application' AND subject_id = ?")
      .bind(projectId, applicationId),
  );
}

/**
 * Whether a budget may name this subject: it is in the project (a budget on a key or application of another project
 * would cover nothing), and, a key, not revoked.
 */
export async function subjectState(db: D1Database, projectId: string, type: BudgetSubjectType, id: string): Promise<"ok" | "missing" | "revoked"> {
  if (type === "project") return id === projectId ? "ok" : "missing";
  if (type === "application") {
    const found = await first(db.prepare("SELECT 1 AS found FROM applications WHERE project_id = ? AND id = ?").bind(projectId, id));
    return found === null ? "missing" : "ok";
  }
  const key = await first<{ revoked_at: string | null }>(
    db.prepare("SELECT revoked_at FROM api_keys WHERE project_id = ? AND id = ?").bind(projectId, id),
  );
  if (key === null) return "missing";
  return key.revoked_at === null ? "ok" : "revoked";
}

export async function insertBudget(db: D1Database, row: BudgetRow, audit: AuditContext): Promise<void> {
  await batch(db, [
    db
      .prepare(
        `INSERT INTO budgets (id, project_id, subject_type, subject_id, limit_tokens, period, mode, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(
        row.id,
        row.project_id,
        row.subject_type,
        row.subject_id,
        row.limit_tokens,
        row.period,
        row.mode,
        row.created_at,
        row.updated_at,
      ),
    auditStatement(db, row.project_id, audit, "budget.create", row.id),
  ]);
}

export type BudgetFields = Partial<Pick<BudgetRow, "limit_tokens" | "mode">>;

/** Writes the named columns (and updated_at); false when the budget is gone. */
export async function updateBudget(
  db: D1Database,
  projectId: string,
  id: string,
  fields: BudgetFields,
  updatedAt: string,
  audit: AuditContext,
): Promise<boolean> {
  const set = setClause({ ...fields, updated_at: updatedAt });
  const results = await batch(db, [
    db.prepare(`UPDATE budgets SET ${set.sql} WHERE id = ? AND project_id = ?`).bind(...set.values, id, projectId),
    auditIfChangedStatement(db, projectId, audit, "budget.update", id),
  ]);
  return changes(results, 0) === 1;
}

/** @returns false when the budget was already gone (nothing audited) */
export async function deleteBudget(db: D1Database, projectId: string, id: string, audit: AuditContext): Promise<boolean> {
  const results = await batch(db, [
    db.prepare("DELETE FROM budgets WHERE id = ? AND project_id = ?").bind(id, projectId),
    auditIfChangedStatement(db, projectId, audit, "budget.delete", id),
  ]);
  return changes(results, 0) === 1;
}
