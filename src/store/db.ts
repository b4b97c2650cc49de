/**
 * The one place that talks to D1 directly. Every failure leaves here as a StoreError (store/errors.ts):
 * `conflict` for a UNIQUE violation, `unavailable` for anything else. The raw D1 message stays in `cause`, for
 * logs only.
 */
import { storeErrorOf as translate } from "./errors";

export async function first<T>(stmt: D1PreparedStatement): Promise<T | null> {
  try {
    return await stmt.first<T>();
  } catch (err) {
    throw translate(err);
  }
}

export async function all<T>(stmt: D1PreparedStatement): Promise<T[]> {
  try {
    return (await stmt.all<T>()).results;
  } catch (err) {
    throw translate(err);
  }
}

/** Writes that belong together commit together: D1 runs a batch as one transaction. */
export async function batch(db: D1Database, statements: D1PreparedStatement[]): Promise<D1Result[]> {
  try {
    return await db.batch(statements);
  } catch (err) {
    throw translate(err);
  }
}

/** Changes of the statement at `index` of a batch result. */
export function changes(results: D1Result[], index: number): number {
  return results[index]?.meta.changes ?? 0;
}

/**
 * The `SET` list for the columns a PATCH named, and only those: two PATCHes of different fields that overlap can
 * then never write back each other's stale values (a read-merge-write of every column would). The names are keys
 * of objects built in code from a schema, never client text.
 */
export function setClause(fields: Record<string, unknown>): { sql: string; values: unknown[] } {
  const names = Object.keys(fields).filter((name) => fields[name] !== undefined);
  return { sql: names.map((name) => `${name} = ?`).join(", "), values: names.map((name) => fields[name]) };
}

/** Whether a PATCH named any column at all (an absent field is `undefined`). */
export function namesAField(fields: Record<string, unknown>): boolean {
  return Object.values(fields).some((value) => value !== undefined);
}
