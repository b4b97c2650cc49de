/**
 * Project revisions: how an isolate keeps everything it has cached trusted with one small query per lease, however
 * many keys it holds, and loses only what a write touched.
 *
 * Every management write raises its project's revision in the same transaction as the change, once per audit event,
 * and stamps the event with the revision it made (the trigger in migrations/0005_revision_events.sql). So between two
 * instants at which a project's revision reads the same, nothing of that project changed; and when it reads R' where
 * the isolate held R, the events R+1…R' are exactly what changed. Each cached record remembers the revision it was read
 * under, read in the same statement as the record (one snapshot). A project's trust is `{revision, validFrom,
 * trustedUntil}`: a record read at r may decide a request that started at `now` while validFrom ≤ r ≤ revision and
 * now < trustedUntil. Then:
 *
 *   - A read sent at `sentAt` that sees the project at the held revision proves every record held for it still true
 *     at an instant after sentAt: trust extends to sentAt + lease, exactly as if each had been re-read then (the rule
 *     of lease.ts, unchanged). That read may be a full decision read or the small validation below.
 *   - A validation that sees R' > R comes with the events R+1…R' from the same snapshot. The records those events
 *     touched are dropped; every other record was still true at that instant, so the project moves to R' with the
 *     others kept and trusted until sentAt + lease. Events that are not exactly R+1…R' (too many, or written before
 *     the migration), or one whose reach is not known record by record, drop the whole project (validFrom = R').
 *   - A full read that sees a revision other than the held one is used for its own request and never cached: older,
 *     it may predate a change already applied; newer, the changes in between are not known yet (a validation is
 *     started to learn them).
 *
 * Validation asks D1 for every project the isolate has used lately, in one query, so D1 load grows with isolates,
 * not with keys. Refresh-ahead: a request served from the cache whose project's trust ends within the refresh margin
 * starts that validation in the background (ctx.waitUntil), so a key in steady use never waits for D1; the request
 * itself is decided by the trust it already had. Nothing is trusted past sentAt + lease of the latest read that
 * vouched for it.
 */
import type { ProjectRevision, RevisionEvent } from "./authorization";
import { loadProjectsNow, STORE_TIMEOUT_MS } from "./authorization";
import { BoundedMap } from "./bounded-map";

/** What a run of events changed in one project, for the cache to drop (the `changed` callback). */
export interface ProjectChanges {
  /** Every record of the project: a change whose reach is not known record by record. */
  whole: boolean;
  /** Keys whose own rows changed (updated, revoked, rolled, linked, unlinked). */
  keyIds: Set<string>;
  /** Deployments whose rows changed; with any of them, every "no such deployment" the project holds too. */
  deploymentIds: Set<string>;
  /** An application or policy changed: every application key of the project. */
  applicationKeys: boolean;
}

/** Beyond this many events since the held revision, the whole project is dropped (they are not even read). */
export const MAX_EVENTS = 64;

/** A project not used for this long is not validated any more; its records are read again when next needed. */
const IDLE_MS = 60_000;

/** What each audit action can change in the cached records (src/store/*: every write and its event). */
function reachOf(changes: ProjectChanges, { action, target }: RevisionEvent): void {
  switch (action) {
    case "key.create": // a new key: nothing cached can be it (unknown secrets are never renewed, lease.ts)
    case "token.create":
    case "token.revoke": // management tokens are not data-plane records
      return;
    case "key.update":
    case "key.revoke":
    case "key.roll":
    case "key.link":
    case "key.unlink":
      changes.keyIds.add(target);
      return;
    case "deployment.create":
    case "deployment.update":
    case "deployment.delete":
      // A deleted deployment's id may stay in keys' and rules' links: ids are never reused, so it decides nothing.
      changes.deploymentIds.add(target);
      return;
    case "application.create":
    case "application.update":
    case "application.delete":
    case "policy.create":
    case "policy.update":
    case "policy.delete":
      changes.applicationKeys = true;
      return;
    default: // project.* and anything not listed: fail safe
      changes.whole = true;
  }
}

/** The changes the events R+1…R' make, or null when they are not exactly those events. */
export function changesOf(held: number, revision: number, events: RevisionEvent[] | null): ProjectChanges | null {
  if (events === null || events.length !== revision - held) return null;
  const sorted = [...events].sort((a, b) => a.revision - b.revision);
  if (sorted.some((event, i) => event.revision !== held + 1 + i)) return null;
  const changes: ProjectChanges = { whole: false, keyIds: new Set(), deploymentIds: new Set(), applicationKeys: false };
  for (const event of sorted) reachOf(changes, event);
  return changes;
}

interface Trust {
  /** The revision records are proven true at, and what the answer reports: shared by every hit. */
  current: ProjectRevision;
  /** The oldest revision a record may have been read at and still be trusted. */
  validFrom: number;
  trustedUntil: number;
  /** When a request last used the project: validation keeps only projects in use (IDLE_MS). */
  lastUsedAt: number;
}

/** What a full read's revision means for caching its records. */
export type Observed = "cache" | "skip" | "behind";

export class ProjectTrust {
  private readonly projects: BoundedMap<Trust>;
  /** When the validation on its way was started; null when none is. */
  private inFlightSince: number | null = null;
  /** The last validation's round trip: the refresh margin covers twice that, so it ends before trust does. */
  private roundTripMs = 0;

