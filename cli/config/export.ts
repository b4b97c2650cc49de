/**
 * keygate's state → a config file that apply accepts back unchanged (export | apply --prune writes nothing). Every kind
 * is listed, empty lists too, so the file manages everything in its projects, except a kind export cannot write
 * faithfully for a project: then that kind is left out of the project's entry as a whole (a kind left out is not managed,
 * so apply --prune never touches it) and a warning says which kind and why. Leaving out only the objects it cannot
 * write would make apply --prune delete (or revoke) them. Header values are never readable: each becomes `{env: NAME}`
 * with a generated name, unique in the output, and since apply compares header names only, no write needs them while
 * the names match. Secrets are never exported (they cannot be read back).
 */
import { stringify } from "yaml";
import { type ManagementClient, MAX_PAGE } from "../../sdk/index.ts";
import type * as api from "../../sdk/index.ts";
import { ENV_NAME_MAX } from "../env-name.ts";
import { CONFIG_VERSION } from "./schema.ts";
import { liveKeysByName } from "../../sdk/drift.ts";
import { budgetName } from "./plan.ts";
import { type ProjectState, readState } from "./state.ts";

export interface Exported {
  yaml: string;
  /** Kinds left out of a project's entry, each with why (for standard error). */
  warnings: string[];
}

/** `only`: one project's slug; undefined: every project the token sees. */
export async function exportConfig(client: ManagementClient, only: string | undefined): Promise<Exported> {
  const slugs = only !== undefined ? [only] : (await client.projects.list({ limit: MAX_PAGE }).toArray()).map((p) => p.slug);
  const states: ProjectState[] = [];
  for (const slug of slugs) states.push(await readState(client, slug));
  const missing = states.findIndex((s) => s.project === undefined);
  if (missing !== -1) throw new ExportError(`project ${slugs[missing]}: it does not exist (or this token cannot see it)`);
  const variables = headerVariables(states);
  const warnings: string[] = [];
  const projects = states.map((state) => exportProject(state, variables, warnings));
  const header = "# keygate config (docs/config.md). Origin header values come from the environment variables named here.\n";
  return { yaml: header + stringify({ version: CONFIG_VERSION, projects }, { lineWidth: 0 }), warnings };
}

/** Export cannot be done as asked (a project that is not there): a clean message, exit 2. */
export class ExportError extends Error {
  override name = "ExportError";
}

/** Only present values: an absent field is "leave as it is" for apply, so null and empty ones need not be written. */
const present = <T extends object>(fields: T): Partial<T> =>
  Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null && v !== undefined && !(isEmptyObject(v)))) as Partial<T>;
const isEmptyObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;

