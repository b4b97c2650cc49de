/**
 * Schemas shared by the admin resources, and the error schemas generated from the one error union
 * (src/errors.ts), so the OpenAPI document cannot name a code the code never sends.
 */
import * as z from "zod";
import { PERMISSION_SETS } from "../authz/permission-sets";
import { ERROR_CODES, type ErrorCode } from "../errors";

export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const Slug = z.string().regex(SLUG_PATTERN, "must match ^[a-z0-9][a-z0-9-]{0,62}$");
export const Name = z.string().trim().min(1).max(200);
export const Description = z.string().max(2000);
export { Timestamp } from "../time-schema";

export const ProjectParams = z.object({ project: Slug });
export const DeploymentParams = ProjectParams.extend({ deployment: Slug });
/** A resource's id in a path: `/keys/{key_id}`. */
export const IdParam = z.string().regex(/^[a-z]{3}_[0-9a-z]{26}$/, "is not a valid id");

/** An id of one kind in a body or query (path parameters use IdParam): `key_…`, `app_…`. */
export const TypedId = (prefix: string, what: string) =>
  z.string().regex(new RegExp(`^${prefix}_[0-9a-z]{26}$`), `is not ${what} id`);
export const ApplicationId = TypedId("app", "an application");
export const PermissionSetField = z.enum(PERMISSION_SETS, { error: `must be one of ${PERMISSION_SETS.join(", ")}` });

export const MAX_PAGE_SIZE = 100;
export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(20).meta({ example: 20 }),
  cursor: z
    .string()
    .regex(/^[a-z]{3}_[0-9a-z]{26}$/, "is not a cursor this API returned")
    .optional()
    .meta({ description: "`next_cursor` of the previous page" }),
});

export function listSchema<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      object: z.literal("list"),
      data: z.array(item),
      has_more: z.boolean(),
      next_cursor: z.string().nullable(),
    })
    .meta({ id: name });
}

/**
 * A list response from `limit + 1` rows: the store fetches one more row than asked, so whether another page
 * exists is known without a count query.
 */
export function listBody<R extends { id: string }, V>(rows: R[], limit: number, view: (row: R) => V) {
  const hasMore = rows.length > limit;
  const data = hasMore ? rows.slice(0, limit) : rows;
  return {
    object: "list" as const,
    data: data.map(view),
    has_more: hasMore,
    next_cursor: hasMore ? (data.at(-1)?.id ?? null) : null,
  };
}

export const ErrorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
      param: z.string().nullable(),
    }),
  })
  .meta({ id: "Error" });

const jsonError = (description: string) => json(ErrorSchema, description);

/** The error responses every authenticated admin route can give. */
export const AUTH_ERRORS = {
  400: jsonError("Invalid request: `param` names the field."),
  401: jsonError("missing_api_key, invalid_api_key or expired_api_key."),
  403: jsonError("wrong_credential_type, project_scope_mismatch or scope_insufficient."),
  404: jsonError("Not found."),
  503: jsonError("store_unavailable: the store failed; nothing was changed."),
} as const;
export const CONFLICT_ERROR = { 409: jsonError("conflict: taken, or not allowed in the current state.") } as const;

/** A response of route.ts: a JSON document of `schema`. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, schema };
}

/** `?created_by=`: only what one actor created (an audit actor: `admin`, `access:<email>`, `token:<tok_…>`). */
export const CreatedByQuery = ListQuery.extend({
  created_by: z
    .string()
    .max(320)
    .regex(/^(admin|access:.+|token:tok_[0-9a-z]{26})$/, "must be an audit actor: admin, access:<who> or token:<tok_…>")
    .optional()
    .meta({ description: "Only what this audit actor created, e.g. `token:tok_…`", example: "token:tok_01jcz9x7k2m3n4p5q6r7s8t9v0" }),
});

/** The GET route of a paginated list: `limit` and `cursor` (and any filters of `query`) in the query, a page of `item`. */
export function listRoute<
  Params extends z.ZodObject,
  T extends z.ZodType,
  Q extends typeof ListQuery = typeof ListQuery,
>(route: { path: string; params: Params; item: T; listName: string; tags: readonly string[]; summary: string; query?: Q }) {
  return {
    method: "get",
    path: route.path,
    tags: route.tags,
    summary: route.summary,
    request: { param: route.params, query: (route.query ?? ListQuery) as Q },
    responses: { 200: json(listSchema(route.item, route.listName), "A page of results."), ...AUTH_ERRORS },
  } as const;
}

/**
 * A resource as its create (or roll) answers it: the resource, and its secret under `field`, shown this once. An
 * intersection rather than `.extend()`, so the document says just that ("an ApiKey, and its secret": an allOf of the
 * two) instead of repeating every field of the resource. Only ever a response, never parsed.
 */
export function withSecret<T extends z.ZodObject, F extends string>(resource: T, field: F, id: string) {
  const secret = z.object({ [field]: z.string().meta({ description: "The secret. Shown only in this response; store it now." }) });
  return z.intersection(resource, secret as z.ZodObject<Record<F, z.ZodString>>).meta({ id });
}

/** A certificate's SHA-256 fingerprint: 64 hex digits, colons allowed (as openssl prints it); stored lower-case, bare. */
export const Fingerprint = z
  .string()
  .max(128)
  .transform((f) => f.replaceAll(":", "").toLowerCase())
  .refine((f) => /^[0-9a-f]{64}$/.test(f), "must be a SHA-256 fingerprint: 64 hex digits (colons allowed)");
