/** keygate apply | diff | export: the declarative config file (docs/config.md). */
import { existsSync, writeFileSync } from "node:fs";
import { type Command, type Context, EXIT, type Parsed, UsageError } from "../command.ts";
import { runPlan, SecretsFile, StepFailed } from "../config/apply.ts";
import { ExportError, exportConfig } from "../config/export.ts";
import { ConfigError, readConfig } from "../config/parse.ts";
import { makePlan, type NewSecret, type Plan, stepLine, summary } from "../config/plan.ts";

const FILE_OPTION = { file: { type: "string", short: "f" }, prune: { type: "boolean" } } as const;

function fileOf(values: Parsed["values"]): string {
  const file = values.file;
  if (typeof file !== "string" || file === "") throw new UsageError("missing -f FILE (the config file)");
  return file;
}

/** A management token (ik_sdk_) belongs to one project and cannot create projects; the root token can. */
function canCreateProjects({ env }: Context, values: Parsed["values"]): boolean {
  const token = (values.token as string | undefined) || env.KEYGATE_TOKEN || "";
  return !token.startsWith("ik_sdk_");
}

async function planFor(context: Context, values: Parsed["values"]): Promise<Plan> {
  const config = readConfig(fileOf(values));
  return makePlan(context.client(), config, { prune: values.prune === true, env: context.env, canCreateProjects: canCreateProjects(context, values) });
}

const planJson = (plan: Plan) => ({
  steps: plan.steps.map(({ action, kind, project, name, changed, unsetEnv, cascade }) => ({
    action, kind, project, name, changed, unset_env: unsetEnv,
    cascade: cascade.map(({ action, kind, name }) => ({ action, kind, name })),
  })),
  problems: plan.problems,
  summary: summary(plan.steps),
});

/** The plan for people: one line a step, the problems, a count. */
function printPlan({ out }: Context, plan: Plan, file: string): void {
  for (const step of plan.steps) {
    out.info(stepLine(step));
    for (const effect of step.cascade) out.info(`    ${effect.text}`);
  }
  for (const problem of plan.problems) out.info(`! ${problem}`);
  const { create, update, prune } = summary(plan.steps);
  if (plan.steps.length === 0 && plan.problems.length === 0) out.info(`No changes: keygate matches ${file}.`);
  else out.info(`Plan: ${create} to create, ${update} to update, ${prune} to prune${plan.problems.length ? `; ${plan.problems.length} problem(s)` : ""}.`);
}

/**
 * Config file problems are the input's fault: `FILE:LINE:COL: message` lines (or `FILE: message` for a file that cannot
 * be read or written) and exit 2, never a stack trace. `after` is one more line then (diff's "not compared").
 */
async function configErrors(context: Context, run: () => Promise<number>, after?: string): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ExportError) {
      context.out.error(`keygate export: ${err.message}`);
      return EXIT.usage;
    }
    if (!(err instanceof ConfigError)) throw err;
    for (const problem of err.problems) context.out.error(problem);
    if (after !== undefined) context.out.error(after);
    return EXIT.usage;
  }
}

const apply: Command = {
  name: "apply",
  summary: "Make keygate match a config file (creates and updates; deletes only with --prune)",
  usage: "-f FILE [--dry-run] [--prune] [--secrets-out FILE]",
  details: `
Reads FILE (docs/config.md), compares it with keygate and writes the difference, in dependency order: projects,
deployments, applications, policies, keys, budgets. A field the file leaves out is left as it is.

  -f, --file FILE        the config file (YAML)
  --dry-run              print the plan and write nothing
  --prune                also delete what the file does not name (keys: revoke), only in the file's projects and only
                         of the kinds a project lists; management tokens are never touched. What the API deletes
                         with an application or a deployment is shown under its prune line ('    also revokes ...')
  --secrets-out FILE     write new keys' secrets to FILE (created with mode 0600 before the first write, rewritten
                         after each new key; an existing file is refused); without it they are printed once on
                         standard output

Origin header values come from the environment variables the file names; one that is unset is an error only when a
write would send it. Plan lines: '+ create deployment acme/chat', '~ update key acme/ci: scopes', '- prune policy acme/old'.

Example:  keygate apply -f keygate.yaml --secrets-out new-keys.json`,
  options: { ...FILE_OPTION, "dry-run": { type: "boolean" }, "secrets-out": { type: "string" } },
  run: (context, { values }) =>
    configErrors(context, async () => {
      const { out } = context;
      const file = fileOf(values);
      const plan = await planFor(context, values);
      const dryRun = values["dry-run"] === true;
      if (!out.json) printPlan(context, plan, file);
      const refuse = (lines: string[], code: number) => {
        if (out.json) out.raw(JSON.stringify({ ...planJson(plan), applied: false, errors: lines }, null, 2));
        for (const line of lines) out.error(`keygate apply: ${line}`);
        return code;
      };
      if (plan.problems.length > 0) return refuse(["nothing was written: resolve the problems above first"], EXIT.apiError);
      if (dryRun || plan.steps.length === 0) {
        if (out.json) out.raw(JSON.stringify({ ...planJson(plan), applied: false }, null, 2));
        return EXIT.ok;
      }
      const unset = plan.steps.filter((s) => s.unsetEnv.length > 0);
      if (unset.length > 0) {
        return refuse(unset.map((s) => `${s.unsetEnv.join(", ")} not set: ${s.action} ${s.kind} ${s.name} sends its origin header values`), EXIT.usage);
      }
      const secretsOut = values["secrets-out"] as string | undefined;
      const createsKeys = plan.steps.some((s) => s.kind === "key" && s.action === "create");
      const fd = secretsOut !== undefined && createsKeys ? SecretsFile.open(secretsOut) : undefined;
      const secrets: NewSecret[] = [];
      let failure: StepFailed | undefined;
      try {
        await runPlan(context.client(), plan, secrets, fd);
      } catch (err) {
        if (!(err instanceof StepFailed)) throw err;
        failure = err;
      } finally {
        fd?.close();
      }
      if (out.json) out.raw(JSON.stringify({ ...planJson(plan), applied: failure === undefined, ...(fd === undefined ? { secrets } : {}) }, null, 2));
      else {
        if (fd === undefined && secrets.length > 0) {
          out.raw("New key secrets (shown this once; store them now):");
          for (const s of secrets) out.raw(`  ${s.project}/${s.name}  ${s.key}`);
        }
        if (fd !== undefined) out.info(`${secrets.length} new key secret(s) written to ${secretsOut}.`);
      }
      if (failure) {
        out.error(`keygate apply: ${failure.step.action} ${failure.step.kind} ${failure.step.name} failed: ${failure.message}`);
        out.error(`  ${failure.done.length} of ${plan.steps.length} step(s) were written before it; apply again once it is fixed.`);
        throw failure.error;
      }
      out.info(`Applied: ${plan.steps.length} change(s).`);
      return EXIT.ok;
    }),
};

