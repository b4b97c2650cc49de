/**
 * Usage, counted in the isolate and written to D1 in coalesced batches, off the hot path (docs/usage.md):
 *   - per key: request_count and last_used_at, noted when a request is admitted;
 *   - per project, UTC day, key and deployment: requests and tokens, noted when the answer has ended (a stream's
 *     usage is known only at its end).
 * Whatever is pending goes in ONE D1 batch (one transaction) per flush, day rows first, hundreds of rows a statement
 * (store/usage.ts). A flush starts at once when the isolate has not flushed for `intervalMs`, else at the end of that
 * interval, so a busy isolate writes once per interval however many keys it serves, and a quiet one writes at once.
 * The interval is at most 10 s (config.ts): `last_used_at` reflects a use within 10 s. A batch that fails is put back
 * and retried, so nothing counted is lost while the isolate lives.
 *
 * One UsageRecorder belongs to one Worker instance (createWorker), so a test starts with no pending counts by
 * building a Worker.
 */
import { logLine } from "../log";
import { addUsage, UsageWrite, type DayUsage } from "../store/usage";
import { DAY_MS, isoNow, utcDate } from "../time";

/**
 * How long one invocation keeps flushing: its waitUntil may run 30 s after its answer. A round that would start
 * later is left to the next request; a schedule older than STALE_MS is taken for one whose invocation was cut off.
 */
const FLUSHING_MS = 20_000;
const STALE_MS = 30_000;

/**
 * Statements one invocation sends at most: D1 counts each statement of a batch as a query, and a Worker invocation
 * may make 50 on the Workers Free plan (1,000 on Paid); the request's own decision read is one of them. A statement
 * carries hundreds of rows (store/usage.ts, MAX_ROWS_BYTES), so 45 hold about 39,000 day rows with short slugs and
 * at least 18,000; what does not fit waits for the next round or the next request (docs/usage.md).
 */
export const MAX_STATEMENTS_PER_INVOCATION = 45;

/** What one request added: noted when its answer has ended. */
export interface EndedRequest {
  projectId: string;
  /** The deployment's slug, as the request named it. */
  deployment: string;
  /** null: the deployment needed no key. */
  keyId: string | null;
  /** When the answer ended (epoch ms): the UTC day it counts on. */
  at: number;
  promptTokens: number;
  completionTokens: number;
  estimatedTokens: number;
}

export class UsageRecorder {
  private keys = new Map<string, KeyCounts>();
  private days = new Map<string, DayUsage>();
  /** When the flushing invocation was scheduled; null when none is. */
  private scheduledAt: number | null = null;
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  private today = { day: Number.NaN, date: "" };

  /**
   * A request with this key was admitted at `now`. Noted only: the write is scheduled when the request's answer ends
   * (`ended`, which every admitted request reaches), so one request sets off one flush, not one for its start and
   * another for its end. A long stream's use is therefore written at its end, or with any other request's counts
   * the isolate writes meanwhile.
   */
  used(keyId: string, now: number): void {
    addKeyUse(this.keys, keyId, { count: 1, lastUsedAt: now });
  }

  /** A request's answer has ended, with these tokens. */
  ended(db: D1Database, ctx: ExecutionContext, intervalMs: number, request: EndedRequest): void {
    const date = this.dateOf(request.at);
    const keyId = request.keyId ?? "";
    addDay(this.days, `${request.projectId}\n${date}\n${keyId}\n${request.deployment}`, {
      projectId: request.projectId,
      date,
      keyId,
      deployment: request.deployment,
      requests: 1,
      promptTokens: request.promptTokens,
      completionTokens: request.completionTokens,
      estimatedTokens: request.estimatedTokens,
    });
    this.schedule(db, ctx, intervalMs);
  }

  /** The UTC day of `at`, `YYYY-MM-DD`: formatted once a day, not once a request (a Date and an ISO string each). */
  private dateOf(at: number): string {
    const day = Math.floor(at / DAY_MS);
    if (day !== this.today.day) this.today = { day, date: utcDate(day * DAY_MS) };
    return this.today.date;
  }

