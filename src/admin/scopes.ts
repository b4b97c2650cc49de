/**
 * A key's scopes on the wire are strings: "{project}/{deployment}" or "{project}/*". In the store they are
 * relational (all_deployments + link rows), so a scope can only ever name an existing deployment of the key's
 * own project, and a deleted deployment leaves every key's scopes by itself.
 */
import { ApiError } from "../errors";
import { getDeploymentsBySlugs } from "../store/deployments";
import type { KeyWithLinks } from "../store/keys";
import type { ProjectRow } from "../store/projects";

export const MAX_SCOPES = 256;

export interface ResolvedScopes {
  allDeployments: boolean;
  deploymentIds: string[];
}

export async function resolveScopes(db: D1Database, project: ProjectRow, scopes: string[]): Promise<ResolvedScopes> {
  let allDeployments = false;
  const params = new Map<string, string>();
  for (const [i, scope] of scopes.entries()) {
    const slash = scope.indexOf("/");
    const owner = slash < 0 ? "" : scope.slice(0, slash);
    const target = slash < 0 ? "" : scope.slice(slash + 1);
    if (owner !== project.slug || target === "") {
      throw new ApiError(
        "invalid_request",
        `Invalid 'scopes[${i}]': a scope is '${project.slug}/<deployment>' or '${project.slug}/*'.`,
        `scopes[${i}]`,
      );
    }
    if (target === "*") allDeployments = true;
    else if (!params.has(target)) params.set(target, `scopes[${i}]`);
  }
  return { allDeployments, deploymentIds: [...(await resolveDeployments(db, project, params)).values()] };
}

/**
 * Deployment slugs of the project → their ids, in one query. `params` maps each slug to the field that named it
 * (`scopes[2]`, `rules[0].deployments[1]`): an unknown slug, or one of another project, is a 400 naming that field.
 */
export async function resolveDeployments(
  db: D1Database,
  project: ProjectRow,
  params: ReadonlyMap<string, string>,
): Promise<Map<string, string>> {
  const found = await getDeploymentsBySlugs(db, project.id, [...params.keys()]);
  const idsBySlug = new Map(found.map((d) => [d.slug, d.id]));
  for (const [slug, param] of params) {
    if (!idsBySlug.has(slug)) {
      throw new ApiError("invalid_request", `Invalid '${param}': no deployment '${slug}' in this project.`, param);
    }
  }
  return idsBySlug;
}

export function scopesOf(row: Pick<KeyWithLinks, "all_deployments" | "linked_slugs">, projectSlug: string): string[] {
  const linked = (JSON.parse(row.linked_slugs) as (string | null)[]).filter((s): s is string => s !== null).sort();
  return [...(row.all_deployments === 1 ? [`${projectSlug}/*`] : []), ...linked.map((slug) => `${projectSlug}/${slug}`)];
}
