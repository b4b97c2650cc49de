/** keygate keys list|get|create|update|delete|roll|revoke|link|unlink */
import type { ApiKey, Conditions, CreateApiKey, UpdateApiKey } from "../../sdk/index.ts";
import { type Command, type Parsed, UsageError } from "../command.ts";
import type { Column } from "../output.ts";
import {
  args, changes, confirmed, data, DATA_DETAILS, DATA_OPTIONS, defined, list, LIST_DETAILS, LIST_OPTIONS, oneOf,
  positiveInteger, printWithSecret, rows, status, string, YES_OPTIONS,
} from "./common.ts";

export const KEY_COLUMNS: Column<ApiKey>[] = [
  { header: "ID", value: (k) => k.id },
  { header: "NAME", value: (k) => k.name },
  { header: "START", value: (k) => k.start },
  { header: "SCOPES / APPLICATION", value: (k) => k.application_id ?? k.scopes },
  { header: "STATUS", value: (k) => status(k) },
  { header: "LAST USED", value: (k) => k.last_used_at },
  { header: "REQUESTS", value: (k) => k.request_count },
];

const FIELDS: (keyof ApiKey & string)[] = [
  "id", "name", "description", "start", "scopes", "application_id", "permission_set", "conditions", "expires_at",
  "revoked_at", "last_used_at", "request_count", "created_at", "created_by",
];

const PERMISSION_SETS = ["InferenceFullAccess", "InferenceReadOnly"] as const;

/** `--scope chat` is this project's deployment; `other/x` and `demo/*` pass as they are. */
function scopes(values: Parsed["values"], project: () => string): string[] | undefined {
  return list(values, "scope")?.map((scope) => (scope.includes("/") ? scope : `${project()}/${scope}`));
}

/** The flag-made conditions; they replace the key's conditions as a whole (use --data for the other kinds). */
function conditions(values: Parsed["values"]): Conditions | undefined {
  const made = defined({ ip_allow: list(values, "ip-allow"), ip_deny: list(values, "ip-deny") });
  return Object.keys(made).length > 0 ? made : undefined;
}

function expiresAt(values: Parsed["values"]): string | null | undefined {
  if (values["expires-at"] !== undefined && values["no-expiry"]) throw new UsageError("--expires-at and --no-expiry contradict each other");
  return values["no-expiry"] ? null : string(values, "expires-at");
}

const SHARED_OPTIONS = {
  name: { type: "string" },
  description: { type: "string" },
  scope: { type: "string", multiple: true },
  "permission-set": { type: "string" },
  "expires-at": { type: "string" },
  "ip-allow": { type: "string", multiple: true },
  "ip-deny": { type: "string", multiple: true },
  ...DATA_OPTIONS,
} as const;

const SHARED_DETAILS = `  --name NAME              the key's name
  --description TEXT
  --scope S                a deployment the key reaches: its slug, <project>/<deployment>, or <project>/* for every
                           deployment, also later ones (repeatable)
  --permission-set SET     InferenceFullAccess (default) or InferenceReadOnly (model listing only)
  --expires-at TIME        RFC 3339, e.g. 2027-01-01T00:00:00Z
  --ip-allow CIDR          only from these addresses (repeatable); --ip-deny CIDR: never from these
${DATA_DETAILS}`;

const ROLL_OPTIONS = { "grace-seconds": { type: "string" } } as const;

