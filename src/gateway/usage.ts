/**
 * Key usage (last_used_at, request_count), written off the hot path through ctx.waitUntil. The first use of a key in
 * an isolate is written at once, on its own (as its first decision read D1 once). Every later use waits for the
 * isolate's next write, at most every FLUSH_INTERVAL_MS, which carries the counts of all the keys used meanwhile in one
 * statement: in steady use an isolate writes usage once per interval however many keys it serves. The contract
 * promises last_used_at reflects a use within 10 s; the interval is half that.
 *
 * One UsageRecorder belongs to one Worker instance (createWorker), so a test starts with no pending counts by
 * building a Worker.
 */
import { logLine } from "../log";
import { recordUsage, type KeyUse } from "../store/keys";
import { isoNow } from "../time";

export const FLUSH_INTERVAL_MS = 5000;
/** Keys remembered as written before; one forgotten is written at once again on its next use. */
const MAX_TRACKED_KEYS = 10_000;
/** The log line of a failed write names at most this many keys. */
const LOGGED_KEYS = 10;

interface Pending {
  count: number;
  lastUsedAt: number;
}

export class UsageRecorder {
  private readonly pending = new Map<string, Pending>();
  /** Keys this isolate has written before (insertion order: the oldest is forgotten first). */
  private readonly written = new Set<string>();
  private flushScheduled = false;
  private lastFlushAt = Number.NEGATIVE_INFINITY;

  record(db: D1Database, ctx: ExecutionContext, keyId: string, now: number): void {
    if (!this.written.has(keyId)) {
      this.written.add(keyId);
      if (this.written.size > MAX_TRACKED_KEYS) this.written.delete(this.written.values().next().value as string);
      this.lastFlushAt = Math.max(this.lastFlushAt, now); // later uses wait out the interval from here
      ctx.waitUntil(this.write(db, [{ id: keyId, count: 1, at: isoNow(now) }]));
      return;
    }
    const use = this.pending.get(keyId);
    if (use) {
      use.count += 1;
      use.lastUsedAt = Math.max(use.lastUsedAt, now);
    } else {
      this.pending.set(keyId, { count: 1, lastUsedAt: now });
    }
    if (this.flushScheduled) return; // the scheduled write will carry this use
    this.flushScheduled = true;
    const delay = Math.max(0, this.lastFlushAt + FLUSH_INTERVAL_MS - now);
    const flushed =
      delay === 0 ? this.flush(db) : new Promise((resolve) => setTimeout(resolve, delay)).then(() => this.flush(db));
    ctx.waitUntil(flushed);
  }

  private async flush(db: D1Database): Promise<void> {
    this.flushScheduled = false;
    this.lastFlushAt = Date.now();
    const uses: KeyUse[] = [];
    for (const [id, use] of this.pending) uses.push({ id, count: use.count, at: isoNow(use.lastUsedAt) });
    this.pending.clear();
    if (uses.length > 0) await this.write(db, uses);
  }

  private async write(db: D1Database, uses: KeyUse[]): Promise<void> {
    try {
      await recordUsage(db, uses);
    } catch (err) {
      // Usage is bookkeeping: a failed write is logged, never turned into a failed request.
      const keyIds = uses.slice(0, LOGGED_KEYS).map((u) => u.id);
      logLine({ level: "error", msg: "usage write failed", keys: uses.length, key_ids: keyIds, error: String(err) });
    }
  }
}
