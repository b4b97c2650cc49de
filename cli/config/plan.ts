/**
 * The plan: what apply would write to make keygate match the file, from the file and each named project's current
 * state. Drift is sdk/drift.ts's (the rules ensure() uses), and each step writes through ensure(), so apply makes the
 * writes the plan shows and no other. Steps come in dependency order (project, deployments, applications, policies,
 * keys, budgets); prunes come last, in the reverse order, and only with --prune, only in the file's projects, only of
 * the kinds a project entry lists. Management tokens are never touched.
 *
 * What cannot be done in place (a key's or a policy's application) or cannot be decided (two unrevoked keys of one
 * name, a missing project with a management token) is a problem: apply refuses the whole plan, before any write.
 */
import { AmbiguousNameError, ImmutableFieldError, type ManagementClient } from "../../sdk/index.ts";
import type * as api from "../../sdk/index.ts";
import {
  applicationDrift,
  budgetDrift,
  deploymentDrift,
  findBudget,
  findByName,
  findKey,
  keyDrift,
  liveKeysByName,
  policyDrift,
  projectDrift,
} from "../../sdk/drift.ts";
import { desiredBudget, desiredDeployment, desiredKey, desiredPolicy } from "./desired.ts";
import { subjectText } from "./parse.ts";
import type { BudgetConfig, Config, ProjectConfig } from "./schema.ts";
import { type ProjectState, readState } from "./state.ts";

export type StepKind = "project" | "deployment" | "application" | "policy" | "key" | "budget";

export interface NewSecret {
  project: string;
  name: string;
  id: string;
  key: string;
}

/** Ids known by name: filled from the state, and by each create as apply runs (a key's application made just before). */
export class Ids {
  readonly #ids = new Map<string, string>();
  get(project: string, kind: "application" | "key", name: string): string | undefined {
    return this.#ids.get(`${project}\0${kind}\0${name}`);
  }
  set(project: string, kind: "application" | "key", name: string, id: string): void {
    this.#ids.set(`${project}\0${kind}\0${name}`, id);
  }
}

export interface RunContext {
  client: ManagementClient;
  ids: Ids;
  secrets: NewSecret[];
}

export interface Step {
  action: "create" | "update" | "prune";
  kind: StepKind;
  project: string;
  /** `acme/chat`, or for a budget `acme/key:ci/day`. */
  name: string;
  /** The fields an update patches. */
  changed: string[];
  /** Header variables this write sends that are not set: apply refuses to run without them. */
  unsetEnv: string[];
  /**
   * What a prune also changes, by the API's own cascade, in kinds the project entry does not manage (and so would not
   * otherwise show): an application's keys, policies and budgets; a deployment's place in keys' scopes and policies' rules.
   */
  cascade: Cascade[];
  run(context: RunContext): Promise<void>;
}

export interface Cascade {
  /** revoke (a key), delete (a policy, a budget), unlink (the deployment leaves a key's scopes or a policy's rules) */
  action: "revoke" | "delete" | "unlink";
  kind: "key" | "policy" | "budget";
  /** The object changed: `acme/ci`, `acme/billing-chat`, `acme/application:billing/month`. */
  name: string;
  /** The line the plan prints: `also revokes key acme/billing-prod (its application goes)`. */
  text: string;
}

export interface Plan {
  steps: Step[];
  problems: string[];
  ids: Ids;
}

export interface PlanOptions {
  prune: boolean;
  env: Record<string, string | undefined>;
  /** False with an `ik_sdk_` token, which cannot create projects. */
  canCreateProjects: boolean;
}

export async function makePlan(client: ManagementClient, config: Config, options: PlanOptions): Promise<Plan> {
  const plan: Plan = { steps: [], problems: [], ids: new Ids() };
  const states = await Promise.all(config.projects.map((p) => readState(client, p.slug)));
  config.projects.forEach((project, i) => planProject(plan, project, states[i]!, options));
  return plan;
}

/** Placeholder id of an object the plan creates: it differs from every real id, so drift sees the change. */
const NEW = "(new)";

