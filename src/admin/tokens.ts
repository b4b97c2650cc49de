/**
 * /admin/v1/projects/{project}/tokens — management tokens (ik_sdk_…), bound to one project.
 * A token never mints a token broader than itself: a read-only token cannot write at all, and a token's
 * children cannot outlive it.
 */
import * as z from "zod";
import { ApiError } from "../errors";
import { generateSecret, startOf } from "../secrets/format";
import { hashSecret } from "../secrets/hash";
import { newId } from "../secrets/ids";
import { getToken, insertToken, listTokens, revokeToken, type TokenRow } from "../store/tokens";
import { isoNow } from "../time";
import { auditContext, orNotFound, projectFor, revokedView } from "./guard";
import { Routes } from "./route";
import { AUTH_ERRORS, CreatedByQuery, IdParam, json, listBody, listRoute, Name, ProjectParams, Timestamp, withSecret } from "./schemas";

export const Token = z
  .object({
    id: z.string(),
    object: z.literal("management_token"),
    project: z.string(),
    name: z.string(),
    role: z.enum(["full", "read_only"]),
    start: z.string(),
    expires_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    created_at: z.string(),
    created_by: z.string().nullable().meta({ description: "The audit actor that created it (null for one made before this was recorded)." }),
  })
  .meta({ id: "ManagementToken" });
const TokenWithSecret = withSecret(Token, "token", "ManagementTokenWithSecret");

const CreateToken = z
  .strictObject({ name: Name, role: z.enum(["full", "read_only"]), expires_at: Timestamp.nullable().optional() })
  .meta({ id: "CreateManagementToken" });

function tokenView(row: TokenRow, projectSlug: string): z.infer<typeof Token> {
  return {
    id: row.id,
    object: "management_token",
    project: projectSlug,
    name: row.name,
    role: row.role,
    start: row.start,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    created_at: row.created_at,
    created_by: row.created_by,
  };
}

async function tokenOrThrow(db: D1Database, projectId: string, tokenId: string): Promise<TokenRow> {
  return orNotFound(await getToken(db, projectId, tokenId), `No token '${tokenId}' in this project.`);
}

const tags = ["Management tokens"];
export const tokens = new Routes();

tokens.add(
  {
    method: "post",
    path: "/projects/{project}/tokens",
    tags,
    summary: "Create a management token (the secret `token` is in this response only)",
    request: { param: ProjectParams, json: CreateToken },
    responses: { 201: json(TokenWithSecret, "The token, with its secret."), ...AUTH_ERRORS },
  },
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "write");
    const body = c.req.valid("json");
    let expiresAt = body.expires_at ?? null;
    const principal = c.get("principal");
    if (principal.kind === "token" && principal.expiresAt !== null) {
      // Omitted: the child inherits its parent's expiry. Later than the parent's, or `null` (never): refused, not
      // silently cut.
      if (body.expires_at === undefined) expiresAt = principal.expiresAt;
      else if (expiresAt === null || Date.parse(expiresAt) > Date.parse(principal.expiresAt)) {
        throw new ApiError("scope_insufficient", "A token cannot create a token that outlives it.", "expires_at");
      }
    }
    const secret = generateSecret("management_token");
    const row: TokenRow = {
      id: newId("tok"),
      project_id: project.id,
      name: body.name,
      role: body.role,
      start: startOf(secret),
      expires_at: expiresAt,
      revoked_at: null,
      created_at: isoNow(),
      created_by: principal.actor,
    };
    const inserted = await insertToken(c.env.DB, row, await hashSecret(secret, c.get("config").keyPepper), auditContext(c, project.id));
    // The token making this request was revoked while it ran: its children go with it, so this one is not made.
    if (!inserted) throw new ApiError("invalid_api_key");
    return c.json({ ...tokenView(row, project.slug), token: secret }, 201);
  },
);

tokens.add(
  listRoute({
    path: "/projects/{project}/tokens",
    params: ProjectParams,
    query: CreatedByQuery,
    item: Token,
    listName: "ManagementTokenList",
    tags,
    summary: "List management tokens (`created_by` finds what one token made)",
  }),
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "read");
    const { limit, cursor, created_by } = c.req.valid("query");
    const rows = await listTokens(c.env.DB, project.id, cursor ?? null, limit + 1, created_by ?? null);
    return c.json(listBody(rows, limit, (row) => tokenView(row, project.slug)), 200);
  },
);

tokens.add(
  {
    method: "delete",
    path: "/projects/{project}/tokens/{token_id}",
    tags,
    summary: "Revoke a management token, and every token it created (transitively)",
    request: { param: ProjectParams.extend({ token_id: IdParam }) },
    responses: { 200: json(Token, "The revoked token."), ...AUTH_ERRORS },
  },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "write");
    const current = await tokenOrThrow(c.env.DB, project.id, params.token_id);
    const row = await revokedView(
      current,
      (at) => revokeToken(c.env.DB, project.id, current.id, at, auditContext(c, project.id)),
      () => tokenOrThrow(c.env.DB, project.id, current.id),
    );
    return c.json(tokenView(row, project.slug), 200);
  },
);
