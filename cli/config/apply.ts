/**
 * Running a plan, and where new key secrets go. A secret exists once, in the create's answer: it goes to the
 * --secrets-out file (created 0600 before the first write, never overwriting one that exists, so a failure to open it
 * cannot lose a secret; rewritten after each new key) or to standard output; never to the config file, never to a log.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from "node:fs";
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

/**
 * The --secrets-out file: exclusive create (an existing file is refused, not overwritten), mode 0600, holding
 * `{"keys": []}` from the start. save() rewrites it whole (truncate, write, fsync) after each new key, so the secrets
 * created so far are on disk before the next write goes out: an apply killed half-way loses none, and the file is
 * always one valid JSON document.
 */
export class SecretsFile {
  readonly path: string;
  readonly #fd: number;
  private constructor(path: string, fd: number) {
    this.path = path;
    this.#fd = fd;
  }

  static open(path: string): SecretsFile {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ConfigError([
        code === "EEXIST"
          ? `--secrets-out ${path}: the file exists; apply never overwrites a secrets file (move it away, or name a new one)`
          : `--secrets-out ${path}: cannot create it (${code ?? (err as Error).message})`,
      ]);
    }
    const file = new SecretsFile(path, fd);
    file.save([]);
    return file;
  }

  save(secrets: NewSecret[]): void {
    const text = Buffer.from(`${JSON.stringify({ keys: secrets }, null, 2)}\n`);
    ftruncateSync(this.#fd, 0);
    let at = 0;
    while (at < text.length) at += writeSync(this.#fd, text, at, text.length - at, at);
    fsyncSync(this.#fd);
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/**
 * Each step in order; the first failure stops the run (what came before it stays written, and is in `done`). A step
 * that made a key secret has it saved (`file`) before the next step starts.
 */
export async function runPlan(client: ManagementClient, plan: Plan, secrets: NewSecret[], file?: SecretsFile): Promise<Step[]> {
  const done: Step[] = [];
  for (const step of plan.steps) {
    const before = secrets.length;
    try {
      await step.run({ client, ids: plan.ids, secrets });
    } catch (err) {
      throw new StepFailed(step, err, done);
    } finally {
      if (file !== undefined && secrets.length > before) file.save(secrets);
    }
    done.push(step);
  }
  return done;
}