function planProject(plan: Plan, pc: ProjectConfig, state: ProjectState, options: PlanOptions): void {
  const slug = pc.slug;
  const { ids } = plan;
  const kg = (c: RunContext) => c.client.withProject(slug);
  const step = (s: Omit<Step, "project" | "unsetEnv" | "cascade"> & { unsetEnv?: string[] }) =>
    plan.steps.push({ unsetEnv: [], cascade: [], project: slug, ...s });
  const attempt = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      if (err instanceof ImmutableFieldError || err instanceof AmbiguousNameError) plan.problems.push(`${what}: ${err.message}`);
      else throw err;
    }
  };

  for (const app of state.applications) ids.set(slug, "application", app.name, app.id);
  for (const [name, [key, ...others]] of liveKeysByName(state.keys)) if (others.length === 0) ids.set(slug, "key", name, key!.id);

  if (state.project === undefined) {
    if (!options.canCreateProjects) {
      plan.problems.push(`project ${slug}: it does not exist, and a management token cannot create projects (use the root ADMIN_TOKEN, or create it first)`);
      return;
    }
    step({
      action: "create", kind: "project", name: slug, changed: [],
      run: async (c) => {
        await c.client.projects.create({ slug, ...(pc.name ? { name: pc.name } : {}) });
        if (pc.suspended) await c.client.projects.update({ suspended: true }, slug);
      },
    });
  } else {
    const { changed, patch } = projectDrift(pc, state.project);
    if (changed.length > 0) step({ action: "update", kind: "project", name: slug, changed, run: async (c) => void (await c.client.projects.update(patch, slug)) });
  }

  for (const d of pc.deployments ?? []) {
    const { body, unset } = desiredDeployment(d, options.env);
    const current = state.deployments.find((x) => x.slug === d.slug);
    const run = async (c: RunContext) => void (await kg(c).deployments.ensure(body));
    const name = `${slug}/${d.slug}`;
    if (current === undefined) step({ action: "create", kind: "deployment", name, changed: [], unsetEnv: body.origin.headers ? unset : [], run });
    else {
      const { changed, patch } = deploymentDrift(body, current);
      if (changed.length > 0) step({ action: "update", kind: "deployment", name, changed, unsetEnv: patch.origin?.headers ? unset : [], run });
    }
  }

  for (const a of pc.applications ?? []) {
    const current = findByName(state.applications, a.name);
    const run = async (c: RunContext) => ids.set(slug, "application", a.name, (await kg(c).applications.ensure(a)).object.id);
    const name = `${slug}/${a.name}`;
    if (current === undefined) step({ action: "create", kind: "application", name, changed: [], run });
    else {
      const { changed } = applicationDrift(a, current);
      if (changed.length > 0) step({ action: "update", kind: "application", name, changed, run });
    }
  }

  /** An application the file refers to that neither it nor keygate has: a problem now rather than a failure half-way. */
  const unknownApplication = (what: string, app: string | undefined) => {
    if (app === undefined || ids.get(slug, "application", app) !== undefined || pc.applications?.some((a) => a.name === app)) return false;
    plan.problems.push(`${what}: no application '${app}' in project ${slug} (nor in this file)`);
    return true;
  };

  for (const p of pc.policies ?? []) {
    const name = `${slug}/${p.name}`;
    if (unknownApplication(`policy ${name}`, p.application)) continue;
    attempt(`policy ${name}`, () => {
      const current = findByName(state.policies, p.name);
      const run = async (c: RunContext) => void (await kg(c).policies.ensure(desiredPolicy(p, resolve(c.ids, slug, "application", p.application))));
      if (current === undefined) return step({ action: "create", kind: "policy", name, changed: [], run });
      const { changed } = policyDrift(desiredPolicy(p, ids.get(slug, "application", p.application) ?? NEW), current);
      if (changed.length > 0) step({ action: "update", kind: "policy", name, changed, run });
    });
  }

  for (const k of pc.keys ?? []) {
    const name = `${slug}/${k.name}`;
    if (unknownApplication(`key ${name}`, k.application)) continue;
    attempt(`key ${name}`, () => {
      const current = findKey(state.keys, k.name);
      const applicationOf = (known: Ids) => (k.application === undefined ? undefined : (known.get(slug, "application", k.application) ?? NEW));
      const run = async (c: RunContext) => {
        const appId = k.application === undefined ? undefined : resolve(c.ids, slug, "application", k.application);
        const ensured = await kg(c).keys.ensure(desiredKey(k, appId));
        c.ids.set(slug, "key", k.name, ensured.object.id);
        if (ensured.secret !== undefined) c.secrets.push({ project: slug, name: k.name, id: ensured.object.id, key: ensured.secret });
      };
      if (current === undefined) return step({ action: "create", kind: "key", name, changed: [], run });
      const { changed } = keyDrift(desiredKey(k, applicationOf(ids)), current);
      if (changed.length > 0) step({ action: "update", kind: "key", name, changed, run });
    });
  }

  const kept = new Set<string>();
  for (const b of pc.budgets ?? []) {
    const name = `${slug}/${subjectText(b.subject)}/${b.period}`;
    const [type, subjectName] = subjectOf(b);
    const idNow = type === "project" ? slug : ids.get(slug, type, subjectName);
    const made = type === "key" ? pc.keys?.some((k) => k.name === subjectName) : pc.applications?.some((a) => a.name === subjectName);
    if (idNow === undefined && !made) {
      plan.problems.push(`budget ${name}: no ${type} '${subjectName}' in project ${slug} (nor in this file)`);
      continue;
    }
    const current = idNow === undefined ? undefined : findBudget(state.budgets, desiredBudget(b, type, idNow));
    const run = async (c: RunContext) => {
      const id = type === "project" ? slug : resolve(c.ids, slug, type, subjectName);
      await kg(c).budgets.ensure(desiredBudget(b, type, id));
    };
    if (current === undefined) step({ action: "create", kind: "budget", name, changed: [], run });
    else {
      kept.add(current.id);
      const { changed } = budgetDrift(desiredBudget(b, type, idNow!), current);
      if (changed.length > 0) step({ action: "update", kind: "budget", name, changed, run });
    }
  }

  if (options.prune && state.project !== undefined) planPrunes(plan, pc, state, kept);
}

