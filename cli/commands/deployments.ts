/** keygate deployments list|get|create|update|delete|keys */
import type { CreateDeployment, Deployment, UpdateDeployment } from "../../sdk/index.ts";
import { type Command, type Parsed, UsageError } from "../command.ts";
import type { Column } from "../output.ts";
import { ENV_NAME, ENV_NAME_RULE } from "../env-name.ts";
import { args, changes, confirmed, data, DATA_DETAILS, DATA_OPTIONS, defined, list, LIST_DETAILS, LIST_OPTIONS, rows, string, toggle, YES_OPTIONS } from "./common.ts";
import { KEY_COLUMNS } from "./keys.ts";

const COLUMNS: Column<Deployment>[] = [
  { header: "SLUG", value: (d) => d.slug },
  { header: "NAME", value: (d) => d.name },
  { header: "ORIGIN", value: (d) => d.origin.url },
  { header: "MODEL", value: (d) => d.model },
  { header: "AUTH", value: (d) => (d.auth_enabled ? "on" : "off") },
  { header: "URL", value: (d) => d.url },
];

const FIELDS: (keyof Deployment & string)[] = ["slug", "name", "url", "origin", "model", "allowed_paths", "auth_enabled", "endpoints", "inject_stream_usage", "default_max_tokens", "created_at", "updated_at"];


/**
 * `--origin-header NAME=ENV_VAR`: the header's value is read from the environment variable, never taken from the
 * command line, where shell history and `ps` would keep it. The value is never printed, not even in an error.
 */
export function originHeaders(specs: string[] | undefined, env: Record<string, string | undefined>): Record<string, string> | undefined {
  if (specs === undefined) return undefined;
  const headers: Record<string, string> = {};
  for (const spec of specs) {
    const at = spec.indexOf("=");
    const name = spec.slice(0, at);
    const variable = spec.slice(at + 1);
    if (at <= 0) throw new UsageError(`--origin-header takes NAME=ENV_VAR (the header's name, and the environment variable holding its value)`);
    if (!ENV_NAME.test(variable)) {
      // Not echoed: what follows '=' may well be the secret itself, typed where the variable's name belongs.
      throw new UsageError(`--origin-header ${name}=…: after '=' give ${ENV_NAME_RULE}, holding the value; not the value itself`);
    }
    const value = env[variable];
    if (value === undefined || value === "") throw new UsageError(`--origin-header ${name}=${variable}: the environment variable ${variable} is not set`);
    headers[name] = value;
  }
  return headers;
}

const SHARED_OPTIONS = {
  name: { type: "string" },
  "origin-header": { type: "string", multiple: true },
  assertion: { type: "boolean" },
  "no-assertion": { type: "boolean" },
  model: { type: "string" },
  "allowed-path": { type: "string", multiple: true },
  auth: { type: "boolean" },
  "no-auth": { type: "boolean" },
  ...DATA_OPTIONS,
} as const;

const SHARED_DETAILS = `  --name NAME                   display name (default: the slug)
  --origin-url URL              the OpenAI-compatible server requests go to
  --origin-header NAME=ENV_VAR  a header sent to the origin (an API key, say), its value read from the environment
                                variable ENV_VAR so it never sits in shell history; repeatable. Values are write-only.
  --assertion, --no-assertion   send (or stop sending) the signed Keygate-Assertion JWT to the origin
  --model MODEL                 pin the model: requests' "model" is rewritten to it
  --allowed-path PATH           a path clients may call (repeatable; replaces the default list)
  --auth, --no-auth             the public endpoint's API-key check (on by default)
${DATA_DETAILS}`;

/** The fields both create and update take from flags; `origin` only when a flag names part of it. */
function fromFlags({ values }: Parsed, env: Record<string, string | undefined>, origin: Record<string, unknown>) {
  const headers = originHeaders(list(values, "origin-header"), env);
  const flagOrigin = defined({ url: string(values, "origin-url"), headers, assertion: toggle(values, "assertion") });
  return defined({
    name: string(values, "name"),
    origin: Object.keys(flagOrigin).length > 0 ? { ...origin, ...flagOrigin } : undefined,
    model: values["no-model"] ? null : string(values, "model"),
    allowed_paths: list(values, "allowed-path"),
    auth_enabled: toggle(values, "auth"),
  });
}

