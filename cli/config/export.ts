/**
 * keygate's state → a config file that apply accepts back unchanged (export | apply writes nothing). Every kind is
 * listed, empty lists too, so the file manages everything in its projects. Header values are never readable: each
 * becomes `{env: NAME}` with a generated name, and since apply compares header names only, no write needs them while
 * the names match. Secrets are never exported (they cannot be read back).
 */
import { stringify } from "yaml";
import type { ManagementClient } from "../../sdk/index.ts";
import type * as api from "../../sdk/index.ts";
import { CONFIG_VERSION } from "./schema.ts";
import { budgetName } from "./plan.ts";
import { type ProjectState, readState } from "./state.ts";

export interface Exported {
  yaml: string;
  /** Objects a name cannot pick (two unrevoked keys of one name, a budget on a revoked key): left out, said why. */
  warnings: string[];
}

export async function exportConfig(client: ManagementClient, only: string | undefined): Promise<Exported> {
  const slugs = only !== undefined ? [only] : (await client.projects.list({ limit: 100 }).toArray()).map((p) => p.slug);
  const warnings: string[] = [];
  const projects = [];
  for (const slug of slugs) projects.push(exportProject(await readState(client, slug), warnings));
  const header = "# keygate config (docs/config.md). Origin header values come from the environment variables named here.\n";
  return { yaml: header + stringify({ version: CONFIG_VERSION, projects }, { lineWidth: 0 }), warnings };
}

/** Only present values: an absent field is "leave as it is" for apply, so null and empty ones need not be written. */
const present = <T extends object>(fields: T): Partial<T> =>
  Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null && v !== undefined && !(isEmptyObject(v)))) as Partial<T>;
const isEmptyObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;

/** `ACME_CHAT_AUTHORIZATION`: project, deployment and header, as one variable name. */
export const headerVariable = (project: string, deployment: string, header: string): string =>
  `${project}_${deployment}_${header}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_").replace(/^(?=[0-9])/, "_");

function exportProject(state: ProjectState, warnings: string[]) {
  const project = state.project!;
  const slug = project.slug;
  const appName = new Map(state.applications.map((a) => [a.id, a.name]));
  const live = state.keys.filter((k) => k.revoked_at === null);
  const shared = new Set(live.filter((k) => live.filter((x) => x.name === k.name).length > 1).map((k) => k.name));
  for (const name of shared) warnings.push(`key ${slug}/${name}: several unrevoked keys have this name; left out (rename or revoke all but one)`);
  const keyName = new Map(live.filter((k) => !shared.has(k.name)).map((k) => [k.id, k.name]));

  return {
    slug,
    name: project.name,
    suspended: project.suspended,
    deployments: state.deployments.map((d) => exportDeployment(slug, d)),
    applications: state.applications.map((a) => present({ name: a.name, description: a.description })),
    policies: state.policies.map((p) =>
      present({
        name: p.name,
        application: appName.get(p.application_id),
        description: p.description,
        rules: p.rules.map((r) => present({ permission_set: r.permission_set, deployments: r.deployments, conditions: r.conditions })),
      }),
    ),
    keys: live
      .filter((k) => keyName.has(k.id))
      .map((k) =>
        present({
          name: k.name,
          description: k.description,
          ...(k.application_id !== null
            ? { application: appName.get(k.application_id) }
            : { scopes: k.scopes, permission_set: k.permission_set }),
          conditions: k.conditions,
          expires_at: k.expires_at,
        }),
      ),
    budgets: state.budgets.flatMap((b) => {
      const subject =
        b.subject.type === "project"
          ? "project"
          : b.subject.type === "key"
            ? keyName.has(b.subject.id) ? { key: keyName.get(b.subject.id)! } : undefined
            : { application: appName.get(b.subject.id)! };
      if (subject === undefined) {
        warnings.push(`budget ${slug}/${budgetName(b, state)}: its key is revoked or shares its name; left out`);
        return [];
      }
      return [{ subject, period: b.period, limit_tokens: b.limit_tokens, mode: b.mode }];
    }),
  };
}

function exportDeployment(project: string, d: api.Deployment) {
  const headers = Object.fromEntries(d.origin.header_names.map((h) => [h, { env: headerVariable(project, d.slug, h) }]));
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
