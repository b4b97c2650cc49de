/** keygate policies list|get|create|update|delete */
import type { CreatePolicy, Policy, PolicyRuleInput } from "../../sdk/index.ts";
import { type Command, UsageError } from "../command.ts";
import type { Column } from "../output.ts";
import { args, changes, confirmed, data, DATA_DETAILS, DATA_OPTIONS, defined, list, LIST_DETAILS, LIST_OPTIONS, rows, string, YES_OPTIONS } from "./common.ts";

const PERMISSION_SETS = ["InferenceFullAccess", "InferenceReadOnly"];

const COLUMNS: Column<Policy>[] = [
  { header: "ID", value: (p) => p.id },
  { header: "NAME", value: (p) => p.name },
  { header: "APPLICATION", value: (p) => p.application_id },
  { header: "RULES", value: (p) => p.rules.map((r) => `${r.permission_set}=${r.deployments.join(",")}${Object.keys(r.conditions).length > 0 ? "+conditions" : ""}`).join(" ") },
  { header: "UPDATED", value: (p) => p.updated_at },
];

/** `--rule InferenceFullAccess=chat,embed` (or `=*`): a rule without conditions; --data carries rules with them. */
function rules(specs: string[] | undefined): PolicyRuleInput[] | undefined {
  return specs?.map((spec) => {
    const [set, deployments] = spec.split("=", 2);
    if (!PERMISSION_SETS.includes(set!) || !deployments) {
      throw new UsageError(`--rule takes PERMISSION_SET=DEPLOYMENT[,DEPLOYMENT…] (or =* for all), the set one of ${PERMISSION_SETS.join(", ")}; got '${spec}'`);
    }
    return { permission_set: set as PolicyRuleInput["permission_set"], deployments: deployments.split(",") };
  });
}

const OPTIONS = { name: { type: "string" }, description: { type: "string" }, rule: { type: "string", multiple: true }, ...DATA_OPTIONS } as const;
const DETAILS = `  --name NAME          unique in the project
  --description TEXT
  --rule SET=DEPLOYMENTS  a rule, in order: InferenceFullAccess or InferenceReadOnly on deployment slugs (comma
                       separated) or * for all (repeatable; replaces every rule). A rule with conditions: --data.
${DATA_DETAILS}`;

export const policyCommands: Command[] = [
  {
    name: "policies list",
    summary: "List the project's policies",
    usage: "[--application APP_ID] [--limit N]",
    details: `  --application APP_ID   only this application's policies\n${LIST_DETAILS}`,
    options: { ...LIST_OPTIONS, application: { type: "string" } },
    async run({ client, out }, { positionals, values }) {
      args(positionals);
      const filter = defined({ application_id: string(values, "application") });
      out.list(await rows(values, (query) => client().policies.list({ ...query, ...filter })), COLUMNS);
    },
  },
  {
    name: "policies get",
    summary: "Show one policy with its rules",
    usage: "<policy_id>",
    async run({ client, out }, { positionals }) {
      out.object(await client().policies.get(args(positionals, "policy_id").policy_id));
    },
  },
  {
    name: "policies create",
    summary: "Give an application's keys access: ordered rules of a permission set on deployments",
    usage: "--name NAME --application APP_ID (--rule SET=DEPLOYMENTS… | --data JSON) [--description TEXT]",
    details: `${DETAILS}
  --application APP_ID   the application whose keys the policy governs

Examples:
  keygate policies create --name backend-chat --application app_… --rule InferenceFullAccess=chat
  keygate policies create --data @policy.json   # rules with conditions`,
    options: { ...OPTIONS, application: { type: "string" } },
    async run({ client, out }, { positionals, values }) {
      args(positionals);
      const body = {
        ...data(values),
        ...defined({ name: string(values, "name"), description: string(values, "description"), application_id: string(values, "application"), rules: rules(list(values, "rule")) }),
      };
      if (body.name === undefined) throw new UsageError("missing --name");
      if (body.application_id === undefined) throw new UsageError("missing --application");
      if (body.rules === undefined) throw new UsageError("missing --rule (or rules in --data)");
      out.object(await client().policies.create(body as CreatePolicy));
    },
  },
  {
    name: "policies update",
    summary: "Change a policy; every key of its application sees it on the next request",
    usage: "<policy_id> [--name NAME] [--description TEXT] [--rule SET=DEPLOYMENTS]… [--data JSON]",
    details: DETAILS,
    options: OPTIONS,
    async run({ client, out }, { positionals, values }) {
      const { policy_id } = args(positionals, "policy_id");
      const body = changes({
        ...data(values),
        ...defined({ name: string(values, "name"), description: string(values, "description"), rules: rules(list(values, "rule")) }),
      }, "--name, --description, --rule");
      out.object(await client().policies.update(policy_id, body));
    },
  },
  {
    name: "policies delete",
    summary: "Delete a policy; what it granted ends with the next request",
    usage: "<policy_id> --yes",
    options: YES_OPTIONS,
    async run({ client, out }, { positionals, values }) {
      const { policy_id } = args(positionals, "policy_id");
      confirmed(values, `deleting policy ${policy_id} ends what it grants`);
      out.object(await client().policies.delete(policy_id));
    },
  },
];
