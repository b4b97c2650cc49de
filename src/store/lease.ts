/**
 * The lease — how keygate decides at memory speed and still keeps the promise that a management change takes effect
 * on the next request.
 *
 *   Reader (any isolate): what a read returned may decide a request only while `now < sentAt + lease`, where sentAt
 *   is taken *before* the D1 query is sent and `now` is when the request started. Whatever the read returned was
 *   true at some instant after sentAt.
 *   Writer (admin API): after its transaction commits, a write waits `lease` before it answers.
 *
 * Any read that could have returned the old state was sent before the commit, so it is trusted until at most
 * commit + lease — which has passed by the time the writer answers. A request that starts after the write's
 * response is therefore decided by the new state, from D1 or from a read sent after the commit. Each isolate
 * measures only its own durations (no cross-machine clock comparison). In Workers, Date.now() is the time of the
 * last I/O: before a query it is at most the true time, which only shortens the trust window.
 *
 * What renews trust without re-reading the records is a project revision (revisions.ts): a small read that finds a
 * project's revision unchanged proves, at an instant after *it* was sent, that every record read at that revision is
 * still true — so it is as good as a full read sent at the same moment, and the same rule applies to it.
 *
 * AUTH_CACHE_LEASE_MS="0" turns the cache off: every decision reads D1 and writes answer at once.
 */
import { BoundedMap } from "./bounded-map";

/** Called by every admin write after it commits, before it answers, with the same lease the readers use. */
export async function waitOutLeases(leaseMs: number): Promise<void> {
  if (leaseMs > 0) await new Promise((resolve) => setTimeout(resolve, leaseMs));
}

interface Entry<V> {
  value: V;
  trustedUntil: number;
}

/**
 * Values trusted for one lease from their own read and never renewed: what has no project revision to be
 * re-validated by (a secret no key has, a project slug that does not exist).
 */
export class LeaseCache<V> {
  private readonly entries: BoundedMap<Entry<V>>;

  constructor(capacity: number) {
    this.entries = new BoundedMap(capacity);
  }

  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.trustedUntil) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** `sentAt` is when the read that produced `value` was sent, not when it returned. */
  set(key: string, value: V, sentAt: number, lease: number): void {
    if (lease > 0) this.entries.set(key, { value, trustedUntil: sentAt + lease });
  }

  get size(): number {
    return this.entries.size;
  }
}
