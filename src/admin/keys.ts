/** /admin/v1/projects/{project}/keys — data-plane API keys (ik_live_…). The secret is shown once. */
import * as z from "zod";
import { ConditionsSchema, type Conditions } from "../authz/conditions-schema";
import { DEFAULT_PERMISSION_SET, PERMISSION_SETS } from "../authz/permission-sets";
import { ApiError } from "../errors";
import { generateSecret, startOf } from "../secrets/format";
import { hashSecret } from "../secrets/hash";
import { newId } from "../secrets/ids";
import {
  getKey,
  insertKey,
  listKeys,
  revokeKey,
  rollKey,
  updateKey,
  type KeyFields,
  type KeyRow,
  type KeyWithLinks,
} from "../store/keys";
import { getApplication } from "../store/applications";
import type { ProjectRow } from "../store/projects";
import { isoNow } from "../time";
import { auditContext, orNotFound, projectFor, revokedView } from "./guard";
import { Routes } from "./route";
import {
  ApplicationId,
  AUTH_ERRORS,
  CONFLICT_ERROR,
  CreatedByQuery,
  Description,
  IdParam,
  json,
  listBody,
  listRoute,
  Name,
  PermissionSetField,
  ProjectParams,
  Timestamp,
  withSecret,
} from "./schemas";
import { MAX_SCOPES, resolveScopes, scopesOf } from "./scopes";

export const ApiKey = z
  .object({
    id: z.string(),
    object: z.literal("api_key"),
    project: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    start: z.string().meta({ description: "The first 12 characters of the secret." }),
    scopes: z.array(z.string()).meta({ example: ["acme/llama", "acme/*"], description: "Always [] for an application key." }),
    application_id: z.string().nullable().meta({ description: "The application the key was made for; null for a standalone key." }),
    permission_set: z
      .enum(PERMISSION_SETS)
      .nullable()
      .meta({ description: "A standalone key's permission set; null for an application key (its rules carry theirs)." }),
    conditions: ConditionsSchema,
    expires_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    last_used_at: z.string().nullable().meta({ description: "Reflects a use within 10 s (writes are coalesced)." }),
    request_count: z.number().int().meta({ description: "Allowed requests, counted like last_used_at." }),
    created_at: z.string(),
    created_by: z.string().nullable().meta({ description: "The audit actor that created it (null for one made before this was recorded)." }),
  })
  .meta({ id: "ApiKey" });
const ApiKeyWithSecret = withSecret(ApiKey, "key", "ApiKeyWithSecret");

const Scopes = z.array(z.string().max(200)).max(MAX_SCOPES);
const CreateKey = z
  .strictObject({
    name: Name,
    description: Description.optional(),
    expires_at: Timestamp.nullable().optional(),
    scopes: Scopes.optional().meta({ description: "Required for a standalone key; absent for an application key." }),
    application_id: ApplicationId.optional().meta({ description: "Make the key for this application: it inherits its policies." }),
    permission_set: PermissionSetField.optional().meta({ description: "A standalone key's (default InferenceFullAccess)." }),
    conditions: ConditionsSchema.nullable().optional(),
  })
  .superRefine((body, ctx) => {
    if (body.application_id !== undefined) {
      const why = "the key inherits its application's policies";
      if (body.scopes !== undefined) ctx.addIssue({ code: "custom", path: ["scopes"], message: `must be absent when application_id is set (${why})` });
      if (body.permission_set !== undefined) {
        ctx.addIssue({ code: "custom", path: ["permission_set"], message: `must be absent when application_id is set (${why})` });
      }
    } else if (body.scopes === undefined) {
      ctx.addIssue({ code: "custom", path: ["scopes"], message: "is required for a standalone key (or set application_id)" });
    }
  })
  .meta({ id: "CreateApiKey" });
const UpdateKey = z
  .strictObject({
    name: Name.optional(),
    description: Description.nullable().optional(),
    expires_at: Timestamp.nullable().optional(),
    scopes: Scopes.optional().meta({ description: "Standalone keys only." }),
    permission_set: PermissionSetField.optional().meta({ description: "Standalone keys only." }),
    conditions: ConditionsSchema.nullable().optional(),
  })
  .meta({ id: "UpdateApiKey" });