/** The id of a name the plan made or found; an object the file refers to but no one made is an error at run time. */
function resolve(ids: Ids, project: string, kind: "application" | "key", name: string): string {
  const id = ids.get(project, kind, name);
  if (id === undefined) throw new Error(`no ${kind} '${name}' in project ${project} (the file refers to it, and it is neither in the file nor in keygate)`);
  return id;
}

function subjectOf(b: BudgetConfig): ["project", ""] | ["key" | "application", string] {
  const s = b.subject;
  if (s === "project") return ["project", ""];
  return "key" in s ? ["key", s.key] : ["application", s.application];
}

/**
 * Objects of the kinds the entry lists that the file does not name, deleted (keys: revoked) dependents first. The API
 * deletes an application with its policies and budgets and revokes its keys, and takes a deployment out of every key's
 * scopes and every policy's rules: where those objects are of a kind the entry does not manage, the prune step lists
 * them as its cascade (computed from the state read for the plan), so the plan shows every change apply makes.
 */
function planPrunes(plan: Plan, pc: ProjectConfig, state: ProjectState, keptBudgets: Set<string>): void {
  const slug = pc.slug;
  const kg = (c: RunContext) => c.client.withProject(slug);
  const prune = (kind: StepKind, name: string, run: (c: RunContext) => Promise<unknown>, cascade: Cascade[] = []) =>
    plan.steps.push({ action: "prune", kind, project: slug, name: `${slug}/${name}`, changed: [], unsetEnv: [], cascade, run: async (c) => void (await run(c)) });
  const named = (list: { name?: string; slug?: string }[] | undefined) => new Set(list?.map((x) => x.slug ?? x.name!));

  if (pc.budgets) {
    for (const b of state.budgets.filter((x) => !keptBudgets.has(x.id))) prune("budget", budgetName(b, state), (c) => kg(c).budgets.delete(b.id));
  }
  if (pc.keys) {
    const keep = named(pc.keys);
    for (const k of state.keys.filter((x) => x.revoked_at === null && !keep.has(x.name))) prune("key", k.name, (c) => kg(c).keys.revoke(k.id));
  }
  if (pc.policies) {
    const keep = named(pc.policies);
    for (const p of state.policies.filter((x) => !keep.has(x.name))) prune("policy", p.name, (c) => kg(c).policies.delete(p.id));
  }
  // Cascades reach only kinds the entry does not manage: in a managed kind, an object is either pruned itself (above)
  // or named by the file, whose checks keep it from referring to what is pruned.
  const revoked = new Set<string>();
  const deleted = new Set<string>();
  const liveKeys = pc.keys ? [] : state.keys.filter((k) => k.revoked_at === null);
  const policies = pc.policies ? [] : state.policies;
  const budgets = pc.budgets ? [] : state.budgets;
  if (pc.applications) {
    const keep = named(pc.applications);
    for (const a of state.applications.filter((x) => !keep.has(x.name))) {
      const cascade: Cascade[] = [];
      for (const k of liveKeys.filter((x) => x.application_id === a.id)) {
        revoked.add(k.id);
        cascade.push({ action: "revoke", kind: "key", name: `${slug}/${k.name}`, text: `also revokes key ${slug}/${k.name} (its application goes)` });
      }
      for (const p of policies.filter((x) => x.application_id === a.id)) {
        deleted.add(p.id);
        cascade.push({ action: "delete", kind: "policy", name: `${slug}/${p.name}`, text: `also deletes policy ${slug}/${p.name} (its application goes)` });
      }
      for (const b of budgets.filter((x) => x.subject.type === "application" && x.subject.id === a.id)) {
        const name = `${slug}/${budgetName(b, state)}`;
        cascade.push({ action: "delete", kind: "budget", name, text: `also deletes budget ${name} (its application goes)` });
      }
      prune("application", a.name, (c) => kg(c).applications.delete(a.id), cascade);
    }
  }
  if (pc.deployments) {
    const keep = named(pc.deployments);
    for (const d of state.deployments.filter((x) => !keep.has(x.slug))) {
      const scope = `${slug}/${d.slug}`;
      const cascade: Cascade[] = [];
      for (const k of liveKeys.filter((x) => !revoked.has(x.id) && x.scopes.includes(scope))) {
        const none = k.scopes.length === 1 ? " (it is left with no scope: it reaches nothing)" : "";
        cascade.push({ action: "unlink", kind: "key", name: `${slug}/${k.name}`, text: `also removes ${scope} from key ${slug}/${k.name}'s scopes${none}` });
      }
      for (const p of policies.filter((x) => !deleted.has(x.id) && x.rules.some((r) => r.deployments.includes(d.slug)))) {
        const empty = p.rules.some((r) => r.deployments.length === 1 && r.deployments[0] === d.slug);
        const none = empty ? " (a rule is left with no deployment)" : "";
        cascade.push({ action: "unlink", kind: "policy", name: `${slug}/${p.name}`, text: `also removes ${d.slug} from policy ${slug}/${p.name}'s rules${none}` });
      }
      prune("deployment", d.slug, (c) => kg(c).deployments.delete(d.slug), cascade);
    }
  }
}