export const deploymentCommands: Command[] = [
  {
    name: "deployments list",
    summary: "List the project's deployments",
    usage: "[--limit N]",
    details: LIST_DETAILS,
    options: LIST_OPTIONS,
    async run({ client, out }, { positionals, values }) {
      args(positionals);
      out.list(await rows(values, (query) => client().deployments.list(query)), COLUMNS);
    },
  },
  {
    name: "deployments get",
    summary: "Show one deployment (origin header values are write-only: only their names are shown)",
    usage: "<deployment>",
    async run({ client, out }, { positionals }) {
      out.object(await client().deployments.get(args(positionals, "deployment").deployment), FIELDS);
    },
  },
  {
    name: "deployments create",
    summary: "Create a deployment: an endpoint in front of an OpenAI-compatible origin",
    usage: "<slug> --origin-url URL [--origin-header NAME=ENV_VAR]… [--model M] [--allowed-path P]… [--auth|--no-auth] [--name N] [--data JSON]",
    details: `${SHARED_DETAILS}

Example:
  export VLLM_KEY=…   # the origin's own API key
  keygate deployments create chat --origin-url https://vllm.example.com --origin-header Authorization=VLLM_KEY --model llama-3`,
    options: { ...SHARED_OPTIONS, "origin-url": { type: "string" } },
    async run({ client, out, env }, parsed) {
      const { slug } = args(parsed.positionals, "slug");
      const body = data(parsed.values);
      const merged = { ...body, slug, ...fromFlags(parsed, env, (body.origin ?? {}) as Record<string, unknown>) };
      if (merged.origin === undefined) throw new UsageError("missing --origin-url (or origin in --data)");
      out.object(await client().deployments.create(merged as CreateDeployment), FIELDS);
    },
  },
  {
    name: "deployments update",
    summary: "Change a deployment (the slug never changes); the next request sees it",
    usage: "<deployment> [--origin-url URL] [--origin-header NAME=ENV_VAR]… [--model M | --no-model] [--allowed-path P]… [--auth|--no-auth] [--name N] [--data JSON]",
    details: `${SHARED_DETAILS}
  --no-model                    remove the model pin

--origin-header replaces every stored origin header; changing --origin-url of a deployment that has headers needs
them again (keygate never sends a stored secret to a new host).

Example:
  keygate deployments update chat --no-auth`,
    options: { ...SHARED_OPTIONS, "origin-url": { type: "string" }, "no-model": { type: "boolean" } },
    async run({ client, out, env }, parsed) {
      const { deployment } = args(parsed.positionals, "deployment");
      if (parsed.values.model !== undefined && parsed.values["no-model"]) throw new UsageError("--model and --no-model contradict each other");
      const body = data(parsed.values);
      const merged = changes({ ...body, ...fromFlags(parsed, env, (body.origin ?? {}) as Record<string, unknown>) }, "a flag");
      out.object(await client().deployments.update(deployment, merged as UpdateDeployment), FIELDS);
    },
  },
  {
    name: "deployments delete",
    summary: "Delete a deployment; it leaves every key's scopes and every policy rule",
    usage: "<deployment> --yes",
    options: YES_OPTIONS,
    async run({ client, out }, { positionals, values }) {
      const { deployment } = args(positionals, "deployment");
      confirmed(values, `deleting deployment ${deployment} ends every request to it`);
      out.object(await client().deployments.delete(deployment), FIELDS);
    },
  },
  {
    name: "deployments keys",
    summary: "List the keys whose scopes cover a deployment (linked, or through <project>/*)",
    usage: "<deployment> [--limit N]",
    details: `${LIST_DETAILS}\n\nApplication keys reach deployments through their policies and are not listed: see \`keygate explain\`.`,
    options: LIST_OPTIONS,
    async run({ client, out }, { positionals, values }) {
      const { deployment } = args(positionals, "deployment");
      out.list(await rows(values, (query) => client().deployments.keys(deployment, query)), KEY_COLUMNS);
    },
  },
];
