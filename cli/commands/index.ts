/** Every command the CLI knows, in the order `keygate --help` lists them. */
import type { Command } from "../command.ts";
import { applicationCommands } from "./applications.ts";
import { budgetCommands } from "./budgets.ts";
import { configCommands } from "./config.ts";
import { deploymentCommands } from "./deployments.ts";
import { insightCommands } from "./insight.ts";
import { keyCommands } from "./keys.ts";
import { policyCommands } from "./policies.ts";
import { projectCommands } from "./projects.ts";
import { tokenCommands } from "./tokens.ts";

export const COMMANDS: Command[] = [
  ...projectCommands,
  ...deploymentCommands,
  ...keyCommands,
  ...tokenCommands,
  ...applicationCommands,
  ...policyCommands,
  ...budgetCommands,
  ...insightCommands,
  ...configCommands,
];
