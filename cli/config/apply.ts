/**
 * Running a plan, and where new key secrets go. A secret exists once, in the create's answer: it goes to the
 * --secrets-out file (created 0600 before the first write, never overwriting one that exists, so a failure to open it
 * cannot lose a secret) or to standard output; never to the config file, never to a log.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { ManagementClient } from "../../sdk/index.ts";
import { ConfigError } from "./parse.ts";
import type { NewSecret, Plan, Step } from "./plan.ts";

export class StepFailed extends Error {
  override name = "StepFailed";
  readonly step: Step;
  readonly error: unknown;
  readonly done: Step[];
  constructor(step: Step, error: unknown, done: Step[]) {
    super(error instanceof Error ? error.message : String(error));
    this.step = step;
    this.error = error;
    this.done = done;
  }
}

/** A file for the secrets, opened now: exclusive create (an existing file is refused, not overwritten), mode 0600. */
export function openSecretsFile(path: string): number {
  try {
    return openSync(path, "wx", 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([
      code === "EEXIST"
        ? `--secrets-out ${path}: the file exists; apply never overwrites a secrets file (move it away, or name a new one)`
        : `--secrets-out ${path}: cannot create it (${code ?? (err as Error).message})`,
    ]);
  }
}

export function writeSecrets(fd: number, secrets: NewSecret[]): void {
  try {
    writeSync(fd, `${JSON.stringify({ keys: secrets }, null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
}

/** Each step in order; the first failure stops the run (what came before it stays written, and is in `done`). */
export async function runPlan(client: ManagementClient, plan: Plan, secrets: NewSecret[]): Promise<Step[]> {
  const done: Step[] = [];
  for (const step of plan.steps) {
    try {
      await step.run({ client, ids: plan.ids, secrets });
    } catch (err) {
      throw new StepFailed(step, err, done);
    }
    done.push(step);
  }
  return done;
}
