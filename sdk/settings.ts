/**
 * Where a client's settings come from, in this order: the argument passed to the constructor, then the `KEYGATE_*`
 * environment variable, then the default. An empty string counts as unset, in arguments and variables alike (a shell's
 * `KEYGATE_TOKEN=` must not become a token).
 */
import { KeygateError } from "./errors.ts";

/**
 * An environment: `process.env` in Node, a Worker's `env`, or any plain object of strings. Typed `object`, not
 * `Record<string, unknown>`: a Worker's `Env` is an interface, which has no index signature and so would not fit one.
 */
export type Environment = object;

/** The address `npm start` serves keygate on. */
export const DEFAULT_BASE_URL = "http://127.0.0.1:8787";

export const VARIABLES = {
  baseUrl: "KEYGATE_BASE_URL",
  token: "KEYGATE_TOKEN",
  apiKey: "KEYGATE_API_KEY",
  project: "KEYGATE_PROJECT",
} as const;

export type Setting = keyof typeof VARIABLES;

/** `process.env` where there is one (Node, Bun, Deno's compatibility layer); an empty environment elsewhere. */
export function processEnvironment(): Environment {
  const process = (globalThis as { process?: { env?: Environment } }).process;
  return process?.env ?? {};
}

const given = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

/** The setting's value by precedence, or undefined when neither the argument nor the variable gives one. */
export function settingOf(setting: Setting, argument: string | undefined, env: Environment): string | undefined {
  return given(argument) ?? given((env as Readonly<Record<string, unknown>>)[VARIABLES[setting]]);
}

/** Like settingOf, for a setting the client cannot work without: a clear error names the argument and the variable. */
export function requiredSetting(client: string, setting: Setting, argument: string | undefined, env: Environment): string {
  const value = settingOf(setting, argument, env);
  if (value === undefined) {
    throw new KeygateError({
      status: 0,
      type: "configuration_error",
      code: "missing_setting",
      param: setting,
      message: `${client} needs \`${setting}\`: pass it as an argument ({ ${setting}: "…" }) or set ${VARIABLES[setting]}.`,
    });
  }
  return value;
}

/**
 * A credential (`token`, `apiKey`) by precedence, which must be one run of visible ASCII characters: a newline or a
 * space in it (a pasted line, a stray quote) would otherwise fail inside fetch with an error that quotes the whole
 * header, secret included. This error never repeats it.
 */
export function requiredCredential(client: string, setting: "token" | "apiKey", argument: string | undefined, env: Environment): string {
  const value = requiredSetting(client, setting, argument, env);
  if (!/^[\x21-\x7e]+$/.test(value)) {
    throw new KeygateError({
      status: 0,
      type: "configuration_error",
      code: "invalid_setting",
      param: setting,
      message: `${client}: \`${setting}\` (or ${VARIABLES[setting]}) holds a space, a line break or another character a credential cannot have; check how it was copied (it is not repeated here).`,
    });
  }
  return value;
}

/** The base URL by precedence, without a trailing slash, checked to be an http(s) URL. */
export function baseUrlOf(client: string, argument: string | undefined, env: Environment): string {
  const value = settingOf("baseUrl", argument, env) ?? DEFAULT_BASE_URL;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    url = new URL("invalid:");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new KeygateError({
      status: 0,
      type: "configuration_error",
      code: "invalid_setting",
      param: "baseUrl",
      message: `${client}: \`baseUrl\` (or ${VARIABLES.baseUrl}) must be an http(s) URL such as ${DEFAULT_BASE_URL}; got ${JSON.stringify(value)}.`,
    });
  }
  return value.replace(/\/+$/, "");
}