/** A budget as plan lines name it: `key:ci/day` (by the subject's name; its id when nothing of that id has a name). */
export function budgetName(b: api.Budget, state: ProjectState): string {
  const s = b.subject;
  const name =
    s.type === "project"
      ? "project"
      : `${s.type}:${(s.type === "key" ? state.keys : state.applications).find((x) => x.id === s.id)?.name ?? s.id}`;
  return `${name}/${b.period}`;
}

/** `+ create deployment acme/chat`, `~ update key acme/ci: scopes`, `- prune policy acme/old` */
export function stepLine(s: Step): string {
  const sign = { create: "+", update: "~", prune: "-" }[s.action];
  const verb = s.action === "prune" && s.kind === "key" ? "prune (revoke)" : s.action;
  const fields = s.changed.length > 0 ? `: ${s.changed.join(", ")}` : "";
  const env = s.unsetEnv.length > 0 ? `  (needs ${s.unsetEnv.join(", ")}, not set)` : "";
  return `${sign} ${verb} ${s.kind} ${s.name}${fields}${env}`;
}

export function summary(steps: Step[]): Record<Step["action"], number> {
  const count = (action: Step["action"]) => steps.filter((s) => s.action === action).length;
  return { create: count("create"), update: count("update"), prune: count("prune") };
}