  /** @param changed drops the cached records a run of events touched, before the project moves past them */
  constructor(
    capacity: number,
    private readonly changed: (projectId: string, changes: ProjectChanges) => void,
  ) {
    this.projects = new BoundedMap(capacity);
  }

  /**
   * The project's current revision when a record read at `revision` may decide a request that started at `now`:
   * what the answer reports. Null when it may not.
   */
  trusts(projectId: string, revision: number, now: number): ProjectRevision | null {
    const trust = this.projects.get(projectId);
    if (trust === undefined || now >= trust.trustedUntil) return null;
    if (revision < trust.validFrom || revision > trust.current.revision) return null;
    trust.lastUsedAt = Math.max(trust.lastUsedAt, now);
    return trust.current;
  }

  /**
   * Whether a validation could still vouch for a record read at `revision`: its project is held (not forgotten,
   * deleted or idle) and has not dropped it.
   */
  renewable(projectId: string, revision: number): boolean {
    const trust = this.projects.get(projectId);
    return trust !== undefined && revision >= trust.validFrom;
  }

  /**
   * What a full read sent at `sentAt` saw of one project: `cache` its records (at the held revision, which the read
   * renews, or the project's first), `skip` them (older than held), or `behind` (newer: validate to learn what changed).
   */
  observe(projectId: string, revision: number, sentAt: number, lease: number): Observed {
    const trust = this.projects.get(projectId);
    if (trust === undefined) {
      this.projects.set(projectId, {
        current: { projectId, revision }, validFrom: revision, trustedUntil: sentAt + lease, lastUsedAt: sentAt,
      });
      return "cache";
    }
    trust.lastUsedAt = Math.max(trust.lastUsedAt, sentAt);
    if (revision < trust.current.revision) return "skip";
    if (revision > trust.current.revision) return "behind";
    trust.trustedUntil = Math.max(trust.trustedUntil, sentAt + lease);
    return "cache";
  }

  /** Whether the project's trust ends within the refresh margin, and no validation is on its way. */
  due(projectId: string, now: number, lease: number): boolean {
    if (this.validating()) return false;
    const trust = this.projects.get(projectId);
    const margin = Math.min(lease / 2, Math.max(lease / 4, 2 * this.roundTripMs));
    return trust !== undefined && now >= trust.trustedUntil - margin;
  }

  /**
   * Re-validates, in one query, every project a request used within the last minute; the others are forgotten (their
   * records are read in full when next needed). One validation at a time: while one is on its way this returns null
   * and starts nothing. A validation is never handed to another request to wait for — in Workers a request that awaits
   * a promise of another request's can be cancelled with it — so a caller gets only the one it started, which runs to
   * its end under its `ctx.waitUntil`. One that has outlived the store's timeout no longer counts as on its way.
   * @returns the validation this call started (it rejects with a StoreError when the store fails, renewing nothing),
   *          or null when another one is on its way or nothing is held
   */
  validate(db: D1Database, lease: number, now: number, ctx: ExecutionContext): Promise<void> | null {
    if (this.validating()) return null;
    const held: [string, number][] = [];
    for (const id of [...this.projects.keys()]) {
      const trust = this.projects.get(id);
      if (trust !== undefined && now - trust.lastUsedAt < IDLE_MS) held.push([id, trust.current.revision]);
      else this.projects.delete(id);
    }
    if (held.length === 0) return null;
    const startedAt = Date.now();
    this.inFlightSince = startedAt;
    const done = this.run(db, lease, held).finally(() => {
      if (this.inFlightSince === startedAt) this.inFlightSince = null;
    });
    ctx.waitUntil(done.catch(() => {})); // the caller handles the failure; this keeps the work alive
    return done;
  }

  /** Whether a validation is on its way; one that has outlived the store's timeout no longer counts. */
  private validating(): boolean {
    return this.inFlightSince !== null && Date.now() - this.inFlightSince < STORE_TIMEOUT_MS + 1000;
  }

  private async run(db: D1Database, lease: number, held: [string, number][]): Promise<void> {
    const sentAt = Date.now();
    const now = await loadProjectsNow(db, held, MAX_EVENTS);
    this.roundTripMs = Date.now() - sentAt;
    for (const [id, heldRevision] of held) {
      const trust = this.projects.get(id);
      // Moved on meanwhile (dropped, or made anew by a full read): this answer is about a state no longer held.
      if (trust === undefined || trust.current.revision !== heldRevision) continue;
      const project = now.get(id);
      if (project === undefined) {
        this.projects.delete(id); // deleted: nothing of it is trusted again
        continue;
      }
      const trustedUntil = Math.max(trust.trustedUntil, sentAt + lease);
      if (project.revision === heldRevision) {
        trust.trustedUntil = trustedUntil;
        continue;
      }
      const changes = changesOf(heldRevision, project.revision, project.events);
      const { lastUsedAt } = trust;
      const moved = { projectId: id, revision: project.revision };
      if (changes === null || changes.whole) {
        this.projects.set(id, { current: moved, validFrom: project.revision, trustedUntil, lastUsedAt });
        continue;
      }
      // In this order, with no await between: nothing touched is ever trusted at the new revision.
      this.changed(id, changes);
      this.projects.set(id, { current: moved, validFrom: trust.validFrom, trustedUntil, lastUsedAt });
    }
  }
}
