/**
 * SQL for usage: the per-key counters shown on the key (request_count, last_used_at) and the per-day sums of
 * `GET …/usage`. Written only in coalesced batches (src/gateway/usage.ts): one D1 batch per isolate per flush, with
 * one statement per key and one per (day, key, deployment) that isolate saw since its last flush, each adding to
 * what is stored, so batches from any number of isolates sum exactly. docs/usage.md has the arithmetic.
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

/** One transaction: either every count of the flush is added, or none is (and the flush can be retried whole). */
export async function addUsage(db: D1Database, keys: readonly KeyUse[], days: readonly DayUsage[]): Promise<void> {
  const statements = [
    ...keys.map((use) =>
      db
        .prepare(
          `UPDATE api_keys SET request_count = request_count + ?1,
             last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < ?2 THEN ?2 ELSE last_used_at END
           WHERE id = ?3`,
        )
        .bind(use.count, use.lastUsedAt, use.keyId),
    ),
    ...days.map((day) =>
      db
        .prepare(
          `INSERT INTO usage_daily (project_id, date, key_id, deployment, requests, prompt_tokens, completion_tokens, estimated_tokens)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
           ON CONFLICT (project_id, date, key_id, deployment) DO UPDATE SET
             requests = requests + excluded.requests,
             prompt_tokens = prompt_tokens + excluded.prompt_tokens,
             completion_tokens = completion_tokens + excluded.completion_tokens,
             estimated_tokens = estimated_tokens + excluded.estimated_tokens`,
        )
        .bind(
          day.projectId,
          day.date,
          day.keyId,
          day.deployment,
          day.requests,
          day.promptTokens,
          day.completionTokens,
          day.estimatedTokens,
        ),
    ),
  ];
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
