/**
 * SQL for policies and their ordered rules. Every statement is filtered by project. A rule's deployments are
 * stored relationally (policy_rule_deployments), so a rule can only name an existing deployment of the policy's
 * own project, and deleting a deployment removes it from every rule by itself (store/deployments.ts).
 *
 * Rules are written from one JSON array in two statements whatever their number (rules, then their deployments),
 * both guarded by the policy existing in the project inside the same transaction.
 */
import type { PermissionSet } from "../authz/permission-sets";
import { auditIfChangedStatement, type AuditContext } from "./audit";
import { all, batch, changes, first, namesAField, setClause } from "./db";

export interface PolicyRow {
  id: string;
  project_id: string;
  application_id: string;
  name: string;
  description: string | null;
  created_at: string;
  updated_at: string;
}

/** A rule as written: deployments resolved to ids of the project; conditions canonical JSON. */
export interface RuleInput {
  permission_set: PermissionSet;
  all_deployments: boolean;
  deployment_ids: string[];
  conditions: string;
}

/** A rule as read back: `[position, permission_set, all_deployments, conditions, [deployment slug…]]`. */
export type StoredRule = [number, PermissionSet, number, Record<string, unknown>, string[]];

/** A policy with its rules (JSON array of StoredRule, in no particular order). */
export interface PolicyWithRules extends PolicyRow {
  rules_json: string;
}

const SELECT_WITH_RULES = `SELECT p.*, (
    SELECT json_group_array(json_array(r.position, r.permission_set, r.all_deployments, json(r.conditions),
      json((SELECT json_group_array(d.slug) FROM policy_rule_deployments rd JOIN deployments d ON d.id = rd.deployment_id
            WHERE rd.policy_id = r.policy_id AND rd.position = r.position))))
    FROM policy_rules r WHERE r.policy_id = p.id) AS rules_json
  FROM policies p`;

export function getPolicy(db: D1Database, projectId: string, id: string) {
  return first<PolicyWithRules>(db.prepare(`${SELECT_WITH_RULES} WHERE p.project_id = ? AND p.id = ?`).bind(projectId, id));
}

/** `applicationId` keeps only that application's policies. */
export function listPolicies(
  db: D1Database,
  projectId: string,
  afterId: string | null,
  limit: number,
  applicationId: string | null,
) {
  return all<PolicyWithRules>(
    db
      .prepare(
        `${SELECT_WITH_RULES} WHERE p.project_id = ?1 AND (?2 IS NULL OR p.id > ?2) AND (?4 IS NULL OR p.application_id = ?4)
         ORDER BY p.id LIMIT ?3`,
      )
      .bind(projectId, afterId, limit, applicationId),
  );
}

/** The two statements that write a policy's rules, each only while the policy exists in the project. */
function ruleStatements(db: D1Database, projectId: string, policyId: string, rules: RuleInput[]) {
  const json = JSON.stringify(
    rules.map((r) => ({ s: r.permission_set, a: r.all_deployments ? 1 : 0, c: r.conditions, d: r.deployment_ids })),
  );
  const policyLive = "EXISTS (SELECT 1 FROM policies WHERE id = ?1 AND project_id = ?3)";
  return [
    db
      .prepare(
        `INSERT INTO policy_rules (policy_id, position, permission_set, all_deployments, conditions)
         SELECT ?1, r.key, json_extract(r.value, '$.s'), json_extract(r.value, '$.a'), json_extract(r.value, '$.c')
         FROM json_each(?2) r WHERE ${policyLive}`,
      )
      .bind(policyId, json, projectId),
    // The join keeps a rule inside the policy's own project even if a caller passed a foreign id.
    db
      .prepare(
        `INSERT OR IGNORE INTO policy_rule_deployments (policy_id, position, deployment_id)
         SELECT ?1, r.key, d.id FROM json_each(?2) r, json_each(json_extract(r.value, '$.d')) x
         JOIN deployments d ON d.id = x.value AND d.project_id = ?3
         WHERE ${policyLive}`,
      )
      .bind(policyId, json, projectId),
  ];
}

function clearRulesStatements(db: D1Database, projectId: string, policyId: string) {
  const ofPolicy = "policy_id = ? AND policy_id IN (SELECT id FROM policies WHERE project_id = ?)";
  return [
    db.prepare(`DELETE FROM policy_rule_deployments WHERE ${ofPolicy}`).bind(policyId, projectId),
    db.prepare(`DELETE FROM policy_rules WHERE ${ofPolicy}`).bind(policyId, projectId),
  ];
}

/**
 * A new policy, written only while its application exists in the project and has fewer than `maxPerApplication`
 * policies, both checked inside this transaction (so two concurrent creates cannot pass the limit together).
 * @returns false when either does not hold (nothing written)
 */
export async function insertPolicy(
  db: D1Database,
  row: PolicyRow,
  rules: RuleInput[],
  maxPerApplication: number,
  audit: AuditContext,
): Promise<boolean> {
  const results = await batch(db, [
    db
      .prepare(
        `INSERT INTO policies (id, project_id, application_id, name, description, created_at, updated_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
         WHERE EXISTS (SELECT 1 FROM applications WHERE id = ?3 AND project_id = ?2)
           AND (SELECT count(*) FROM policies WHERE application_id = ?3 AND project_id = ?2) < ?8`,
      )
      .bind(row.id, row.project_id, row.application_id, row.name, row.description, row.created_at, row.updated_at, maxPerApplication),
    auditIfChangedStatement(db, row.project_id, audit, "policy.create", row.id),
    ...ruleStatements(db, row.project_id, row.id, rules),
  ]);
  return changes(results, 0) === 1;
}

export type PolicyFields = Partial<Pick<PolicyRow, "name" | "description">>;

/**
 * Writes the columns in `fields` (and updated_at); `rules`, when given, replace the policy's rules whole. A PATCH
 * that names nothing changes nothing and records nothing.
 */
export async function updatePolicy(
  db: D1Database,
  projectId: string,
  id: string,
  fields: PolicyFields,
  rules: RuleInput[] | null,
  updatedAt: string,
  audit: AuditContext,
): Promise<boolean> {
  if (!namesAField(fields) && rules === null) return true;
  const set = setClause({ ...fields, updated_at: updatedAt });
  const results = await batch(db, [
    db.prepare(`UPDATE policies SET ${set.sql} WHERE id = ? AND project_id = ?`).bind(...set.values, id, projectId),
    auditIfChangedStatement(db, projectId, audit, "policy.update", id),
    ...(rules === null ? [] : [...clearRulesStatements(db, projectId, id), ...ruleStatements(db, projectId, id, rules)]),
  ]);
  return changes(results, 0) === 1;
}

/** @returns false when the policy was already gone (nothing changed, nothing audited) */
export async function deletePolicy(db: D1Database, projectId: string, id: string, audit: AuditContext): Promise<boolean> {
  const results = await batch(db, [
    ...clearRulesStatements(db, projectId, id),
    db.prepare("DELETE FROM policies WHERE id = ? AND project_id = ?").bind(id, projectId),
    auditIfChangedStatement(db, projectId, audit, "policy.delete", id),
  ]);
  return changes(results, 2) === 1;
}