/** `ACME_CHAT_AUTHORIZATION`: project, deployment and header, as one variable name (at most ENV_NAME_MAX characters). */
export const headerVariable = (project: string, deployment: string, header: string): string =>
  `${project}_${deployment}_${header}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_").replace(/^(?=[0-9])/, "_").slice(0, ENV_NAME_MAX);

/**
 * A variable name for every origin header of every exported deployment, unique in the output: `a-b`/`c` and `a`/`b-c`
 * both spell `A_B_C_K`, and `X-Api-Key` and `X_Api_Key` one name too; one variable for two origins would make a later
 * apply send one origin's secret to the other. Deterministic: the headers in (project, deployment, header) order, the
 * first to spell a name gets it, each later one gets the first free `NAME_2`, `NAME_3`, … (no name any header spells
 * plainly is ever given as a suffixed one).
 */
export function headerVariables(states: ProjectState[]): Map<string, string> {
  const id = (project: string, deployment: string, header: string) => `${project}\0${deployment}\0${header}`;
  const headers = states
    .flatMap((s) => s.deployments.flatMap((d) => d.origin.header_names.map((h) => [s.project!.slug, d.slug, h] as const)))
    .sort((a, b) => (a.join("\0") < b.join("\0") ? -1 : a.join("\0") > b.join("\0") ? 1 : 0));
  const plain = new Set(headers.map((h) => headerVariable(...h)));
  const taken = new Set<string>();
  const names = new Map<string, string>();
  for (const h of headers) {
    const base = headerVariable(...h);
    let name = base;
    for (let n = 2; taken.has(name) || (name !== base && plain.has(name)); n++) {
      const suffix = `_${n}`;
      name = base.slice(0, ENV_NAME_MAX - suffix.length) + suffix;
    }
    taken.add(name);
    names.set(id(...h), name);
  }
  return names;
}

function exportProject(state: ProjectState, variables: Map<string, string>, warnings: string[]) {
  const project = state.project!;
  const slug = project.slug;
  const appName = new Map(state.applications.map((a) => [a.id, a.name]));
  const byName = [...liveKeysByName(state.keys)];
  const shared = byName.filter(([, keys]) => keys.length > 1).map(([name]) => name);
  const keyName = new Map(byName.filter(([, keys]) => keys.length === 1).map(([name, [key]]) => [key!.id, name]));
  /** A kind left out of this project's entry, and why: apply (--prune too) then leaves that kind alone. */
  const leaveOut = (kind: string, why: string) =>
    warnings.push(`project ${slug}: '${kind}:' left out, so apply leaves this project's ${kind} alone (--prune too): ${why}`);

  const entry: Record<string, unknown> = {
    slug,
    name: project.name,
    suspended: project.suspended,
    deployments: state.deployments.map((d) => exportDeployment(slug, d, variables)),
    applications: state.applications.map((a) => present({ name: a.name, description: a.description })),
  };

  // A rule with no deployment (its deployments were deleted) is one the file cannot state: a rule names at least one.
  const empty = state.policies.filter((p) => p.rules.some((r) => r.deployments.length === 0)).map((p) => p.name);
  if (empty.length > 0) {
    leaveOut("policies", `policy ${empty.map((n) => `'${n}'`).join(", ")} has a rule with no deployment left (its deployments were deleted), which a config file cannot state; give the rule a deployment or delete it`);
  } else {
    entry.policies = state.policies.map((p) =>
      present({
        name: p.name,
        application: appName.get(p.application_id),
        description: p.description,
        rules: p.rules.map((r) => present({ permission_set: r.permission_set, deployments: r.deployments, conditions: r.conditions })),
      }),
    );
  }

  if (shared.length > 0) {
    leaveOut("keys", `several unrevoked keys are named ${shared.map((n) => `'${n}'`).join(", ")}, and a key's name is its identity in the file; rename or revoke all but one`);
  } else {
    entry.keys = state.keys.filter((k) => k.revoked_at === null).map((k) =>
      present({
        name: k.name,
        description: k.description,
        ...(k.application_id !== null ? { application: appName.get(k.application_id) } : { scopes: k.scopes, permission_set: k.permission_set }),
        conditions: k.conditions,
        expires_at: k.expires_at,
      }),
    );
  }

  const unnamed: string[] = [];
  const budgets = state.budgets.flatMap((b) => {
    const subject =
      b.subject.type === "project"
        ? "project"
        : b.subject.type === "key"
          ? keyName.has(b.subject.id) ? { key: keyName.get(b.subject.id)! } : undefined
          : appName.has(b.subject.id) ? { application: appName.get(b.subject.id)! } : undefined;
    if (subject === undefined) unnamed.push(budgetName(b, state));
    return subject === undefined ? [] : [{ subject, period: b.period, limit_tokens: b.limit_tokens, mode: b.mode }];
  });
  if (unnamed.length > 0) {
    leaveOut("budgets", `budget ${unnamed.map((n) => `'${n}'`).join(", ")} is on a key that is revoked or shares its name with another, which a config file cannot name`);
  } else entry.budgets = budgets;
  return entry;
}

function exportDeployment(project: string, d: api.Deployment, variables: Map<string, string>) {
  const headers = Object.fromEntries(d.origin.header_names.map((h) => [h, { env: variables.get(`${project}\0${d.slug}\0${h}`)! }]));
  return {
    slug: d.slug,
    name: d.name,
    origin: { url: d.origin.url, ...(d.origin.header_names.length > 0 ? { headers } : {}), assertion: d.origin.assertion },
    model: d.model,
    allowed_paths: d.allowed_paths,
    endpoints: d.endpoints,
    inject_stream_usage: d.inject_stream_usage,
    default_max_tokens: d.default_max_tokens,
  };
}
