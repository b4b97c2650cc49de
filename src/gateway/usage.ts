/**
 * Key usage (last_used_at, request_count), written off the hot path through ctx.waitUntil and coalesced per
 * key: the first use in an isolate is written at once, later ones at most every FLUSH_INTERVAL_MS, so a hot key
 * costs one D1 write per isolate per interval instead of one per request. The contract promises last_used_at
 * reflects a use within 10 s; the interval is half that.
 */
import type { Env } from "../env";
import { logLine } from "../log";
import { recordUsage } from "../store/keys";
import { isoNow } from "../time";

export const FLUSH_INTERVAL_MS = 5000;
const MAX_TRACKED_KEYS = 10_000;

interface Pending {
  count: number;
  lastUsedAt: number;
}

const pending = new Map<string, Pending>();
const lastFlushAt = new Map<string, number>();

async function flush(env: Env, keyId: string): Promise<void> {
  const use = pending.get(keyId);
  pending.delete(keyId);
  if (!use) return;
  lastFlushAt.set(keyId, Date.now());
  try {
    await recordUsage(env.DB, keyId, isoNow(use.lastUsedAt), use.count);
  } catch (err) {
    // Usage is bookkeeping: a failed write is logged, never turned into a failed request.
    logLine({ level: "error", msg: "usage write failed", key_id: keyId, error: String(err) });
  }
}

export function recordUse(env: Env, ctx: ExecutionContext, keyId: string, now: number): void {
  const use = pending.get(keyId);
  if (use) {
    use.count += 1;
    use.lastUsedAt = Math.max(use.lastUsedAt, now);
    return; // a flush is already scheduled for this key
  }
  pending.set(keyId, { count: 1, lastUsedAt: now });
  if (lastFlushAt.size > MAX_TRACKED_KEYS) {
    for (const [id, at] of lastFlushAt) if (now - at >= FLUSH_INTERVAL_MS) lastFlushAt.delete(id);
  }
  const delay = Math.max(0, (lastFlushAt.get(keyId) ?? 0) + FLUSH_INTERVAL_MS - now);
  const flushed = delay === 0 ? flush(env, keyId) : new Promise((r) => setTimeout(r, delay)).then(() => flush(env, keyId));
  ctx.waitUntil(flushed);
}
