/**
 * Project revisions: how an isolate keeps everything it has cached trusted with one small query per lease, however
 * many keys it holds.
 *
 * Every management write raises its project's revision in the same transaction as the change (the trigger in
 * migrations/0003_iam.sql, on the audit event every write records), so between two instants at which a project's
 * revision reads the same, nothing of that project changed. Each cached record remembers the revision it was read
 * under, read in the same statement as the record (one snapshot). Then:
 *
 *   - A read sent at `sentAt` that sees project P at revision R proves every record of P read at R still true at an
 *     instant after sentAt: records at R are trusted until sentAt + lease, exactly as if each had been re-read then
 *     (the rule of lease.ts, unchanged). That read may be a full decision read or the small validation below.
 *   - A read that sees R' > R proves the records at R stale: they are never used again.
 *   - A read that sees R' < R (sent before a read that returned first) is older than what the isolate knows: its
 *     records are used for the request that read them, never cached.
 *
 * Validation is `SELECT id, revision FROM projects WHERE id IN (…)` over every project the isolate trusts, so D1
 * load grows with isolates, not with keys. Refresh-ahead: a request served from the cache whose project's trust ends
 * within the refresh margin starts that validation in the background (ctx.waitUntil), so a key in steady use never
 * waits for D1; the request itself is decided by the trust it already had. Nothing is trusted past sentAt + lease of
 * the latest read that saw its revision.
 */
import { loadRevisions } from "./authorization";
import { BoundedMap } from "./bounded-map";

interface Trust {
  revision: number;
  trustedUntil: number;
}

export class ProjectTrust {
  private readonly projects: BoundedMap<Trust>;
  private inFlight: Promise<void> | null = null;
  /** The last validation's round trip: the refresh margin covers twice that, so it ends before trust does. */
  private roundTripMs = 0;

  constructor(capacity: number) {
    this.projects = new BoundedMap(capacity);
  }

  /** Whether a record read at `revision` of `projectId` may decide a request that started at `now`. */
  trusts(projectId: string, revision: number, now: number): boolean {
    const trust = this.projects.get(projectId);
    return trust !== undefined && trust.revision === revision && now < trust.trustedUntil;
  }

  /** Whether a record read at `revision` is known to be stale: its project has moved on, or is gone. */
  superseded(projectId: string, revision: number): boolean {
    const trust = this.projects.get(projectId);
    return trust !== undefined && trust.revision > revision;
  }

  /**
   * What a read sent at `sentAt` saw of one project.
   * @returns whether records read at this revision may be cached (false: the isolate already knows a newer one)
   */
  observe(projectId: string, revision: number, sentAt: number, lease: number): boolean {
    const trust = this.projects.get(projectId);
    if (trust === undefined || revision > trust.revision) {
      this.projects.set(projectId, { revision, trustedUntil: sentAt + lease });
      return true;
    }
    if (revision < trust.revision) return false;
    trust.trustedUntil = Math.max(trust.trustedUntil, sentAt + lease);
    return true;
  }

  /** Whether the project's trust ends within the refresh margin, and no validation is on its way. */
  due(projectId: string, now: number, lease: number): boolean {
    if (this.inFlight !== null) return false;
    const trust = this.projects.get(projectId);
    const margin = Math.min(lease / 2, Math.max(lease / 4, 2 * this.roundTripMs));
    return trust !== undefined && now >= trust.trustedUntil - margin;
  }

  /**
   * Re-validates, in one query, every project still trusted at `now`. A project whose trust has ended is forgotten:
   * its records are read again in full when a request needs them (which renews the project). One validation at a
   * time: a call while one is on its way shares it.
   * @throws StoreError when the store fails (nothing is renewed then)
   */
  validate(db: D1Database, lease: number, now: number): Promise<void> {
    if (this.inFlight !== null) return this.inFlight;
    const projectIds: string[] = [];
    for (const id of [...this.projects.keys()]) {
      const trust = this.projects.get(id);
      if (trust !== undefined && now < trust.trustedUntil) projectIds.push(id);
      else this.projects.delete(id);
    }
    if (projectIds.length === 0) return Promise.resolve();
    const validation = this.run(db, lease, projectIds).finally(() => {
      this.inFlight = null;
    });
    this.inFlight = validation;
    return validation;
  }

  private async run(db: D1Database, lease: number, projectIds: string[]): Promise<void> {
    const sentAt = Date.now();
    const revisions = await loadRevisions(db, projectIds);
    this.roundTripMs = Date.now() - sentAt;
    for (const id of projectIds) {
      const revision = revisions.get(id);
      if (revision === undefined) this.projects.delete(id); // deleted: nothing of it is trusted again
      else this.observe(id, revision, sentAt, lease);
    }
  }
}