export const keyCommands: Command[] = [
  {
    name: "keys list",
    summary: "List the project's API keys (revoked ones included)",
    usage: "[--application APP_ID] [--created-by ACTOR] [--limit N]",
    details: `  --application APP_ID   only the keys made for this application
  --created-by ACTOR     only what this actor created: admin, token:tok_…, access:<who>
${LIST_DETAILS}`,
    options: { ...LIST_OPTIONS, application: { type: "string" }, "created-by": { type: "string" } },
    async run({ client, out }, { positionals, values }) {
      args(positionals);
      const filter = defined({ application_id: string(values, "application"), created_by: string(values, "created-by") });
      out.list(await rows(values, (query) => client().keys.list({ ...query, ...filter })), KEY_COLUMNS);
    },
  },
  {
    name: "keys get",
    summary: "Show one API key (never its secret: keygate keeps only a hash)",
    usage: "<key_id>",
    async run({ client, out }, { positionals }) {
      out.object(await client().keys.get(args(positionals, "key_id").key_id), FIELDS);
    },
  },
  {
    name: "keys create",
    summary: "Create an API key; its secret is printed this once",
    usage: "--name NAME (--scope S… | --application APP_ID) [--permission-set SET] [--expires-at TIME] [--description TEXT] [--ip-allow CIDR]… [--ip-deny CIDR]… [--data JSON]",
    details: `${SHARED_DETAILS}
  --application APP_ID     make an application key instead: it gets what the application's policies grant

Examples:
  keygate keys create --name ci --scope chat
  keygate keys create --name backend --application app_… --json | jq -r .key`,
    options: { ...SHARED_OPTIONS, application: { type: "string" } },
    async run({ client, out }, { positionals, values }) {
      args(positionals);
      const body = {
        ...data(values),
        ...defined({
          name: string(values, "name"),
          description: string(values, "description"),
          scopes: scopes(values, () => client().project),
          application_id: string(values, "application"),
          permission_set: oneOf(values, "permission-set", PERMISSION_SETS),
          expires_at: expiresAt(values),
          conditions: conditions(values),
        }),
      };
      if (body.name === undefined) throw new UsageError("missing --name");
      if (body.scopes === undefined && body.application_id === undefined) throw new UsageError("give --scope (repeatable) or --application");
      printWithSecret(out, await client().keys.create(body as CreateApiKey), "key", FIELDS);
    },
  },
  {
    name: "keys update",
    summary: "Change a key's name, description, expiry, scopes, permission set or conditions",
    usage: "<key_id> [--name N] [--description D] [--expires-at TIME | --no-expiry] [--scope S]… [--permission-set SET] [--ip-allow CIDR]… [--data JSON]",
    details: `${SHARED_DETAILS}
  --no-expiry              the key never expires

--scope replaces every scope, and --ip-allow / --ip-deny replace all the key's conditions (other kinds included):
send the whole set. For one deployment more or less, \`keygate keys link|unlink\` is simpler.`,
    options: { ...SHARED_OPTIONS, "no-expiry": { type: "boolean" } },
    async run({ client, out }, { positionals, values }) {
      const { key_id } = args(positionals, "key_id");
      const body = changes({
        ...data(values),
        ...defined({
          name: string(values, "name"),
          description: string(values, "description"),
          scopes: scopes(values, () => client().project),
          permission_set: oneOf(values, "permission-set", PERMISSION_SETS),
          expires_at: expiresAt(values),
          conditions: conditions(values),
        }),
      }, "a flag");
      out.object(await client().keys.update(key_id, body as UpdateApiKey), FIELDS);
    },
  },
  {
    name: "keys revoke",
    summary: "Revoke a key: the very next request with it gets 401 (revoking twice is harmless)",
    usage: "<key_id>",
    details: "Revocation is the emergency stop, so it asks for no --yes. `keygate keys delete` is the same call.",
    async run({ client, out }, { positionals }) {
      out.object(await client().keys.revoke(args(positionals, "key_id").key_id), FIELDS);
    },
  },
  {
    name: "keys delete",
    summary: "Same as keys revoke (keys are revoked, never erased: they stay listed), with --yes like other deletes",
    usage: "<key_id> --yes",
    options: YES_OPTIONS,
    async run({ client, out }, { positionals, values }) {
      const { key_id } = args(positionals, "key_id");
      confirmed(values, `deleting key ${key_id} revokes it`);
      out.object(await client().keys.revoke(key_id), FIELDS);
    },
  },
  {
    name: "keys roll",
    summary: "Give a key a new secret (printed this once); the old one works for --grace-seconds more",
    usage: "<key_id> [--grace-seconds N]",
    details: "  --grace-seconds N   how long the old secret keeps working: 0 (default) to 604800 (7 days)",
    options: ROLL_OPTIONS,
    async run({ client, out }, { positionals, values }) {
      const { key_id } = args(positionals, "key_id");
      const grace = values["grace-seconds"] === undefined ? undefined : positiveInteger(values["grace-seconds"], "--grace-seconds", 0);
      printWithSecret(out, await client().keys.roll(key_id, defined({ grace_seconds: grace })), "key", FIELDS);
    },
  },
  {
    name: "keys link",
    summary: "Let a standalone key reach one more deployment (adds it to the key's scopes)",
    usage: "<key_id> <deployment>",
    async run({ client, out }, { positionals }) {
      const { key_id, deployment } = args(positionals, "key_id", "deployment");
      out.object(await client().deployments.link(deployment, key_id), FIELDS);
    },
  },
  {
    name: "keys unlink",
    summary: "Take a deployment out of a key's scopes; the next request there gets 403",
    usage: "<key_id> <deployment>",
    details: "A key that covers the deployment only through <project>/* gets 409 conflict: change its scopes with keys update.",
    async run({ client, out }, { positionals }) {
      const { key_id, deployment } = args(positionals, "key_id", "deployment");
      out.object(await client().deployments.unlink(deployment, key_id), FIELDS);
    },
  },
];
