/** keygate apps list|get|create|update|delete (the API's applications) */
import type { Application, CreateApplication } from "../../sdk/index.ts";
import { type Command, UsageError } from "../command.ts";
import type { Column } from "../output.ts";
import { args, changes, confirmed, data, DATA_DETAILS, DATA_OPTIONS, defined, LIST_DETAILS, LIST_OPTIONS, rows, string, YES_OPTIONS } from "./common.ts";

const COLUMNS: Column<Application>[] = [
  { header: "ID", value: (a) => a.id },
  { header: "NAME", value: (a) => a.name },
  { header: "DESCRIPTION", value: (a) => a.description },
  { header: "UPDATED", value: (a) => a.updated_at },
];

const OPTIONS = { name: { type: "string" }, description: { type: "string" }, ...DATA_OPTIONS } as const;
const DETAILS = `  --name NAME          unique in the project
  --description TEXT
${DATA_DETAILS}`;

export const applicationCommands: Command[] = [
  {
    name: "apps list",
    summary: "List the project's applications",
    usage: "[--limit N]",
    details: LIST_DETAILS,
    options: LIST_OPTIONS,
    async run({ client, out }, { positionals, values }) {
      args(positionals);
      out.list(await rows(values, (query) => client().applications.list(query)), COLUMNS);
    },
  },
  {
    name: "apps get",
    summary: "Show one application",
    usage: "<application_id>",
    async run({ client, out }, { positionals }) {
      out.object(await client().applications.get(args(positionals, "application_id").application_id));
    },
  },
  {
    name: "apps create",
    summary: "Create an application: a non-human principal whose keys get what its policies grant",
    usage: "--name NAME [--description TEXT] [--data JSON]",
    details: `${DETAILS}\n\nExample:\n  APP=$(keygate apps create --name backend --json | jq -r .id)`,
    options: OPTIONS,
    async run({ client, out }, { positionals, values }) {
      args(positionals);
      const body = { ...data(values), ...defined({ name: string(values, "name"), description: string(values, "description") }) };
      if (body.name === undefined) throw new UsageError("missing --name");
      out.object(await client().applications.create(body as CreateApplication));
    },
  },
  {
    name: "apps update",
    summary: "Rename an application or change its description",
    usage: "<application_id> [--name NAME] [--description TEXT] [--data JSON]",
    details: DETAILS,
    options: OPTIONS,
    async run({ client, out }, { positionals, values }) {
      const { application_id } = args(positionals, "application_id");
      const body = changes({ ...data(values), ...defined({ name: string(values, "name"), description: string(values, "description") }) }, "--name, --description");
      out.object(await client().applications.update(application_id, body));
    },
  },
  {
    name: "apps delete",
    summary: "Delete an application: its policies and budgets go with it and its keys are revoked",
    usage: "<application_id> --yes",
    options: YES_OPTIONS,
    async run({ client, out }, { positionals, values }) {
      const { application_id } = args(positionals, "application_id");
      confirmed(values, `deleting application ${application_id} deletes its policies and budgets and revokes its keys`);
      out.object(await client().applications.delete(application_id));
    },
  },
];
