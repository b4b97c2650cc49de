/**
 * Key usage (last_used_at, request_count), written off the hot path through ctx.waitUntil and coalesced per
 * key: the first use in an isolate is written at once, later ones at most every FLUSH_INTERVAL_MS, so a hot key
 * costs one D1 write per isolate per interval instead of one per request. The contract promises last_used_at
 * reflects a use within 10 s; the interval is half that.
 *
 * One UsageRecorder belongs to one Worker instance (createWorker), so a test starts with no pending counts by
 * building a Worker.
 */
import { logLine } from "../log";
import { recordUsage } from "../store/keys";
import { isoNow } from "../time";

export const FLUSH_INTERVAL_MS = 5000;
const MAX_TRACKED_KEYS = 10_000;

interface Pending {
  count: number;
  lastUsedAt: number;
}

export class UsageRecorder {
  private readonly pending = new Map<string, Pending>();
  private readonly lastFlushAt = new Map<string, number>();

  record(db: D1Database, ctx: ExecutionContext, keyId: string, now: number): void {
    const use = this.pending.get(keyId);
    if (use) {
      use.count += 1;
      use.lastUsedAt = Math.max(use.lastUsedAt, now);
      return; // a flush is already scheduled for this key
    }
    this.pending.set(keyId, { count: 1, lastUsedAt: now });
    if (this.lastFlushAt.size > MAX_TRACKED_KEYS) {
      for (const [id, at] of this.lastFlushAt) if (now - at >= FLUSH_INTERVAL_MS) this.lastFlushAt.delete(id);
    }
    const delay = Math.max(0, (this.lastFlushAt.get(keyId) ?? 0) + FLUSH_INTERVAL_MS - now);
    const flushed =
      delay === 0
        ? this.flush(db, keyId)
        : new Promise((resolve) => setTimeout(resolve, delay)).then(() => this.flush(db, keyId));
    ctx.waitUntil(flushed);
  }

  private async flush(db: D1Database, keyId: string): Promise<void> {
    const use = this.pending.get(keyId);
    this.pending.delete(keyId);
    if (!use) return;
    this.lastFlushAt.set(keyId, Date.now());
    try {
      await recordUsage(db, keyId, isoNow(use.lastUsedAt), use.count);
    } catch (err) {
      // Usage is bookkeeping: a failed write is logged, never turned into a failed request.
      logLine({ level: "error", msg: "usage write failed", key_id: keyId, error: String(err) });
    }
  }
}
