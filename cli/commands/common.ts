/**
 * What the resource verbs share: positional arguments, `--limit` over a List, `--data` for any API field, `--yes`
 * before a delete, and the one way a secret is shown. Each rule lives here once so every verb behaves alike.
 */
import { readFileSync } from "node:fs";
import type { ParseArgsOptionsConfig } from "node:util";
import { type ApiKey, type List, MAX_PAGE } from "../../sdk/index.ts";
import { type Parsed, UsageError } from "../command.ts";
import type { Output } from "../output.ts";

type Values = Parsed["values"];

/** Exactly these positional arguments, in order, or a usage error naming the first one missing. */
export function args<N extends string>(positionals: string[], ...names: N[]): Record<N, string> {
  const missing = names[positionals.length];
  if (missing !== undefined) throw new UsageError(`missing <${missing}>`);
  if (positionals.length > names.length) throw new UsageError(`unexpected argument '${positionals[names.length]}'`);
  return Object.fromEntries(names.map((name, i) => [name, positionals[i]!])) as Record<N, string>;
}

export const LIST_OPTIONS = { limit: { type: "string" } } satisfies ParseArgsOptionsConfig;
export const LIST_DETAILS = "  --limit N          stop after N rows (default: every page)";

/** A list's rows: every page, or the first `--limit` rows (asking for pages of that size, at most the API's 100). */
export async function rows<T>(values: Values, list: (query: { limit?: number }) => List<T>, maxPage = MAX_PAGE): Promise<T[]> {
  if (values.limit === undefined) return list({ limit: maxPage }).toArray();
  const limit = positiveInteger(values.limit, "--limit");
  const taken: T[] = [];
  for await (const row of list({ limit: Math.min(limit, maxPage) })) {
    taken.push(row);
    if (taken.length >= limit) break;
  }
  return taken;
}

export function positiveInteger(value: unknown, flag: string, min = 1): number {
  const text = String(value);
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${flag} must be a whole number ≥ ${min}, not '${text}'`);
  }
  return Number(text);
}

export const DATA_OPTIONS = { data: { type: "string" } } satisfies ParseArgsOptionsConfig;
export const DATA_DETAILS =
  "  --data JSON        the request body as JSON, for any field the API takes (docs/api.md); @FILE reads it from a\n" +
  "                     file, @- from stdin. Flags given as well win over its fields.";

/** The `--data` body (`{}` without it): a JSON object, inline, `@file` or `@-` (stdin). */
export function data(values: Values): Record<string, unknown> {
  const text = values.data as string | undefined;
  if (text === undefined) return {};
  let source = text;
  if (text.startsWith("@")) {
    const file = text.slice(1);
    try {
      source = readFileSync(file === "-" ? 0 : file, "utf8");
    } catch (err) {
      throw new UsageError(`--data ${text}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  let body: unknown;
  try {
    body = JSON.parse(source);
  } catch {
    // Not V8's message: it quotes the text around the mistake, which may be an origin header's value.
    throw new UsageError("--data is not valid JSON (its text is not repeated here: it may hold a secret)");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new UsageError("--data must be a JSON object");
  return body as Record<string, unknown>;
}

/** The fields the flags set, without the ones left out (undefined), so `{...data, ...defined(flags)}` lets flags win. */
export function defined<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** An update with nothing in it is a mistake on the command line, not a no-op to send. */
export function changes<T extends object>(body: T, flags: string): T {
  if (Object.keys(body).length === 0) throw new UsageError(`nothing to change: give ${flags} or --data`);
  return body;
}

/** A `--x` / `--no-x` pair as true, false or undefined. */
export function toggle(values: Values, name: string): boolean | undefined {
  if (values[name] && values[`no-${name}`]) throw new UsageError(`--${name} and --no-${name} contradict each other`);
  return values[name] ? true : values[`no-${name}`] ? false : undefined;
}

export function list(values: Values, name: string): string[] | undefined {
  return values[name] as string[] | undefined;
}

export function string(values: Values, name: string): string | undefined {
  return values[name] as string | undefined;
}

export function oneOf<T extends string>(values: Values, name: string, allowed: readonly T[]): T | undefined {
  const value = values[name] as string | undefined;
  if (value !== undefined && !allowed.includes(value as T)) throw new UsageError(`--${name} must be one of ${allowed.join(", ")}, not '${value}'`);
  return value as T | undefined;
}

export const YES_OPTIONS = { yes: { type: "boolean" } } satisfies ParseArgsOptionsConfig;

/** Deletes cannot be undone: they run only with --yes, so a slip of history recall does not delete. */
export function confirmed(values: Values, what: string): void {
  if (!values.yes) throw new UsageError(`${what}; this cannot be undone: add --yes`);
}

/**
 * A created or rolled secret: under --json it is in the object printed; in a table it is printed once, after the
 * object, on its own line so `| tail -1` or a glance finds it. Nowhere else does the CLI print a secret.
 */
export function printWithSecret<T extends object>(out: Output, object: T, secretField: keyof T & string, fields: (keyof T & string)[]): void {
  if (out.json) return out.object(object);
  out.object(object, fields.filter((field) => field !== secretField));
  out.info("");
  out.info(`${secretField} (shown once, store it now; keygate keeps only its hash):`);
  out.raw(String(object[secretField]));
}

/** active, revoked or expired, as the data plane would see the key (or token) now. */
export function status(item: Pick<ApiKey, "revoked_at" | "expires_at">, now = Date.now()): string {
  if (item.revoked_at) return "revoked";
  if (item.expires_at && Date.parse(item.expires_at) <= now) return "expired";
  return "active";
}