export const MAX_GRACE_SECONDS = 7 * 24 * 3600;
const RollKey = z
  .strictObject({ grace_seconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).optional() })
  .meta({ id: "RollApiKey" });

export function keyView(row: KeyWithLinks, projectSlug: string): z.infer<typeof ApiKey> {
  return {
    id: row.id,
    object: "api_key",
    project: projectSlug,
    name: row.name,
    description: row.description,
    start: row.start,
    scopes: scopesOf(row, projectSlug),
    conditions: JSON.parse(row.conditions) as Conditions,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    last_used_at: row.last_used_at,
    request_count: row.request_count,
    created_at: row.created_at,
    created_by: row.created_by,
    application_id: row.application_id,
    permission_set: row.permission_set,
  };
}

/** An application key's access is its application's: scopes and a permission set of its own would be ignored. */
function refuseOnApplicationKey(key: KeyRow, patch: { scopes?: unknown; permission_set?: unknown }): void {
  for (const field of ["scopes", "permission_set"] as const) {
    if (patch[field] !== undefined && key.application_id !== null) {
      throw new ApiError(
        "invalid_request",
        `Invalid '${field}': this key belongs to application '${key.application_id}'; edit that application's policies instead.`,
        field,
      );
    }
  }
}

/** Validated and canonical already (the schema's output); absent or null is no condition. */
const storedConditions = (conditions: Conditions | null | undefined): string => JSON.stringify(conditions ?? {});

export async function keyOrThrow(db: D1Database, project: ProjectRow, keyId: string): Promise<KeyWithLinks> {
  return orNotFound(await getKey(db, project.id, keyId), `No key '${keyId}' in this project.`);
}

const tags = ["API keys"];
const KeyParams = ProjectParams.extend({ key_id: IdParam });
export const keys = new Routes();

keys.add(
  {
    method: "post",
    path: "/projects/{project}/keys",
    tags,
    summary: "Create an API key (the secret `key` is in this response only)",
    request: { param: ProjectParams, json: CreateKey },
    responses: { 201: json(ApiKeyWithSecret, "The key, with its secret."), ...AUTH_ERRORS },
  },
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "write");
    const body = c.req.valid("json");
    const conditions = storedConditions(body.conditions);
    const applicationId = body.application_id ?? null;
    const unknownApplication = () =>
      new ApiError("invalid_request", `Invalid 'application_id': no application '${applicationId}' in this project.`, "application_id");
    if (applicationId !== null && (await getApplication(c.env.DB, project.id, applicationId)) === null) throw unknownApplication();
    const scopes = await resolveScopes(c.env.DB, project, body.scopes ?? []);
    const secret = generateSecret("api_key");
    const row: KeyRow = {
      id: newId("key"),
      project_id: project.id,
      name: body.name,
      description: body.description ?? null,
      start: startOf(secret),
      all_deployments: scopes.allDeployments ? 1 : 0,
      conditions,
      expires_at: body.expires_at ?? null,
      revoked_at: null,
      last_used_at: null,
      request_count: 0,
      created_at: isoNow(),
      created_by: c.get("principal").actor,
      application_id: applicationId,
      permission_set: applicationId === null ? (body.permission_set ?? DEFAULT_PERMISSION_SET) : null,
    };
    const hash = await hashSecret(secret, c.get("config").keyPepper);
    if (!(await insertKey(c.env.DB, row, hash, scopes.deploymentIds, auditContext(c, project.id)))) throw unknownApplication();
    return c.json({ ...keyView(await keyOrThrow(c.env.DB, project, row.id), project.slug), key: secret }, 201);
  },
);

