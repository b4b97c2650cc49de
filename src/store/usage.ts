/**
 * SQL for usage: the per-key counters shown on the key (request_count, last_used_at) and the per-day sums of
 * `GET …/usage`. Written only in coalesced batches (src/gateway/usage.ts): one D1 batch per isolate per flush, each
 * statement adding to what is stored, so batches from any number of isolates sum exactly. A statement carries many
 * rows as one bound JSON array (read with json_each, as the policy rules are written), so a flush of any number of
 * keys and (day, key, deployment) rows costs a few statements, not one per row. docs/usage.md has the arithmetic.
 */
import { all, batch } from "./db";

/** Uses of one key since the last flush. */
export interface KeyUse {
  keyId: string;
  count: number;
  lastUsedAt: string;
}

/** What requests that ended on one UTC day added for one key (or none: '') and deployment of a project. */
export interface DayUsage {
  projectId: string;
  date: string;
  keyId: string;
  deployment: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  estimatedTokens: number;
}

/**
 * Most bytes of the JSON array one statement binds. D1 takes a bound string of up to 2 MB, and a statement's text of
 * up to 100 KB; 90 KB keeps the array and the statement's own text under 100 KB together, should D1 ever count the
 * one in the other. A day row is about 100 bytes with a short slug and at most 214 (ids of 30 characters, a slug of
 * at most 63, four counts of at most 16 digits), a key row at most 78: a statement carries about 870 day rows and at
 * least 420, or at least 1,100 key rows.
 */
export const MAX_ROWS_BYTES = 90_000;

/**
 * ?1: JSON `[[project_id, date, key_id, deployment, requests, prompt_tokens, completion_tokens, estimated_tokens], …]`,
 * no two rows with the same (project_id, date, key_id, deployment). `WHERE true` lets SQLite tell the upsert's
 * `ON CONFLICT` from a join's `ON`.
 */
const ADD_DAYS = `INSERT INTO usage_daily (project_id, date, key_id, deployment, requests, prompt_tokens, completion_tokens, estimated_tokens)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'),
  json_extract(value, '$[4]'), json_extract(value, '$[5]'), json_extract(value, '$[6]'), json_extract(value, '$[7]')
FROM json_each(?1) WHERE true
ON CONFLICT (project_id, date, key_id, deployment) DO UPDATE SET
  requests = requests + excluded.requests,
  prompt_tokens = prompt_tokens + excluded.prompt_tokens,
  completion_tokens = completion_tokens + excluded.completion_tokens,
  estimated_tokens = estimated_tokens + excluded.estimated_tokens`;

/**
 * ?1: JSON `[[key_id, count, last_used_at], …]`, no key twice. Each key is found by its id (the primary key), as when
 * it was one statement per key; an id no key has any more (deleted since) changes nothing.
 */
const ADD_KEY_USES = `UPDATE api_keys SET request_count = request_count + u.count,
  last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < u.at THEN u.at ELSE last_used_at END
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS count, json_extract(value, '$[2]') AS at
      FROM json_each(?1)) AS u
WHERE api_keys.id = u.id`;

const utf8 = new TextEncoder();

/** Rows packed greedily, in the order given, into JSON arrays of at most MAX_ROWS_BYTES: one statement each. */
class Packed {
  readonly arrays: string[][] = [];
  /** Bytes of the last array as JSON: its brackets, rows and commas. */
  private bytes = 0;

  fits(bytes: number): boolean {
    return this.arrays.length > 0 && this.bytes + 1 + bytes <= MAX_ROWS_BYTES;
  }

  append(row: string, bytes: number): void {
    this.arrays[this.arrays.length - 1]!.push(row);
    this.bytes += 1 + bytes;
  }

  /** A row starts a statement of its own (one longer than MAX_ROWS_BYTES, which ids and slugs cannot make, too). */
  start(row: string, bytes: number): void {
    this.arrays.push([row]);
    this.bytes = 2 + bytes;
  }
}

/**
 * What one flush writes, in at most `maxStatements` statements: rows are added while they fit in a statement begun
 * or in one more. Day rows go first in the batch, then key rows.
 */
export class UsageWrite {
  private readonly days = new Packed();
  private readonly keys = new Packed();

  constructor(private readonly maxStatements: number) {}

  /** Statements the batch will send. */
  get statements(): number {
    return this.days.arrays.length + this.keys.arrays.length;
  }

  /** @returns false, adding nothing, when the row would need a statement beyond `maxStatements` */
  addDay(day: DayUsage): boolean {
    const { projectId, date, keyId, deployment, requests, promptTokens, completionTokens, estimatedTokens } = day;
    return this.add(this.days, JSON.stringify([projectId, date, keyId, deployment, requests, promptTokens, completionTokens, estimatedTokens]));
  }

  /** @returns false, adding nothing, when the row would need a statement beyond `maxStatements` */
  addKey(use: KeyUse): boolean {
    return this.add(this.keys, JSON.stringify([use.keyId, use.count, use.lastUsedAt]));
  }

  private add(packed: Packed, row: string): boolean {
    const bytes = utf8.encode(row).byteLength;
    if (packed.fits(bytes)) packed.append(row, bytes);
    else if (this.statements < this.maxStatements) packed.start(row, bytes);
    else return false;
    return true;
  }

  /** The batch's statements: the day rows', then the keys'. */
  prepare(db: D1Database): D1PreparedStatement[] {
    const bound = (sql: string, packed: Packed) =>
      packed.arrays.map((rows) => db.prepare(sql).bind(`[${rows.join(",")}]`));
    return [...bound(ADD_DAYS, this.days), ...bound(ADD_KEY_USES, this.keys)];
  }
}

/** One transaction: either every count of the write is added, or none is (and the write can be retried whole). */
export async function addUsage(db: D1Database, write: UsageWrite): Promise<void> {
  const statements = write.prepare(db);
  if (statements.length > 0) await batch(db, statements);
}

export interface UsageRow {
  date: string;
  key_id: string;
  deployment: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  estimated_tokens: number;
}

export interface UsageQuery {
  /** `YYYY-MM-DD`, inclusive. */
  from: string;
  to: string;
  keyId: string | null;
  deployment: string | null;
  /** The last row of the previous page: [date, key_id, deployment]. */
  after: [string, string, string] | null;
}

/** Oldest day first, then by key and deployment: a stable order for a report. */
export function listUsage(db: D1Database, projectId: string, query: UsageQuery, limit: number) {
  return all<UsageRow>(
    db
      .prepare(
        `SELECT date, key_id, deployment, requests, prompt_tokens, completion_tokens, estimated_tokens FROM usage_daily
         WHERE project_id = ?1 AND date >= ?2 AND date <= ?3 AND (?4 IS NULL OR key_id = ?4) AND (?5 IS NULL OR deployment = ?5)
           AND (?6 IS NULL OR (date, key_id, deployment) > (?6, ?7, ?8))
         ORDER BY date, key_id, deployment LIMIT ?9`,
      )
      .bind(projectId, query.from, query.to, query.keyId, query.deployment, ...(query.after ?? [null, null, null]), limit),
  );
}
