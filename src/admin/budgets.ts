/**
 * /admin/v1/projects/{project}/budgets — token budgets on a key, an application or the whole project.
 *
 * A budget lives in two places: its definition in D1 (which requests it covers: read with the decision's records) and
 * its counter, a BudgetCounter Durable Object (what it has spent and reserved, its limit and mode). Every write here
 * reaches the counter inside the admin call, so the next request sees a new limit or mode at once; which requests a
 * budget covers changes with D1 and the project revision, like every other record. Order, so a failure leaves no
 * budget half made: create configures the counter before the row exists (a counter no row names covers nothing);
 * PATCH configures the counter, then writes the row, and puts the counter back if the row cannot be written; DELETE
 * removes the row, then the counter.
 */
import * as z from "zod";
import type { Context } from "hono";
import type { AppBindings, Env } from "../env";
import { ApiError } from "../errors";
import { BUDGET_MODES, type BudgetConfig, type BudgetState } from "../budgets/budget";
import { BUDGET_PERIODS } from "../budgets/period";
import { counterCall, counterOf } from "../budgets/counters";
import { logLine } from "../log";
import { newId } from "../secrets/ids";
import {
  deleteBudget,
  getBudget,
  insertBudget,
  listBudgets,
  subjectState,
  updateBudget,
  BUDGET_SUBJECT_TYPES,
  type BudgetRow,
} from "../store/budgets";
import type { ProjectRow } from "../store/projects";
import { isoNow } from "../time";
import { auditContext, orNotFound, projectFor, stillThere, unlessTaken } from "./guard";
import { Routes } from "./route";
import { AUTH_ERRORS, CONFLICT_ERROR, IdParam, json, listBody, listRoute, ProjectParams } from "./schemas";

/** Far beyond any real budget, and exact in a double (and in SQLite's integers). */
const MAX_LIMIT_TOKENS = Number.MAX_SAFE_INTEGER;

const Period = z.enum(BUDGET_PERIODS);
const Mode = z.enum(BUDGET_MODES);
const LimitTokens = z.number().int().min(0).max(MAX_LIMIT_TOKENS);
const SubjectType = z.enum(BUDGET_SUBJECT_TYPES);
const Subject = z.strictObject({
  type: SubjectType,
  id: z.string().min(1).max(200).meta({ description: "The key's or application's id, or the project's slug." }),
});

export const Budget = z
  .object({
    id: z.string().meta({ example: "bud_01jcz9x7k2m3n4p5q6r7s8t9v0" }),
    object: z.literal("budget"),
    project: z.string(),
    subject: z.object({ type: SubjectType, id: z.string() }),
    limit_tokens: z.number().int(),
    period: Period,
    mode: Mode,
    spent_tokens: z.number().int().meta({ description: "Tokens charged in the current period." }),
    reserved_tokens: z.number().int().meta({ description: "Tokens held by hard-mode requests still in flight." }),
    resets_at: z.string().nullable().meta({ description: "When the period ends (UTC); null for a `total` budget." }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "Budget" });

const CreateBudget = z
  .strictObject({ subject: Subject, limit_tokens: LimitTokens, period: Period, mode: Mode.optional() })
  .meta({ id: "CreateBudget" });
const UpdateBudget = z
  .strictObject({ limit_tokens: LimitTokens.optional(), mode: Mode.optional() })
  .meta({ id: "UpdateBudget" });

function budgetView(row: BudgetRow, project: ProjectRow, state: BudgetState): z.infer<typeof Budget> {
  return {
    id: row.id,
    object: "budget",
    project: project.slug,
    subject: { type: row.subject_type, id: row.subject_type === "project" ? project.slug : row.subject_id },
    limit_tokens: row.limit_tokens,
    period: row.period,
    mode: row.mode,
    spent_tokens: state.spentTokens,
    reserved_tokens: state.reservedTokens,
    resets_at: state.resetsAt,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** The counter's configuration from the row; its version is the row's updated_at, so the newest write wins. */
const configOf = (row: Pick<BudgetRow, "limit_tokens" | "mode" | "period" | "updated_at">): BudgetConfig => ({
  limitTokens: row.limit_tokens,
  mode: row.mode,
  period: row.period,
  version: Date.parse(row.updated_at),
});

/** The counter's state; one that lost its configuration is configured again from the row (D1 says what it is). */
function stateOf(c: Context<AppBindings>, row: BudgetRow): Promise<BudgetState> {
  return counterCall(async () => {
    const counter = counterOf(c.env, row.id);
    const state = await counter.state();
    return state.configured ? state : counter.configure(configOf(row));
  }, "state");
}

const gone = (id: string) => `No budget '${id}' in this project.`;

async function budgetOrThrow(db: D1Database, project: ProjectRow, id: string): Promise<BudgetRow> {
  return orNotFound(await getBudget(db, project.id, id), gone(id));
}

/** The subject as stored: a project budget names the project by its id (slugs are for people). */
async function subjectOf(db: D1Database, project: ProjectRow, subject: z.infer<typeof Subject>): Promise<string> {
  if (subject.type === "project") {
    if (subject.id !== project.slug) {
      throw new ApiError("invalid_request", "Invalid 'subject.id': a project budget names this project's slug.", "subject.id");
    }
    return project.id;
  }
  const state = await subjectState(db, project.id, subject.type, subject.id);
  if (state === "missing") {
    throw new ApiError("invalid_request", `Invalid 'subject.id': no ${subject.type} '${subject.id}' in this project.`, "subject.id");
  }
  // A revoked key makes no request a budget could cover.
  if (state === "revoked") throw new ApiError("invalid_request", `Invalid 'subject.id': key '${subject.id}' is revoked.`, "subject.id");
  return subject.id;
}

/** Best effort, for a write that could not complete: logged when even that fails (the counter is then an orphan). */
async function bestEffort(what: string, budgetId: string, step: () => Promise<unknown>): Promise<void> {
  try {
    await counterCall(step, what);
  } catch (err) {
    logLine({ level: "error", msg: "budget counter step failed", budget_id: budgetId, step: what, error: String(err) });
  }
}

/** The counters of budgets whose rows are gone (with their project), best effort each. */
export async function removeCounters(env: Env, budgetIds: readonly string[]): Promise<void> {
  await Promise.all(budgetIds.map((id) => bestEffort("remove", id, () => counterOf(env, id).remove())));
}

const tags = ["Budgets"];
const BudgetParams = ProjectParams.extend({ budget_id: IdParam });
export const budgets = new Routes();

budgets.add(
  {
    method: "post",
    path: "/projects/{project}/budgets",
    tags,
    summary: "Create a token budget on a key, an application or the project",
    request: { param: ProjectParams, json: CreateBudget },
    responses: { 201: json(Budget, "The budget."), ...AUTH_ERRORS, ...CONFLICT_ERROR },
  },
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "write");
    const body = c.req.valid("json");
    const now = isoNow();
    const row: BudgetRow = {
      id: newId("bud"),
      project_id: project.id,
      subject_type: body.subject.type,
      subject_id: await subjectOf(c.env.DB, project, body.subject),
      limit_tokens: body.limit_tokens,
      period: body.period,
      mode: body.mode ?? "hard",
      created_at: now,
      updated_at: now,
    };
    const counter = counterOf(c.env, row.id);
    const state = await counterCall(() => counter.configure(configOf(row)), "configure");
    const taken = `This ${body.subject.type} already has a '${body.period}' budget.`;
    try {
      await unlessTaken(insertBudget(c.env.DB, row, auditContext(c, project.id)), taken, "period");
    } catch (err) {
      await bestEffort("remove", row.id, () => counter.remove());
      throw err;
    }
    return c.json(budgetView(row, project, state), 201);
  },
);

budgets.add(
  listRoute({ path: "/projects/{project}/budgets", params: ProjectParams, item: Budget, listName: "BudgetList", tags, summary: "List budgets" }),
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "read");
    const { limit, cursor } = c.req.valid("query");
    const rows = await listBudgets(c.env.DB, project.id, cursor ?? null, limit + 1);
    const page = rows.slice(0, limit);
    const states = new Map(await Promise.all(page.map(async (row) => [row.id, await stateOf(c, row)] as const)));
    return c.json(listBody(rows, limit, (row) => budgetView(row, project, states.get(row.id)!)), 200);
  },
);