  /** One flushing invocation at a time; what arrives meanwhile goes with its next round, or the next one's. */
  private schedule(db: D1Database, ctx: ExecutionContext, intervalMs: number): void {
    const now = Date.now();
    if (this.scheduledAt !== null && now - this.scheduledAt < STALE_MS) return;
    this.scheduledAt = now;
    ctx.waitUntil(this.flushWhilePending(db, intervalMs, now));
  }

  /**
   * Flushes, an interval apart, while counts are pending, for at most FLUSHING_MS and MAX_STATEMENTS_PER_INVOCATION:
   * counts that arrive while a batch is on its way go in the next round rather than waiting for another request. A
   * failed batch is put back and tried again in the next round.
   */
  private async flushWhilePending(db: D1Database, intervalMs: number, startedAt: number): Promise<void> {
    let budget = MAX_STATEMENTS_PER_INVOCATION;
    try {
      while (budget > 0 && (this.keys.size > 0 || this.days.size > 0)) {
        const delay = Math.max(0, this.lastFlushAt + intervalMs - Date.now());
        if (Date.now() + delay - startedAt > FLUSHING_MS) break;
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        budget -= await this.flush(db, budget);
      }
    } finally {
      if (this.scheduledAt === startedAt) this.scheduledAt = null;
    }
  }

  /**
   * Writes what is pending, oldest first, in one batch of at most `max` statements: the day rows first, then the key
   * uses, so when the statements run out it is the usage figures that are written and the key counters that wait.
   * @returns how many statements it sent
   */
  private async flush(db: D1Database, max: number): Promise<number> {
    const write = new UsageWrite(max);
    const days = takeWhile(this.days, (day) => write.addDay(day));
    const keys = takeWhile(this.keys, (use, keyId) =>
      write.addKey({ keyId, count: use.count, lastUsedAt: isoNow(use.lastUsedAt) }),
    );
    this.lastFlushAt = Date.now();
    try {
      await addUsage(db, write);
    } catch (err) {
      // The batch is one transaction: nothing of it was written, so all of it goes back, to be added again. (Should
      // D1 have committed it and the answer been lost, it is added twice: counts are at least once, not exactly.)
      this.putBack(keys, days);
      // Usage is bookkeeping: a failed write is logged, never turned into a failed request.
      logLine({ level: "error", msg: "usage write failed", key_ids: [...keys.keys()], error: String(err) });
    }
    return write.statements;
  }

  private putBack(keys: Map<string, KeyCounts>, days: Map<string, DayUsage>): void {
    for (const [keyId, use] of keys) addKeyUse(this.keys, keyId, use);
    for (const [id, day] of days) addDay(this.days, id, day);
  }

}

/** A key's uses not yet written. */
interface KeyCounts {
  count: number;
  lastUsedAt: number;
}

/** Adds uses of a key to what `keys` holds for it (a request's, or a failed batch's put back). */
function addKeyUse(keys: Map<string, KeyCounts>, keyId: string, use: KeyCounts): void {
  const held = keys.get(keyId);
  if (held === undefined) keys.set(keyId, { ...use });
  else {
    held.count += use.count;
    held.lastUsedAt = Math.max(held.lastUsedAt, use.lastUsedAt);
  }
}

/** Adds a day's counts to what `days` holds under `id` (a request's, or a failed batch's put back). */
function addDay(days: Map<string, DayUsage>, id: string, day: DayUsage): void {
  const held = days.get(id);
  if (held === undefined) days.set(id, { ...day });
  else {
    held.requests += day.requests;
    held.promptTokens += day.promptTokens;
    held.completionTokens += day.completionTokens;
    held.estimatedTokens += day.estimatedTokens;
  }
}

/** The entries of `map`, oldest first (a Map keeps insertion order), moved out until `accept` refuses one. */
function takeWhile<V>(map: Map<string, V>, accept: (value: V, id: string) => boolean): Map<string, V> {
  const taken = new Map<string, V>();
  for (const [id, value] of map) {
    if (!accept(value, id)) break;
    taken.set(id, value);
  }
  for (const id of taken.keys()) map.delete(id);
  return taken;
}
