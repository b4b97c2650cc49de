/**
 * `keygate`: the command line over the SDK. `keygate <resource> <verb> [args] [flags]`, `keygate apply -f FILE`, …
 * Exit codes a script can trust: 0 done, 1 the API (or the network) said no (its error code is printed),
 * 2 the command line was wrong (unknown command or flag, a missing argument or setting).
 */
import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { KeygateError, ManagementClient } from "../sdk/index.ts";
import { type Command, type Context, EXIT, UsageError } from "./command.ts";
import { COMMANDS } from "./commands/index.ts";
import { commandHelp, groupHelp, mainHelp } from "./help.ts";
import { createOutput, type Streams } from "./output.ts";

export const GLOBAL_OPTIONS = {
  "base-url": { type: "string" },
  token: { type: "string" },
  project: { type: "string", short: "p" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} satisfies ParseArgsOptionsConfig;

export interface MainOptions {
  env?: Record<string, string | undefined>;
  streams?: Streams;
}

export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const streams = options.streams ?? process;
  const json = argv.includes("--json");
  const out = createOutput(json, streams);
  const words = commandWords(argv).map(({ word }) => word);
  const command = findCommand(words);
  const wantsHelp = argv.includes("--help") || argv.includes("-h");

  if (!command) {
    if (argv.includes("--version")) return out.raw(version()), EXIT.ok;
    const group = words[0] !== undefined && COMMANDS.some((c) => c.name.startsWith(`${words[0]} `)) ? words[0] : undefined;
    if (group !== undefined) {
      out.raw(groupHelp(group, COMMANDS));
      if (wantsHelp && words.length === 1) return EXIT.ok;
      out.error(words.length === 1 ? `keygate ${group}: give a verb; see above` : `keygate: '${words.slice(0, 2).join(" ")}' is not a command; see above`);
      return EXIT.usage;
    }
    if (words.length === 0) return out.raw(mainHelp(COMMANDS)), wantsHelp ? EXIT.ok : EXIT.usage;
    out.error(`keygate: unknown command '${words[0]}'. Run \`keygate --help\` for the list.`);
    return EXIT.usage;
  }
  if (wantsHelp) return out.raw(commandHelp(command)), EXIT.ok;

  let parsed;
  try {
    parsed = parseArgs({
      args: withoutCommandWords(argv, command),
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    out.error(`keygate ${command.name}: ${(err as Error).message.replaceAll("\n", " ")}`);
    out.error(`usage: keygate ${command.name} ${command.usage}   (--help for more)`);
    return EXIT.usage;
  }

  let client: ManagementClient | undefined;
  const context: Context = {
    out,
    env,
    client: () =>
      (client ??= new ManagementClient({
        baseUrl: parsed.values["base-url"] as string | undefined,
        token: parsed.values.token as string | undefined,
        project: parsed.values.project as string | undefined,
        env,
      })),
  };
  try {
    return (await command.run(context, parsed)) ?? EXIT.ok;
  } catch (err) {
    return reportFailure(err, command, out);
  }
}

function reportFailure(err: unknown, command: Command, out: ReturnType<typeof createOutput>): number {
  if (err instanceof UsageError) {
    out.error(`keygate ${command.name}: ${err.message}`);
    out.error(`usage: keygate ${command.name} ${command.usage}   (--help for more)`);
    return EXIT.usage;
  }
  if (err instanceof KeygateError) {
    if (err.type === "configuration_error") {
      out.error(`keygate ${command.name}: ${cliSetting(err.message)}`);
      return EXIT.usage;
    }
    const code = err.code ?? err.type;
    out.error(`keygate ${command.name}: error ${code}${err.status ? ` (HTTP ${err.status})` : ""}: ${err.message}`);
    if (err.param) out.error(`  param: ${err.param}`);
    if (err.requestId) out.error(`  request id: ${err.requestId}`);
    return EXIT.apiError;
  }
  out.error(`keygate ${command.name}: ${(err as Error)?.stack ?? String(err)}`);
  return EXIT.apiError;
}

/** The SDK names its arguments (`{ token: "…" }`); on the command line they are flags. */
function cliSetting(message: string): string {
  return message
    .replace(/^(Management|Data)Client needs/, "keygate needs")
    .replace(/^(Management|Data)Client: /, "")
    .replace("pass it as an argument ({ token: \"…\" })", "pass --token")
    .replace("pass it as an argument ({ project: \"…\" })", "pass --project (-p)")
    .replace("pass it as an argument ({ baseUrl: \"…\" })", "pass --base-url");
}

/** The longest command whose words start the positional words: "keys create" before "keys". */
function findCommand(words: string[]): Command | undefined {
  const two = words.slice(0, 2).join(" ");
  return COMMANDS.find((c) => c.name === two) ?? COMMANDS.find((c) => c.name === words[0]);
}

/** Global flags that take a value: `keygate -p demo keys list` has "demo" as -p's value, not as a command word. */
const GLOBAL_VALUE_FLAGS = new Set(Object.entries(GLOBAL_OPTIONS).flatMap(([name, option]) =>
  option.type === "string" ? [`--${name}`, ...("short" in option ? [`-${option.short}`] : [])] : []));

/** The words that are neither flags nor a global flag's value, with their places in argv: the command's name is the first one or two (its own flags come after it). */
function commandWords(argv: string[]): { word: string; index: number }[] {
  const words: { word: string; index: number }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (GLOBAL_VALUE_FLAGS.has(arg)) i++;
    else if (!arg.startsWith("-")) words.push({ word: arg, index: i });
  }
  return words;
}

/** argv without the command's own words (found where commandWords found them, not by value: `keys create --name keys`). */
function withoutCommandWords(argv: string[], command: Command): string[] {
  const taken = new Set(commandWords(argv).slice(0, command.name.split(" ").length).map(({ index }) => index));
  return argv.filter((_, index) => !taken.has(index));
}

/** The version in the package's own package.json (the clone's, or the installed package's), which a release sets. */
function version(): string {
  return JSON.parse(readFileSync(new URL(import.meta.resolve("keygate/package.json")), "utf8")).version;
}
