/** SQL for projects. Deleting a project deletes what it owns in the same transaction. */
import { auditIfChangedStatement, auditStatement, type AuditContext } from "./audit";
import { all, batch, first } from "./db";

export interface ProjectRow {
  id: string;
  slug: string;
  name: string;
  /** The kill switch: 1 refuses every data-plane request to the project's deployments. */
  suspended: number;
  created_at: string;
}

export function getProjectBySlug(db: D1Database, slug: string) {
  return first<ProjectRow>(db.prepare("SELECT * FROM projects WHERE slug = ?").bind(slug));
}

/** The project's revision now (src/store/revisions.ts); null when the project is gone. */
export async function projectRevision(db: D1Database, id: string): Promise<number | null> {
  const row = await first<{ revision: number }>(db.prepare("SELECT revision FROM projects WHERE id = ?").bind(id));
  return row?.revision ?? null;
}

/** `onlyId` restricts the list to one project (what a management token may see). */
export function listProjects(db: D1Database, afterId: string | null, limit: number, onlyId: string | null) {
  return all<ProjectRow>(
    db
      .prepare(
        `SELECT * FROM projects WHERE (?1 IS NULL OR id > ?1) AND (?2 IS NULL OR id = ?2) ORDER BY id LIMIT ?3`,
      )
      .bind(afterId, onlyId, limit),
  );
}

/**
 * A new project starts above every revision any project has had: a slug deleted and created again must not report a
 * revision lower than one its callers already saw. A project's revision counts at most its own audit events, which
 * are never deleted, so their total is a bound (read once per project creation).
 */
export async function insertProject(db: D1Database, row: ProjectRow, audit: AuditContext): Promise<void> {
  await batch(db, [
    db
      .prepare(
        "INSERT INTO projects (id, slug, name, created_at, revision) VALUES (?, ?, ?, ?, (SELECT COUNT(*) FROM audit_events))",
      )
      .bind(row.id, row.slug, row.name, row.created_at),
    auditStatement(db, row.id, audit, "project.create", row.id),
  ]);
}

export type ProjectFields = Partial<Pick<ProjectRow, "name" | "suspended">>;

/**
 * Writes the name when it differs from `current` (`project.update`), and the kill switch whenever it is named: the
 * switch is compared inside the transaction, not against `current` (a stale read could otherwise turn "suspend" into
 * a no-op while another admin resumed the project meanwhile), and audited (`project.suspend` / `project.resume`) only
 * when the row changed.
 */
export async function updateProject(db: D1Database, current: ProjectRow, fields: ProjectFields, audit: AuditContext) {
  const statements: D1PreparedStatement[] = [];
  if (fields.name !== undefined && fields.name !== current.name) {
    statements.push(
      db.prepare("UPDATE projects SET name = ? WHERE id = ?").bind(fields.name, current.id),
      auditStatement(db, current.id, audit, "project.update", current.id),
    );
  }
  if (fields.suspended !== undefined) {
    const action = fields.suspended === 1 ? "project.suspend" : "project.resume";
    statements.push(
      db.prepare("UPDATE projects SET suspended = ?1 WHERE id = ?2 AND suspended <> ?1").bind(fields.suspended, current.id),
      auditIfChangedStatement(db, current.id, audit, action, current.id),
    );
  }
  if (statements.length > 0) await batch(db, statements);
}

/**
 * Children are deleted explicitly rather than trusting ON DELETE CASCADE alone, so the outcome does not
 * depend on the foreign_keys pragma. Audit events stay: history outlives what it describes.
 */
export async function deleteProject(db: D1Database, id: string, audit: AuditContext): Promise<void> {
  const byProjectKeys = "key_id IN (SELECT id FROM api_keys WHERE project_id = ?)";
  const byProjectPolicies = "policy_id IN (SELECT id FROM policies WHERE project_id = ?)";
  await batch(db, [
    db.prepare(`DELETE FROM policy_rule_deployments WHERE ${byProjectPolicies}`).bind(id),
    db.prepare(`DELETE FROM policy_rules WHERE ${byProjectPolicies}`).bind(id),
    db.prepare("DELETE FROM policies WHERE project_id = ?").bind(id),
    db.prepare("DELETE FROM applications WHERE project_id = ?").bind(id),
    db.prepare(`DELETE FROM api_key_deployments WHERE ${byProjectKeys}`).bind(id),
    db.prepare(`DELETE FROM api_key_secrets WHERE ${byProjectKeys}`).bind(id),
    db.prepare("DELETE FROM api_keys WHERE project_id = ?").bind(id),
    db.prepare("DELETE FROM deployments WHERE project_id = ?").bind(id),
    db.prepare("DELETE FROM management_tokens WHERE project_id = ?").bind(id),
    db.prepare("DELETE FROM budgets WHERE project_id = ?").bind(id),
    db.prepare("DELETE FROM usage_daily WHERE project_id = ?").bind(id),
    db.prepare("DELETE FROM projects WHERE id = ?").bind(id),
    auditStatement(db, id, audit, "project.delete", id),
  ]);
}
