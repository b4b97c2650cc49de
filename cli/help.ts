/** The `--help` texts: every command's synopsis, grouped by resource. */
import type { Command } from "./command.ts";

const GLOBAL_FLAGS = `Global flags:
  --base-url URL     keygate's address (else KEYGATE_BASE_URL, else http://127.0.0.1:8787)
  --token TOKEN      an ik_sdk_ management token or the ADMIN_TOKEN (else KEYGATE_TOKEN)
  -p, --project P    the project (else KEYGATE_PROJECT)
  --json             print the API's JSON instead of a table
  -h, --help         help for any command`;

const EXIT_CODES = `Exit codes: 0 done; 1 the API refused (its error code is printed) or keygate could not be reached; 2 the command line was wrong
(and for diff: keygate differs from the file).`;

export function mainHelp(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `keygate: manage a keygate deployment from the command line.

Usage: keygate <command> [arguments] [flags]

Commands:
${lines.join("\n")}

${GLOBAL_FLAGS}

${EXIT_CODES}
Docs: docs/cli.md`;
}

export function groupHelp(group: string, commands: Command[]): string {
  const own = commands.filter((c) => c.name.startsWith(`${group} `));
  const width = Math.max(...own.map((c) => c.name.length));
  return `Usage: keygate ${group} <verb> [arguments] [flags]

${own.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Run \`keygate ${group} <verb> --help\` for a verb's flags.`;
}

export function commandHelp(command: Command): string {
  return `Usage: keygate ${command.name} ${command.usage}

${command.summary}${command.details ? `\n\n${command.details.replace(/^\n+|\s+$/g, "")}` : ""}

${GLOBAL_FLAGS}

${EXIT_CODES}`;
}
