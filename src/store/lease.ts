/**
 * The authorization cache and its lease — how keygate reads at memory speed and still keeps the promise that a
 * management change takes effect on the next request.
 *
 *   Reader (any isolate): an entry is trusted only while `now < readStartedAt + lease`, where readStartedAt is
 *   taken *before* the D1 query is sent. Whatever the read returned, it was true at some instant after that.
 *   Writer (admin API): after its transaction commits, a write waits `lease` before it answers.
 *
 * Any read that could have returned the old state began before the commit, so it is trusted until at most
 * commit + lease — which has passed by the time the writer answers. A request that starts after the write's
 * response therefore reads the new state, from D1 or from an entry read after the commit. Each isolate measures
 * only its own durations (no cross-machine clock comparison). In Workers, Date.now() is the time of the last I/O:
 * before a query it is at most the true time, which only shortens the trust window.
 *
 * AUTH_CACHE_LEASE_MS="0" turns the cache off: every decision reads D1 and writes answer at once.
 */
/** Called by every admin write after it commits, before it answers, with the same lease the readers use. */
export async function waitOutLeases(leaseMs: number): Promise<void> {
  if (leaseMs > 0) await new Promise((resolve) => setTimeout(resolve, leaseMs));
}

interface Entry<V> {
  value: V;
  trustedUntil: number;
}

/**
 * A bounded map of leased values. Map iteration order is insertion order, so deleting and re-inserting on a hit
 * makes the first key the least recently used one: evicting it is O(1).
 */
export class LeaseCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(private readonly capacity: number) {}

  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.trustedUntil) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** `readStartedAt` is when the read that produced `value` was sent, not when it returned. */
  set(key: string, value: V, readStartedAt: number, lease: number): void {
    if (lease <= 0 || this.capacity <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, trustedUntil: readStartedAt + lease });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
