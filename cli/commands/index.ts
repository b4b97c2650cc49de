/** Every command the CLI knows, in the order `keygate --help` lists them. */
import type { Command } from "../command.ts";
import { configCommands } from "./config.ts";
import { projectCommands } from "./projects.ts";

export const COMMANDS: Command[] = [...projectCommands, ...configCommands];
