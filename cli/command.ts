/**
 * What a CLI command is: a name of one or two words ("keys create", "apply"), its help, its flags (node:util
 * parseArgs options), and run(), which returns the exit code. Commands print through `out`, so a table on a terminal
 * and JSON under --json come from one place (./output.ts).
 */
import type { ParseArgsOptionsConfig } from "node:util";
import type { ManagementClient } from "../sdk/index.ts";
import type { Output } from "./output.ts";

export interface Context {
  /** The management client from the global flags and KEYGATE_* variables (created on first use). */
  client(): ManagementClient;
  out: Output;
  /** process.env, or a test's environment. */
  env: Record<string, string | undefined>;
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  summary: string;
  /** The synopsis after `keygate <name>`, e.g. "<key_id> [--grace-seconds N]". */
  usage: string;
  /** Longer help: what it does, each flag, an example. */
  details?: string;
  options?: ParseArgsOptionsConfig;
  run(context: Context, parsed: Parsed): Promise<number | void>;
}

/** Bad flags or arguments: exit code 2, with the command's usage. */
export class UsageError extends Error {
  override name = "UsageError";
}

export const EXIT = { ok: 0, apiError: 1, usage: 2 } as const;