const diff: Command = {
  name: "diff",
  summary: "Show how keygate differs from a config file (exit 0: no drift, 2: drift or a bad file, 1: API error)",
  usage: "-f FILE [--prune]",
  details: `
The plan apply would carry out, without writing. With --prune it also lists what apply --prune would delete.

  -f, --file FILE   the config file (YAML)
  --prune           count objects the file does not name as drift

Exit codes: 0 keygate matches the file; 1 the API refused or could not be reached; 2 EITHER keygate differs from the
file (drift) OR the file or the command line is invalid (nothing was compared). To tell them apart, look at standard
error: on drift its last line starts with 'keygate diff: drift'; on an invalid file it is 'keygate diff: FILE is not
valid; nothing was compared'. (Or run 'keygate apply -f FILE --dry-run' first: it exits 2 only for a bad file.)`,
  options: FILE_OPTION,
  run: (context, { values }) =>
    configErrors(
      context,
      async () => {
        const file = fileOf(values);
        const plan = await planFor(context, values);
        const drift = plan.steps.length > 0 || plan.problems.length > 0;
        if (context.out.json) context.out.raw(JSON.stringify({ ...planJson(plan), drift }, null, 2));
        else printPlan(context, plan, file);
        if (!drift) return EXIT.ok;
        const { create, update, prune } = summary(plan.steps);
        const problems = plan.problems.length > 0 ? `; ${plan.problems.length} problem(s) apply would refuse` : "";
        context.out.error(`keygate diff: drift: keygate differs from ${file} (${create} to create, ${update} to update, ${prune} to prune${problems})`);
        return EXIT.usage;
      },
      `keygate diff: ${typeof values.file === "string" ? values.file : "the file"} is not valid; nothing was compared`,
    ),
};

const exportCommand: Command = {
  name: "export",
  summary: "Write keygate's current state as a config file (YAML) that apply accepts back unchanged",
  usage: "[-p P | --all] [-o FILE]",
  details: `
One project, as every command picks it: -p/--project P, else KEYGATE_PROJECT; with neither, or with --all, every
project the token sees (a management token: its own). Origin header values are never readable: each is written as
{env: NAME} with a generated variable name, unique in the output. Key secrets are never exported. A kind that cannot
be written faithfully for a project (several unrevoked keys of one name; a budget on a revoked key; a policy rule
whose deployments were all deleted) is left out of that project as a whole, with a warning on standard error: a kind
left out is not managed, so apply --prune of the export leaves it alone.

  --all               every project the token sees, even when KEYGATE_PROJECT is set
  -o, --output FILE   write to FILE instead of standard output (refused if it exists)`,
  options: { output: { type: "string", short: "o" }, all: { type: "boolean" } },
  run: (context, { values }) =>
    configErrors(context, async () => {
      const { client, out, env } = context;
      const flag = typeof values.project === "string" && values.project !== "" ? values.project : undefined;
      if (values.all === true && flag !== undefined) throw new UsageError("give --all or --project, not both");
      const project = values.all === true ? undefined : (flag ?? (env.KEYGATE_PROJECT || undefined));
      const output = values.output;
      if (output !== undefined && (typeof output !== "string" || output === "")) throw new UsageError("-o needs a FILE");
      if (typeof output === "string" && existsSync(output)) throw new ConfigError([refusal(output)]);
      const { yaml, warnings } = await exportConfig(client(), project);
      for (const warning of warnings) out.error(`keygate export: ${warning}`);
      if (typeof output !== "string") return out.raw(yaml), EXIT.ok;
      try {
        writeFileSync(output, yaml, { flag: "wx" });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new ConfigError([code === "EEXIST" ? refusal(output) : `-o ${output}: cannot create it (${code ?? (err as Error).message})`]);
      }
      return EXIT.ok;
    }),
};

const refusal = (output: string) => `-o ${output}: the file exists; export never overwrites a file (move it away, or name a new one)`;

export const configCommands: Command[] = [apply, diff, exportCommand];
