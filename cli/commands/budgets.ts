/** keygate budgets list|get|create|update|delete */
import type { Budget, CreateBudget } from "../../sdk/index.ts";
import { type Command, UsageError } from "../command.ts";
import type { Column } from "../output.ts";
import { args, changes, confirmed, data, DATA_DETAILS, DATA_OPTIONS, defined, LIST_DETAILS, LIST_OPTIONS, oneOf, positiveInteger, rows, string, YES_OPTIONS } from "./common.ts";

const COLUMNS: Column<Budget>[] = [
  { header: "ID", value: (b) => b.id },
  { header: "SUBJECT", value: (b) => `${b.subject.type}:${b.subject.id}` },
  { header: "PERIOD", value: (b) => b.period },
  { header: "MODE", value: (b) => b.mode },
  { header: "LIMIT", value: (b) => b.limit_tokens },
  { header: "SPENT", value: (b) => b.spent_tokens },
  { header: "RESERVED", value: (b) => b.reserved_tokens },
  { header: "RESETS", value: (b) => b.resets_at },
];

const SUBJECT_TYPES = ["key", "application", "project"] as const;

/** `--subject key:key_…`, `application:app_…`, or `project` (this project) / `project:slug`. */
function subject(spec: string | undefined, project: () => string): CreateBudget["subject"] | undefined {
  if (spec === undefined) return undefined;
  const [type, id] = spec.split(":", 2) as [string, string | undefined];
  if (!SUBJECT_TYPES.includes(type as CreateBudget["subject"]["type"]) || (type !== "project" && !id)) {
    throw new UsageError(`--subject takes key:KEY_ID, application:APP_ID or project; got '${spec}'`);
  }
  return { type: type as CreateBudget["subject"]["type"], id: id || project() };
}

const MODE_DETAILS = "  --mode MODE            hard (refuse with 429 once spent) or soft (count, never refuse); default hard";

export const budgetCommands: Command[] = [
  {
    name: "budgets list",
    summary: "List the project's token budgets with what each has spent",
    usage: "[--limit N]",
    details: LIST_DETAILS,
    options: LIST_OPTIONS,
    async run({ client, out }, { positionals, values }) {
      args(positionals);
      out.list(await rows(values, (query) => client().budgets.list(query)), COLUMNS);
    },
  },
  {
    name: "budgets get",
    summary: "Show one budget: its limit, spend, reservations and reset time",
    usage: "<budget_id>",
    async run({ client, out }, { positionals }) {
      out.object(await client().budgets.get(args(positionals, "budget_id").budget_id));
    },
  },
  {
    name: "budgets create",
    summary: "Put a token budget on a key, an application or the project",
    usage: "--subject key:ID|application:ID|project --limit-tokens N --period day|month|total [--mode hard|soft] [--data JSON]",
    details: `  --subject SUBJECT      key:key_…, application:app_…, or project (this project)
  --limit-tokens N       tokens per period (prompt + completion + estimated); 0 refuses everything
  --period PERIOD        day or month (UTC), or total (never resets)
${MODE_DETAILS}
${DATA_DETAILS}

Example:
  keygate budgets create --subject project --limit-tokens 1000000 --period month`,
    options: { subject: { type: "string" }, "limit-tokens": { type: "string" }, period: { type: "string" }, mode: { type: "string" }, ...DATA_OPTIONS },
    async run({ client, out }, { positionals, values }) {
      args(positionals);
      const body = {
        ...data(values),
        ...defined({
          subject: subject(string(values, "subject"), () => client().project),
          limit_tokens: values["limit-tokens"] === undefined ? undefined : positiveInteger(values["limit-tokens"], "--limit-tokens", 0),
          period: oneOf(values, "period", ["day", "month", "total"] as const),
          mode: oneOf(values, "mode", ["hard", "soft"] as const),
        }),
      };
      for (const [field, flag] of [["subject", "--subject"], ["limit_tokens", "--limit-tokens"], ["period", "--period"]] as const) {
        if (body[field] === undefined) throw new UsageError(`missing ${flag}`);
      }
      out.object(await client().budgets.create(body as CreateBudget));
    },
  },
  {
    name: "budgets update",
    summary: "Change a budget's limit or mode; the next request sees it",
    usage: "<budget_id> [--limit-tokens N] [--mode hard|soft]",
    details: `  --limit-tokens N       the new limit\n${MODE_DETAILS}\n${DATA_DETAILS}`,
    options: { "limit-tokens": { type: "string" }, mode: { type: "string" }, ...DATA_OPTIONS },
    async run({ client, out }, { positionals, values }) {
      const { budget_id } = args(positionals, "budget_id");
      const body = changes({
        ...data(values),
        ...defined({
          limit_tokens: values["limit-tokens"] === undefined ? undefined : positiveInteger(values["limit-tokens"], "--limit-tokens", 0),
          mode: oneOf(values, "mode", ["hard", "soft"] as const),
        }),
      }, "--limit-tokens, --mode");
      out.object(await client().budgets.update(budget_id, body));
    },
  },
  {
    name: "budgets delete",
    summary: "Delete a budget; the next request is no longer counted against it",
    usage: "<budget_id> --yes",
    options: YES_OPTIONS,
    async run({ client, out }, { positionals, values }) {
      const { budget_id } = args(positionals, "budget_id");
      confirmed(values, `deleting budget ${budget_id} lifts its limit`);
      out.object(await client().budgets.delete(budget_id));
    },
  },
];
