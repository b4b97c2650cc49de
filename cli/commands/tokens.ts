/**
 * keygate tokens list|get|create|revoke|delete. The API has no route to read or change one token: `get` finds it in
 * the list, and there is no `update` (revoke it and create another).
 */
import { type CreateManagementToken, KeygateError, type ManagementToken, MAX_PAGE } from "../../sdk/index.ts";
import { type Command, UsageError } from "../command.ts";
import type { Column } from "../output.ts";
import { args, confirmed, data, DATA_DETAILS, DATA_OPTIONS, defined, LIST_DETAILS, LIST_OPTIONS, oneOf, printWithSecret, rows, status, string, YES_OPTIONS } from "./common.ts";

const COLUMNS: Column<ManagementToken>[] = [
  { header: "ID", value: (t) => t.id },
  { header: "NAME", value: (t) => t.name },
  { header: "ROLE", value: (t) => t.role },
  { header: "START", value: (t) => t.start },
  { header: "STATUS", value: (t) => status(t) },
  { header: "EXPIRES", value: (t) => t.expires_at },
  { header: "CREATED BY", value: (t) => t.created_by },
];

const FIELDS: (keyof ManagementToken & string)[] = ["id", "name", "role", "start", "expires_at", "revoked_at", "created_at", "created_by"];

export const tokenCommands: Command[] = [
  {
    name: "tokens list",
    summary: "List the project's management tokens (revoked ones included)",
    usage: "[--created-by ACTOR] [--limit N]",
    details: `  --created-by ACTOR   only what this actor created: admin, token:tok_…, access:<who>\n${LIST_DETAILS}`,
    options: { ...LIST_OPTIONS, "created-by": { type: "string" } },
    async run({ client, out }, { positionals, values }) {
      args(positionals);
      const filter = defined({ created_by: string(values, "created-by") });
      out.list(await rows(values, (query) => client().tokens.list({ ...query, ...filter })), COLUMNS);
    },
  },
  {
    name: "tokens get",
    summary: "Show one management token (found in the list: the API has no route for one token)",
    usage: "<token_id>",
    async run({ client, out }, { positionals }) {
      const { token_id } = args(positionals, "token_id");
      for await (const token of client().tokens.list({ limit: MAX_PAGE })) {
        if (token.id === token_id) return out.object(token, FIELDS);
      }
      // The error the API gives for an unknown id elsewhere, so scripts see one code (exit 1, not_found).
      throw new KeygateError({ status: 0, type: "invalid_request_error", code: "not_found", param: "token_id", message: `No management token ${token_id} in project ${client().project}.` });
    },
  },
  {
    name: "tokens create",
    summary: "Create an ik_sdk_ management token for this project; its secret is printed this once",
    usage: "--name NAME --role full|read_only [--expires-at TIME] [--data JSON]",
    details: `  --name NAME          what it is for
  --role ROLE          full (may write) or read_only (GET routes and explain)
  --expires-at TIME    RFC 3339; a token made by a token expires no later than its maker (the default)
${DATA_DETAILS}

There is no tokens update: the API cannot change a token. Revoke it and create another.

Example:
  keygate tokens create --name dashboards --role read_only --json | jq -r .token`,
    options: { name: { type: "string" }, role: { type: "string" }, "expires-at": { type: "string" }, ...DATA_OPTIONS },
    async run({ client, out }, { positionals, values }) {
      args(positionals);
      const body = {
        ...data(values),
        ...defined({ name: string(values, "name"), role: oneOf(values, "role", ["full", "read_only"] as const), expires_at: string(values, "expires-at") }),
      };
      if (body.name === undefined) throw new UsageError("missing --name");
      if (body.role === undefined) throw new UsageError("missing --role (full or read_only)");
      printWithSecret(out, await client().tokens.create(body as CreateManagementToken), "token", FIELDS);
    },
  },
  {
    name: "tokens revoke",
    summary: "Revoke a management token and every token it created; the next request with any of them gets 401",
    usage: "<token_id>",
    details: "Keys the token made stay valid: find them with `keygate keys list --created-by token:<token_id>`.",
    async run({ client, out }, { positionals }) {
      out.object(await client().tokens.revoke(args(positionals, "token_id").token_id), FIELDS);
    },
  },
  {
    name: "tokens delete",
    summary: "Same as tokens revoke, with --yes like other deletes",
    usage: "<token_id> --yes",
    options: YES_OPTIONS,
    async run({ client, out }, { positionals, values }) {
      const { token_id } = args(positionals, "token_id");
      confirmed(values, `deleting token ${token_id} revokes it and every token it created`);
      out.object(await client().tokens.revoke(token_id), FIELDS);
    },
  },
];
