/**
 * /admin/v1/projects/{project}/policies — what an application's keys may do. A policy belongs to one application
 * and holds 1–50 ordered rules; each grants one permission set on some deployments (or `["*"]`: all of the
 * project's, later ones included), optionally under conditions. An application's policies apply in creation order,
 * then each policy's rules in order (docs/api.md, "Applications and policies").
 */
import * as z from "zod";
import { ConditionsSchema, type Conditions } from "../authz/conditions-schema";
import { PERMISSION_SETS } from "../authz/permission-sets";
import { ApiError } from "../errors";
import { newId } from "../secrets/ids";
import { getApplication } from "../store/applications";
import {
  deletePolicy,
  getPolicy,
  insertPolicy,
  listPolicies,
  updatePolicy,
  type PolicyRow,
  type PolicyWithRules,
  type RuleInput,
  type StoredRule,
} from "../store/policies";
import type { ProjectRow } from "../store/projects";
import { isoNow } from "../time";
import { auditContext, orNotFound, projectFor, stillThere, unlessTaken } from "./guard";
import { Routes } from "./route";
import {
  ApplicationId,
  AUTH_ERRORS,
  CONFLICT_ERROR,
  Description,
  IdParam,
  json,
  listBody,
  listRoute,
  ListQuery,
  Name,
  PermissionSetField,
  ProjectParams,
  Slug,
} from "./schemas";
import { MAX_SCOPES, resolveDeployments } from "./scopes";

export const MAX_RULES = 50;
/**
 * An application key's decision reads all of its application's rules in one query and keeps them with the key;
 * this bounds what that read can cost.
 */
export const MAX_POLICIES_PER_APPLICATION = 10;
const ALL = "*";

const Rule = z
  .object({
    permission_set: z.enum(PERMISSION_SETS),
    deployments: z.array(z.string()).meta({ description: 'Deployment slugs, or ["*"] for every deployment of the project.' }),
    conditions: ConditionsSchema,
  })
  .meta({ id: "PolicyRule" });

export const Policy = z
  .object({
    id: z.string().meta({ example: "pol_01jcz9x7k2m3n4p5q6r7s8t9v0" }),
    object: z.literal("policy"),
    project: z.string(),
    application_id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    rules: z.array(Rule),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "Policy" });

const RuleBody = z
  .strictObject({
    permission_set: PermissionSetField,
    deployments: z
      .array(z.union([z.literal(ALL), Slug], { error: `must be a deployment slug or "${ALL}"` }))
      .min(1, 'must name at least one deployment (or ["*"] for all)')
      .max(MAX_SCOPES, `must have at most ${MAX_SCOPES} entries`)
      .refine((d) => !d.includes(ALL) || d.length === 1, `"${ALL}" covers every deployment and must be the only entry`),
    conditions: ConditionsSchema.nullable().optional(),
  })
  .meta({ id: "PolicyRuleInput" });
/**
 * Deployments named one by one across a policy's rules. Each becomes an id in the one query an application key's
 * decision reads (with every rule of its application): with MAX_POLICIES_PER_APPLICATION, this keeps that row far
 * below D1's 2 MB limit on a value. `["*"]` counts for nothing.
 */
export const MAX_DEPLOYMENTS_PER_POLICY = 256;
const Rules = z
  .array(RuleBody)
  .min(1, "must have at least one rule")
  .max(MAX_RULES, `must have at most ${MAX_RULES} rules`)
  .refine(
    (rules) => rules.reduce((n, rule) => n + (rule.deployments.includes(ALL) ? 0 : rule.deployments.length), 0) <= MAX_DEPLOYMENTS_PER_POLICY,
    `must name at most ${MAX_DEPLOYMENTS_PER_POLICY} deployments in all (use ["*"] for every deployment)`,
  );

const CreatePolicy = z
  .strictObject({ name: Name, description: Description.optional(), application_id: ApplicationId, rules: Rules })
  .meta({ id: "CreatePolicy" });
const UpdatePolicy = z
  .strictObject({ name: Name.optional(), description: Description.nullable().optional(), rules: Rules.optional() })
  .meta({ id: "UpdatePolicy" });