const one = { path: "/projects/{project}/budgets/{budget_id}", tags, request: { param: BudgetParams } } as const;

budgets.add(
  { ...one, method: "get", summary: "Get a budget, with what it has spent and reserved", responses: { 200: json(Budget, "The budget."), ...AUTH_ERRORS } },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "read");
    const row = await budgetOrThrow(c.env.DB, project, params.budget_id);
    return c.json(budgetView(row, project, await stateOf(c, row)), 200);
  },
);

budgets.add(
  {
    ...one,
    method: "patch",
    summary: "Change a budget's limit or mode: the next request sees it",
    request: { ...one.request, json: UpdateBudget },
    responses: { 200: json(Budget, "The budget."), ...AUTH_ERRORS },
  },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "write");
    const current = await budgetOrThrow(c.env.DB, project, params.budget_id);
    const patch = c.req.valid("json");
    // A PATCH that names no field changes nothing and records nothing (as for keys).
    if (patch.limit_tokens === undefined && patch.mode === undefined) return c.json(budgetView(current, project, await stateOf(c, current)), 200);
    const next: BudgetRow = {
      ...current,
      limit_tokens: patch.limit_tokens ?? current.limit_tokens,
      mode: patch.mode ?? current.mode,
      updated_at: isoNow(),
    };
    const counter = counterOf(c.env, current.id);
    const state = await counterCall(() => counter.configure(configOf(next)), "configure");
    try {
      const fields = { limit_tokens: patch.limit_tokens, mode: patch.mode };
      await stillThere(updateBudget(c.env.DB, project.id, current.id, fields, next.updated_at, auditContext(c, project.id)), gone(current.id));
    } catch (err) {
      await bestEffort("restore", current.id, () => counter.restore(configOf(current), configOf(next).version));
      throw err;
    }
    return c.json(budgetView(next, project, state), 200);
  },
);

budgets.add(
  {
    ...one,
    method: "delete",
    summary: "Delete a budget: the next request is no longer counted against it",
    responses: { 200: json(Budget, "The budget as it was."), ...AUTH_ERRORS },
  },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "write");
    const row = await budgetOrThrow(c.env.DB, project, params.budget_id);
    const state = await stateOf(c, row);
    await stillThere(deleteBudget(c.env.DB, project.id, row.id, auditContext(c, project.id)), gone(row.id));
    // The row is gone, so no request is covered by it once this answer is out (the lease wait); the counter goes too.
    await bestEffort("remove", row.id, () => counterOf(c.env, row.id).remove());
    return c.json(budgetView(row, project, state), 200);
  },
);