keys.add(
  listRoute({
    path: "/projects/{project}/keys",
    params: ProjectParams,
    query: CreatedByQuery.extend({
      application_id: ApplicationId.optional().meta({ description: "Only the keys made for this application" }),
    }),
    item: ApiKey,
    listName: "ApiKeyList",
    tags,
    summary: "List API keys (`created_by` finds what one token made; `application_id` an application's keys)",
  }),
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "read");
    const { limit, cursor, created_by, application_id } = c.req.valid("query");
    const filter = { createdBy: created_by ?? null, applicationId: application_id ?? null };
    const rows = await listKeys(c.env.DB, project.id, cursor ?? null, limit + 1, filter);
    return c.json(listBody(rows, limit, (row) => keyView(row, project.slug)), 200);
  },
);

const one = { path: "/projects/{project}/keys/{key_id}", tags, request: { param: KeyParams } } as const;

keys.add(
  { ...one, method: "get", summary: "Get an API key", responses: { 200: json(ApiKey, "The key."), ...AUTH_ERRORS } },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "read");
    return c.json(keyView(await keyOrThrow(c.env.DB, project, params.key_id), project.slug), 200);
  },
);

keys.add(
  {
    ...one,
    method: "patch",
    summary: "Update an API key (scopes and conditions are replaced as a whole)",
    request: { ...one.request, json: UpdateKey },
    responses: { 200: json(ApiKey, "The key."), ...AUTH_ERRORS },
  },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "write");
    const current = await keyOrThrow(c.env.DB, project, params.key_id);
    const patch = c.req.valid("json");
    refuseOnApplicationKey(current, patch);
    const fields: KeyFields = {
      name: patch.name,
      description: patch.description,
      expires_at: patch.expires_at,
      permission_set: patch.permission_set,
      conditions: patch.conditions === undefined ? undefined : storedConditions(patch.conditions),
    };
    let deploymentIds: string[] | null = null;
    if (patch.scopes !== undefined) {
      const scopes = await resolveScopes(c.env.DB, project, patch.scopes);
      fields.all_deployments = scopes.allDeployments ? 1 : 0;
      deploymentIds = scopes.deploymentIds;
    }
    await updateKey(c.env.DB, project.id, current.id, fields, deploymentIds, auditContext(c, project.id));
    return c.json(keyView(await keyOrThrow(c.env.DB, project, current.id), project.slug), 200);
  },
);

keys.add(
  {
    ...one,
    method: "delete",
    summary: "Revoke an API key (the next request with it gets 401)",
    responses: { 200: json(ApiKey, "The revoked key."), ...AUTH_ERRORS },
  },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "write");
    const current = await keyOrThrow(c.env.DB, project, params.key_id);
    // Marked as a write even when the key is already revoked: a retried revoke answers only once the first one's
    // wait is over too, so its answer also means "in effect everywhere".
    const audit = auditContext(c, project.id);
    const row = await revokedView(
      current,
      (at) => revokeKey(c.env.DB, project.id, current.id, at, audit),
      () => keyOrThrow(c.env.DB, project, current.id),
    );
    return c.json(keyView(row, project.slug), 200);
  },
);

keys.add(
  {
    method: "post",
    path: "/projects/{project}/keys/{key_id}/roll",
    tags,
    summary: "Roll an API key: a new secret now, the old one working for grace_seconds more (never past expiry)",
    request: { param: KeyParams, json: RollKey },
    responses: { 201: json(ApiKeyWithSecret, "The key, with its new secret."), ...AUTH_ERRORS, ...CONFLICT_ERROR },
  },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "write");
    const current = await keyOrThrow(c.env.DB, project, params.key_id);
    const revoked = new ApiError("conflict", "A revoked key cannot be rolled; create a new key.");
    if (current.revoked_at !== null) throw revoked;
    const grace = c.req.valid("json").grace_seconds ?? 0;
    const now = Date.now();
    const secret = generateSecret("api_key");
    const retireAt = grace > 0 ? isoNow(now + grace * 1000) : null;
    const rolled = await rollKey(
      c.env.DB,
      project.id,
      current.id,
      await hashSecret(secret, c.get("config").keyPepper),
      startOf(secret),
      isoNow(now),
      retireAt,
      auditContext(c, project.id),
    );
    if (!rolled) throw revoked;
    return c.json({ ...keyView(await keyOrThrow(c.env.DB, project, current.id), project.slug), key: secret }, 201);
  },
);