function policyView(row: PolicyWithRules, projectSlug: string): z.infer<typeof Policy> {
  const stored = (JSON.parse(row.rules_json) as StoredRule[]).sort((a, b) => a[0] - b[0]);
  return {
    id: row.id,
    object: "policy",
    project: projectSlug,
    application_id: row.application_id,
    name: row.name,
    description: row.description,
    rules: stored.map(([, permission_set, all, conditions, slugs]) => ({
      permission_set,
      deployments: all === 1 ? [ALL] : [...slugs].sort(),
      conditions: conditions as Conditions,
    })),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** Rules as validated → as stored: every slug resolved to a deployment of this project (400 naming it if not). */
async function resolveRules(db: D1Database, project: ProjectRow, rules: z.infer<typeof Rules>): Promise<RuleInput[]> {
  const params = new Map<string, string>();
  rules.forEach((rule, i) =>
    rule.deployments.forEach((slug, j) => {
      if (slug !== ALL && !params.has(slug)) params.set(slug, `rules[${i}].deployments[${j}]`);
    }),
  );
  const ids = await resolveDeployments(db, project, params);
  return rules.map((rule) => ({
    permission_set: rule.permission_set,
    all_deployments: rule.deployments.includes(ALL),
    deployment_ids: [...new Set(rule.deployments.filter((slug) => slug !== ALL).map((slug) => ids.get(slug)!))],
    conditions: JSON.stringify(rule.conditions ?? {}),
  }));
}

const gone = (id: string) => `No policy '${id}' in this project.`;

async function policyOrThrow(db: D1Database, project: ProjectRow, id: string): Promise<PolicyWithRules> {
  return orNotFound(await getPolicy(db, project.id, id), gone(id));
}

const taken = (name: string) => `The policy name '${name}' is taken in this project.`;
const tags = ["Policies"];
const PolicyParams = ProjectParams.extend({ policy_id: IdParam });
export const policies = new Routes();

policies.add(
  {
    method: "post",
    path: "/projects/{project}/policies",
    tags,
    summary: "Create a policy for an application",
    request: { param: ProjectParams, json: CreatePolicy },
    responses: { 201: json(Policy, "The policy."), ...AUTH_ERRORS, ...CONFLICT_ERROR },
  },
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "write");
    const body = c.req.valid("json");
    const rules = await resolveRules(c.env.DB, project, body.rules);
    const now = isoNow();
    const row: PolicyRow = {
      id: newId("pol"),
      project_id: project.id,
      application_id: body.application_id,
      name: body.name,
      description: body.description ?? null,
      created_at: now,
      updated_at: now,
    };
    const write = insertPolicy(c.env.DB, row, rules, MAX_POLICIES_PER_APPLICATION, auditContext(c, project.id));
    if (!(await unlessTaken(write, taken(body.name), "name"))) {
      // Nothing was written: say which of the two guards stopped it.
      const exists = (await getApplication(c.env.DB, project.id, body.application_id)) !== null;
      throw new ApiError(
        "invalid_request",
        exists
          ? `Invalid 'application_id': an application has at most ${MAX_POLICIES_PER_APPLICATION} policies; add rules to one of them.`
          : `Invalid 'application_id': no application '${body.application_id}' in this project.`,
        "application_id",
      );
    }
    return c.json(policyView(await policyOrThrow(c.env.DB, project, row.id), project.slug), 201);
  },
);

policies.add(
  listRoute({
    path: "/projects/{project}/policies",
    params: ProjectParams,
    query: ListQuery.extend({
      application_id: ApplicationId.optional().meta({ description: "Only this application's policies" }),
    }),
    item: Policy,
    listName: "PolicyList",
    tags,
    summary: "List policies (`application_id` keeps one application's)",
  }),
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "read");
    const { limit, cursor, application_id } = c.req.valid("query");
    const rows = await listPolicies(c.env.DB, project.id, cursor ?? null, limit + 1, application_id ?? null);
    return c.json(listBody(rows, limit, (row) => policyView(row, project.slug)), 200);
  },
);

const one = { path: "/projects/{project}/policies/{policy_id}", tags, request: { param: PolicyParams } } as const;

policies.add(
  { ...one, method: "get", summary: "Get a policy", responses: { 200: json(Policy, "The policy."), ...AUTH_ERRORS } },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "read");
    return c.json(policyView(await policyOrThrow(c.env.DB, project, params.policy_id), project.slug), 200);
  },
);

policies.add(
  {
    ...one,
    method: "patch",
    summary: "Update a policy (`rules` are replaced whole); every key of its application sees it on the next request",
    request: { ...one.request, json: UpdatePolicy },
    responses: { 200: json(Policy, "The policy."), ...AUTH_ERRORS, ...CONFLICT_ERROR },
  },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "write");
    const current = await policyOrThrow(c.env.DB, project, params.policy_id);
    const patch = c.req.valid("json");
    const rules = patch.rules === undefined ? null : await resolveRules(c.env.DB, project, patch.rules);
    const fields = { name: patch.name, description: patch.description };
    const write = updatePolicy(c.env.DB, project.id, current.id, fields, rules, isoNow(), auditContext(c, project.id));
    await stillThere(write, gone(current.id), taken(patch.name ?? current.name));
    return c.json(policyView(await policyOrThrow(c.env.DB, project, current.id), project.slug), 200);
  },
);

policies.add(
  {
    ...one,
    method: "delete",
    summary: "Delete a policy; what it granted ends with the next request",
    responses: { 200: json(Policy, "The policy as it was."), ...AUTH_ERRORS },
  },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "write");
    const row = await policyOrThrow(c.env.DB, project, params.policy_id);
    await stillThere(deletePolicy(c.env.DB, project.id, row.id, auditContext(c, project.id)), gone(row.id));
    return c.json(policyView(row, project.slug), 200);
  },
);
