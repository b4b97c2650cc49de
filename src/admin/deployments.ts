/** /admin/v1/projects/{project}/deployments — origins that keys can call. */
import * as z from "zod";
import type { Context } from "hono";
import type { AppBindings } from "../env";
import { ApiError } from "../errors";
import { DEFAULT_ALLOWED_PATHS, validateAllowedPath } from "../authz/paths";
import { MAX_REPORTED_TOKENS } from "../metering/usage";
import { newId } from "../secrets/ids";
import {
  deleteDeployment,
  getDeployment,
  insertDeployment,
  listDeployments,
  updateDeployment,
  type DeploymentFields,
  type DeploymentRow,
} from "../store/deployments";
import { isoNow } from "../time";
import { auditContext, orNotFound, projectFor, unlessTaken } from "./guard";
import { checkOriginHeaders, checkOriginUrl } from "../origin";
import { Routes } from "./route";
import {
  AUTH_ERRORS,
  CONFLICT_ERROR,
  DeploymentParams,
  Fingerprint,
  json,
  listBody,
  listRoute,
  Name,
  ProjectParams,
  Slug,
} from "./schemas";

export const Deployment = z
  .object({
    id: z.string(),
    object: z.literal("deployment"),
    project: z.string(),
    slug: z.string(),
    name: z.string(),
    origin: z.object({
      url: z.string(),
      header_names: z.array(z.string()).meta({ description: "Values are write-only and never shown." }),
      assertion: z.boolean().meta({ description: "Every forwarded request carries a signed Keygate-Assertion JWT." }),
    }),
    model: z.string().nullable(),
    allowed_paths: z.array(z.string()),
    auth_enabled: z.boolean().meta({ description: "The public endpoint's API-key auth toggle (endpoints.public.auth_enabled)." }),
    endpoints: z.object({
      public: z.object({ enabled: z.boolean(), auth_enabled: z.boolean() }),
      private: z.object({
        enabled: z.boolean(),
        auth_enabled: z.boolean(),
        client_cert_fingerprints: z.array(z.string()).nullable().meta({
          description: "SHA-256 fingerprints PRIVATE_HOSTNAME accepts for this deployment; null: any certificate the edge verified.",
        }),
      }),
    }),
    inject_stream_usage: z.boolean().meta({
      description: "Streamed chat and completions ask the origin for stream_options.include_usage (removed again from what the client gets), so their tokens are counted exactly.",
    }),
    default_max_tokens: z.number().int().nullable().meta({
      description: "What a hard budget reserves for the output of a request that names no max_tokens; null: keygate's default (4096).",
    }),
    url: z.string().meta({
      description: "The base URL clients call (the host form when ENDPOINT_HOST_SUFFIX is set); an OpenAI client's base_url is url + '/v1'.",
    }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "Deployment" });

const OriginHeaders = z.record(z.string(), z.string()).meta({ example: { Authorization: "Bearer origin-secret" } });
const Origin = z.strictObject({ url: z.string().max(2048), headers: OriginHeaders.optional(), assertion: z.boolean().optional() });
/** In a PATCH the URL may stay as it is (to turn the assertion on, say). */
const OriginPatch = Origin.extend({ url: z.string().max(2048).optional() });
const Endpoints = z.strictObject({
  public: z.strictObject({ enabled: z.boolean().optional(), auth_enabled: z.boolean().optional() }).optional(),
  private: z
    .strictObject({
      enabled: z.boolean().optional(),
      auth_enabled: z.boolean().optional(),
      client_cert_fingerprints: z
        .array(Fingerprint)
        .min(1, "must not be empty (omit it, or send null, to accept any certificate the edge verified)")
        .max(100)
        .nullable()
        .optional(),
    })
    .optional(),
});
const AllowedPaths = z.array(z.string().max(256)).max(64);
const Model = z.string().min(1).max(256);
const DefaultMaxTokens = z.number().int().min(1).max(MAX_REPORTED_TOKENS);

const CreateDeployment = z
  .strictObject({
    slug: Slug,
    name: Name.optional(),
    origin: Origin,
    model: Model.nullable().optional(),
    allowed_paths: AllowedPaths.optional(),
    auth_enabled: z.boolean().optional(),
    endpoints: Endpoints.optional(),
    inject_stream_usage: z.boolean().optional(),
    default_max_tokens: DefaultMaxTokens.nullable().optional(),
  })
  .meta({ id: "CreateDeployment" });

const UpdateDeployment = z
  .strictObject({
    name: Name.optional(),
    origin: OriginPatch.optional(),
    model: Model.nullable().optional(),
    allowed_paths: AllowedPaths.optional(),
    auth_enabled: z.boolean().optional(),
    endpoints: Endpoints.optional(),
    inject_stream_usage: z.boolean().optional(),
    default_max_tokens: DefaultMaxTokens.nullable().optional(),
  })
  .meta({ id: "UpdateDeployment" });

type EndpointFields = Pick<
  DeploymentRow,
  "auth_enabled" | "public_enabled" | "private_enabled" | "private_auth_enabled" | "client_cert_fingerprints"
>;

/**
 * The endpoint columns a create or PATCH body names, and only those (a PATCH writing back columns it did not name
 * from its earlier read could undo another admin's change made meanwhile, say turning an endpoint back on).
 * `auth_enabled` and `endpoints.public.auth_enabled` are one toggle: 400 when a body sets them apart. "At least one
 * endpoint enabled" is checked here against `current` for a clear 400, and again by the UPDATE itself against the
 * row it writes (store/deployments.ts).
 */
function endpointFields(
  body: { auth_enabled?: boolean; endpoints?: z.infer<typeof Endpoints> },
  current: EndpointFields,
): Partial<EndpointFields> {
  const pub = body.endpoints?.public;
  const priv = body.endpoints?.private;
  if (body.auth_enabled !== undefined && pub?.auth_enabled !== undefined && body.auth_enabled !== pub.auth_enabled) {
    throw new ApiError(
      "invalid_request",
      "Invalid 'endpoints.public.auth_enabled': it is the same toggle as 'auth_enabled', and the two disagree.",
      "endpoints.public.auth_enabled",
    );
  }
  const bit = (value: boolean | undefined) => (value === undefined ? undefined : value ? 1 : 0);
  const fields: Partial<EndpointFields> = {
    auth_enabled: bit(body.auth_enabled ?? pub?.auth_enabled),
    public_enabled: bit(pub?.enabled),
    private_enabled: bit(priv?.enabled),
    private_auth_enabled: bit(priv?.auth_enabled),
    client_cert_fingerprints:
      priv?.client_cert_fingerprints === undefined
        ? undefined
        : priv.client_cert_fingerprints === null
          ? null
          : JSON.stringify([...new Set(priv.client_cert_fingerprints)]),
  };
  if ((fields.public_enabled ?? current.public_enabled) === 0 && (fields.private_enabled ?? current.private_enabled) === 0) {
    throw NO_ENDPOINT;
  }
  return fields;
}

const NO_ENDPOINT = new ApiError("invalid_request", "Invalid 'endpoints': at least one endpoint must stay enabled.", "endpoints");

/** A new deployment's endpoints: public on, private off, auth on for both. */
const NEW_ENDPOINTS: EndpointFields = {
  auth_enabled: 1,
  public_enabled: 1,
  private_enabled: 0,
  private_auth_enabled: 1,
  client_cert_fingerprints: null,
};

/** Where clients call a deployment: the host form with ENDPOINT_HOST_SUFFIX set, else the path form on this host. */
type UrlOf = (projectSlug: string, deploymentSlug: string) => string;

export function deploymentView(row: DeploymentRow, projectSlug: string, urlOf: UrlOf): z.infer<typeof Deployment> {
  return {
    id: row.id,
    object: "deployment",
    project: projectSlug,
    slug: row.slug,
    name: row.name,
    origin: {
      url: row.origin_url,
      header_names: Object.keys(JSON.parse(row.origin_headers) as object),
      assertion: row.origin_assertion === 1,
    },
    model: row.model,
    allowed_paths: JSON.parse(row.allowed_paths) as string[],
    auth_enabled: row.auth_enabled === 1,
    endpoints: {
      public: { enabled: row.public_enabled === 1, auth_enabled: row.auth_enabled === 1 },
      private: {
        enabled: row.private_enabled === 1,
        auth_enabled: row.private_auth_enabled === 1,
        client_cert_fingerprints:
          row.client_cert_fingerprints === null ? null : (JSON.parse(row.client_cert_fingerprints) as string[]),
      },
    },
    inject_stream_usage: row.inject_stream_usage === 1,
    default_max_tokens: row.default_max_tokens,
    url: urlOf(projectSlug, row.slug),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** The fields that are set: a create lays them over the defaults. */
const definedOnly = <T extends object>(fields: T): Partial<T> =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;

/**
 * Both forms keep the scheme and port of the management request, so the `url` a local `npm start` shows
 * (`http://…:8787`) is one a client there can call, and a deployed keygate's is `https://…` on the default port.
 */
function workerBase(c: Context<AppBindings>): UrlOf {
  const suffix = c.get("config").endpointHostSuffix;
  const { origin, protocol, port } = new URL(c.req.url);
  if (suffix !== null) {
    const at = port === "" ? "" : `:${port}`;
    return (project, deployment) => `${protocol}//${deployment}.${project}.${suffix}${at}`;
  }
  return (project, deployment) => `${origin}/endpoint/${project}/${deployment}`;
}

function checkedOrigin(c: Context<AppBindings>, origin: z.infer<typeof Origin>) {
  const checked = checkOriginUrl(origin.url, c.get("config").allowPrivateOrigins);
  if ("error" in checked) throw new ApiError("invalid_request", `Invalid 'origin.url': ${checked.error}.`, "origin.url");
  const headers = origin.headers ?? {};
  const bad = checkOriginHeaders(headers);
  if (bad) throw new ApiError("invalid_request", `Invalid '${bad.param}': ${bad.error}.`, bad.param);
  return { url: checked.url, headers: JSON.stringify(headers) };
}

function checkedPaths(paths: string[]): string {
  for (const [i, entry] of paths.entries()) {
    const error = validateAllowedPath(entry);
    if (error) throw new ApiError("invalid_request", `Invalid 'allowed_paths[${i}]': ${error}.`, `allowed_paths[${i}]`);
  }
  return JSON.stringify([...new Set(paths)]);
}

export async function deploymentOrThrow(db: D1Database, projectId: string, slug: string): Promise<DeploymentRow> {
  return orNotFound(await getDeployment(db, projectId, slug), `No deployment '${slug}' in this project.`);
}

const tags = ["Deployments"];
export const deployments = new Routes();

deployments.add(
  {
    method: "post",
    path: "/projects/{project}/deployments",
    tags,
    summary: "Create a deployment",
    request: { param: ProjectParams, json: CreateDeployment },
    responses: { 201: json(Deployment, "The deployment."), ...AUTH_ERRORS, ...CONFLICT_ERROR },
  },
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "write");
    const body = c.req.valid("json");
    const origin = checkedOrigin(c, body.origin);
    const now = isoNow();
    const row: DeploymentRow = {
      id: newId("dep"),
      project_id: project.id,
      slug: body.slug,
      name: body.name ?? body.slug,
      origin_url: origin.url,
      origin_headers: origin.headers,
      model: body.model ?? null,
      allowed_paths: checkedPaths(body.allowed_paths ?? [...DEFAULT_ALLOWED_PATHS]),
      ...NEW_ENDPOINTS,
      ...definedOnly(endpointFields(body, NEW_ENDPOINTS)),
      origin_assertion: body.origin.assertion ? 1 : 0,
      inject_stream_usage: body.inject_stream_usage === false ? 0 : 1,
      default_max_tokens: body.default_max_tokens ?? null,
      created_at: now,
      updated_at: now,
    };
    const taken = `The deployment slug '${body.slug}' is taken in this project.`;
    await unlessTaken(insertDeployment(c.env.DB, row, auditContext(c, project.id)), taken, "slug");
    return c.json(deploymentView(row, project.slug, workerBase(c)), 201);
  },
);

deployments.add(
  listRoute({ path: "/projects/{project}/deployments", params: ProjectParams, item: Deployment, listName: "DeploymentList", tags, summary: "List deployments" }),
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "read");
    const { limit, cursor } = c.req.valid("query");
    const rows = await listDeployments(c.env.DB, project.id, cursor ?? null, limit + 1);
    const base = workerBase(c);
    return c.json(listBody(rows, limit, (row) => deploymentView(row, project.slug, base)), 200);
  },
);

