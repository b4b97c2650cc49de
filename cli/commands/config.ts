/** keygate apply | diff | export: the declarative config file (docs/config.md). */
import { writeFileSync } from "node:fs";
import { type Command, type Context, EXIT, type Parsed, UsageError } from "../command.ts";
import { openSecretsFile, runPlan, StepFailed, writeSecrets } from "../config/apply.ts";
import { exportConfig } from "../config/export.ts";
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
  steps: plan.steps.map(({ action, kind, project, name, changed, unsetEnv }) => ({ action, kind, project, name, changed, unset_env: unsetEnv })),
  problems: plan.problems,
  summary: summary(plan.steps),
});

/** The plan for people: one line a step, the problems, a count. */
function printPlan({ out }: Context, plan: Plan, file: string): void {
  for (const step of plan.steps) out.info(stepLine(step));
  for (const problem of plan.problems) out.info(`! ${problem}`);
  const { create, update, prune } = summary(plan.steps);
  if (plan.steps.length === 0 && plan.problems.length === 0) out.info(`No changes: keygate matches ${file}.`);
  else out.info(`Plan: ${create} to create, ${update} to update, ${prune} to prune${plan.problems.length ? `; ${plan.problems.length} problem(s)` : ""}.`);
}

/** Config file problems are the input's fault: `FILE:LINE:COL: message` lines and exit 2. */
async function configErrors(context: Context, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const problem of err.problems) context.out.error(problem);
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
                         of the kinds a project lists; management tokens are never touched
  --secrets-out FILE     write new keys' secrets to FILE (created with mode 0600; an existing file is refused);
                         without it they are printed once on standard output

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
      const fd = secretsOut !== undefined && createsKeys ? openSecretsFile(secretsOut) : undefined;
      const secrets: NewSecret[] = [];
      let failure: StepFailed | undefined;
      try {
        await runPlan(context.client(), plan, secrets);
      } catch (err) {
        if (!(err instanceof StepFailed)) throw err;
        failure = err;
      } finally {
        if (fd !== undefined) writeSecrets(fd, secrets);
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
  summary: "Show how keygate differs from a config file (exit 0: no drift, 2: drift, 1: API error)",
  usage: "-f FILE [--prune]",
  details: `
The plan apply would carry out, without writing. With --prune it also lists what apply --prune would delete.

  -f, --file FILE   the config file (YAML)
  --prune           count objects the file does not name as drift

Exit codes: 0 keygate matches the file; 2 it differs (or the file is invalid); 1 the API refused or could not be reached.`,
  options: FILE_OPTION,
  run: (context, { values }) =>
    configErrors(context, async () => {
      const plan = await planFor(context, values);
      if (context.out.json) context.out.raw(JSON.stringify(planJson(plan), null, 2));
      else printPlan(context, plan, fileOf(values));
      return plan.steps.length === 0 && plan.problems.length === 0 ? EXIT.ok : EXIT.usage;
    }),
};

const exportCommand: Command = {
  name: "export",
  summary: "Write keygate's current state as a config file (YAML) that apply accepts back unchanged",
  usage: "[--project P] [-o FILE]",
  details: `
Every project the token sees (a management token: its own), or only --project P. Origin header values are never
readable: each is written as {env: NAME} with a generated variable name. Key secrets are never exported.

  -o, --output FILE   write to FILE instead of standard output (refused if it exists)`,
  options: { output: { type: "string", short: "o" } },
  async run({ client, out }, { values }) {
    const { yaml, warnings } = await exportConfig(client(), values.project as string | undefined);
    for (const warning of warnings) out.error(`keygate export: ${warning}`);
    if (typeof values.output === "string") writeFileSync(values.output, yaml, { flag: "wx" });
    else out.raw(yaml);
  },
};

export const configCommands: Command[] = [apply, diff, exportCommand];
