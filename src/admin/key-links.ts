/**
 * /admin/v1/projects/{project}/deployments/{deployment}/keys — the links seen from the deployment's side.
 * Linking or unlinking edits the key's scopes; a key that covers the deployment only through "{project}/*"
 * cannot be unlinked from one deployment (409): narrow its scopes instead.
 */
import type { Context } from "hono";
import type { AppBindings } from "../env";
import { ApiError } from "../errors";
import { deploymentOrThrow } from "./deployments";
import { linkKey, listKeysCovering, unlinkKey } from "../store/keys";
import { auditContext, projectFor, type Access } from "./guard";
import { ApiKey, keyOrThrow, keyView } from "./keys";
import { Routes } from "./route";
import { AUTH_ERRORS, CONFLICT_ERROR, DeploymentParams, IdParam, json, listBody, listRoute } from "./schemas";
import { scopesOf } from "./scopes";

async function projectAndDeployment(c: Context<AppBindings>, params: { project: string; deployment: string }, access: Access) {
  const project = await projectFor(c, params.project, access);
  return { project, deployment: await deploymentOrThrow(c.env.DB, project.id, params.deployment) };
}

const tags = ["Deployment keys"];
const LinkParams = DeploymentParams.extend({ key_id: IdParam });
export const keyLinks = new Routes();

keyLinks.add(
  listRoute({
    path: "/projects/{project}/deployments/{deployment}/keys",
    params: DeploymentParams,
    item: ApiKey,
    listName: "DeploymentKeyList",
    tags,
    summary: "List the keys whose scopes cover this deployment",
  }),
  async (c) => {
    const { project, deployment } = await projectAndDeployment(c, c.req.valid("param"), "read");
    const { limit, cursor } = c.req.valid("query");
    const rows = await listKeysCovering(c.env.DB, project.id, deployment.id, cursor ?? null, limit + 1);
    return c.json(listBody(rows, limit, (row) => keyView(row, project.slug)), 200);
  },
);

const one = {
  path: "/projects/{project}/deployments/{deployment}/keys/{key_id}",
  tags,
  request: { param: LinkParams },
} as const;

keyLinks.add(
  {
    ...one,
    method: "put",
    summary: "Link a key to this deployment (adds the deployment to the key's scopes; 409 for an application key)",
    responses: { 200: json(ApiKey, "The key."), ...AUTH_ERRORS, ...CONFLICT_ERROR },
  },
  async (c) => {
    const params = c.req.valid("param");
    const { project, deployment } = await projectAndDeployment(c, params, "write");
    const key = await keyOrThrow(c.env.DB, project, params.key_id);
    if (key.application_id !== null) {
      throw new ApiError(
        "conflict",
        `This key belongs to application '${key.application_id}' and has no scopes of its own; add the deployment to a rule of its policies.`,
      );
    }
    await linkKey(c.env.DB, project.id, key.id, deployment.id, auditContext(c, project.id));
    return c.json(keyView(await keyOrThrow(c.env.DB, project, key.id), project.slug), 200);
  },
);

keyLinks.add(
  {
    ...one,
    method: "delete",
    summary: "Unlink a key from this deployment (removes it from the key's scopes)",
    responses: { 200: json(ApiKey, "The key."), ...AUTH_ERRORS, ...CONFLICT_ERROR },
  },
  async (c) => {
    const params = c.req.valid("param");
    const { project, deployment } = await projectAndDeployment(c, params, "write");
    const key = await keyOrThrow(c.env.DB, project, params.key_id);
    const linked = scopesOf(key, project.slug).includes(`${project.slug}/${deployment.slug}`);
    if (!linked && key.all_deployments === 1) {
      throw new ApiError(
        "conflict",
        `This key covers every deployment through '${project.slug}/*'; change its scopes to exclude one deployment.`,
      );
    }
    if (!linked) throw new ApiError("not_found", "This key is not linked to this deployment.");
    await unlinkKey(c.env.DB, project.id, key.id, deployment.id, auditContext(c, project.id));
    return c.json(keyView(await keyOrThrow(c.env.DB, project, key.id), project.slug), 200);
  },
);