const one = { path: "/projects/{project}/deployments/{deployment}", tags, request: { param: DeploymentParams } } as const;

deployments.add(
  { ...one, method: "get", summary: "Get a deployment", responses: { 200: json(Deployment, "The deployment."), ...AUTH_ERRORS } },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "read");
    const row = await deploymentOrThrow(c.env.DB, project.id, params.deployment);
    return c.json(deploymentView(row, project.slug, workerBase(c)), 200);
  },
);

deployments.add(
  {
    ...one,
    method: "patch",
    summary: "Update a deployment (the slug never changes; origin.headers must be resent when origin.url changes)",
    request: { ...one.request, json: UpdateDeployment },
    responses: { 200: json(Deployment, "The deployment."), ...AUTH_ERRORS },
  },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "write");
    const current = await deploymentOrThrow(c.env.DB, project.id, params.deployment);
    const patch = c.req.valid("json");
    const fields: DeploymentFields = {
      name: patch.name,
      model: patch.model,
      allowed_paths: patch.allowed_paths === undefined ? undefined : checkedPaths(patch.allowed_paths),
      ...endpointFields(patch, current),
      origin_assertion: patch.origin?.assertion === undefined ? undefined : patch.origin.assertion ? 1 : 0,
      inject_stream_usage: patch.inject_stream_usage === undefined ? undefined : patch.inject_stream_usage ? 1 : 0,
      default_max_tokens: patch.default_max_tokens,
    };
    if (patch.origin?.url !== undefined || patch.origin?.headers !== undefined) {
      const url = patch.origin.url ?? current.origin_url;
      // Header values are write-only; keeping them while the URL moves would send the origin's secret to a
      // new host the caller chose without ever proving they knew it.
      const keepsSecrets = patch.origin.headers === undefined && current.origin_headers !== "{}";
      const origin = checkedOrigin(c, { url, headers: patch.origin.headers ?? JSON.parse(current.origin_headers) });
      if (keepsSecrets && origin.url !== current.origin_url) {
        throw new ApiError("invalid_request", "Send 'origin.headers' again when 'origin.url' changes.", "origin.headers");
      }
      fields.origin_url = origin.url;
      fields.origin_headers = origin.headers;
    }
    if (!(await updateDeployment(c.env.DB, project.id, current.id, fields, isoNow(), auditContext(c, project.id)))) {
      // Nothing was written: the deployment is gone, or another write meanwhile left this one turning off the last
      // enabled endpoint.
      await deploymentOrThrow(c.env.DB, project.id, params.deployment);
      throw NO_ENDPOINT;
    }
    const next = await deploymentOrThrow(c.env.DB, project.id, params.deployment);
    return c.json(deploymentView(next, project.slug, workerBase(c)), 200);
  },
);

deployments.add(
  {
    ...one,
    method: "delete",
    summary: "Delete a deployment; it leaves every key's scopes and every policy rule",
    responses: { 200: json(Deployment, "The deleted deployment."), ...AUTH_ERRORS },
  },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "write");
    const row = await deploymentOrThrow(c.env.DB, project.id, params.deployment);
    await deleteDeployment(c.env.DB, project.id, row.id, auditContext(c, project.id));
    return c.json(deploymentView(row, project.slug, workerBase(c)), 200);
  },
);
