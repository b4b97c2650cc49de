/** What one project holds now, read once for planning (and for export): every list, every page. */
import { KeygateError, type ManagementClient, MAX_PAGE } from "../../sdk/index.ts";
import type * as api from "../../sdk/index.ts";

export interface ProjectState {
  /** undefined: the project does not exist (and every list is empty). */
  project: api.Project | undefined;
  deployments: api.Deployment[];
  applications: api.Application[];
  policies: api.Policy[];
  /** Revoked keys included (the API lists them); identity and prune look only at unrevoked ones. */
  keys: api.ApiKey[];
  budgets: api.Budget[];
}

const PAGE = { limit: MAX_PAGE };

export async function readState(client: ManagementClient, slug: string): Promise<ProjectState> {
  const kg = client.withProject(slug);
  let project: api.Project | undefined;
  try {
    project = await kg.projects.get(slug);
  } catch (err) {
    if (err instanceof KeygateError && err.code === "project_scope_mismatch") {
      // A management token is told the same about a project that exists and one that does not (keygate does not say
      // which): either way this token cannot manage it.
      throw new KeygateError({
        ...err,
        message: `project ${slug}: this management token belongs to another project. A token manages only its own project; another project, or a new one, needs the root ADMIN_TOKEN.`,
      });
    }
    if (!(err instanceof KeygateError && err.status === 404)) throw err;
  }
  if (project === undefined) return { project, deployments: [], applications: [], policies: [], keys: [], budgets: [] };
  const [deployments, applications, policies, keys, budgets] = await Promise.all([
    kg.deployments.list(PAGE).toArray(),
    kg.applications.list(PAGE).toArray(),
    kg.policies.list(PAGE).toArray(),
    kg.keys.list(PAGE).toArray(),
    kg.budgets.list(PAGE).toArray(),
  ]);
  return { project, deployments, applications, policies, keys, budgets };
}
