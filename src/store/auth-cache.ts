/**
 * The decision's inputs, from the isolate's cache when it may be trusted, else from ONE D1 query
 * (authorization.ts). A cached deployment or key is trusted by its project's revision (revisions.ts): one small
 * query renews every record of every project the isolate holds, and a request that finds its project's trust about
 * to end starts that query in the background, so a key in steady use never waits for D1. What has no project to be
 * re-validated by — a secret no key has, a project slug that does not exist — is cached for one lease from its own
 * read (lease.ts), in smaller caches, so a flood of made-up keys cannot evict real ones or turn every request into
 * a query.
 *
 * Keys are cached by the presented secret itself, so a warm decision computes no hash (the HMAC was the largest
 * single cost of a warm request). This keeps recently used secrets in isolate memory while they are used; that
 * memory already holds the request carrying the secret and KEY_PEPPER itself, so it exposes nothing new, and
 * nothing here is ever written out.
 *
 * One AuthCache belongs to one Worker instance (createWorker), so a test gets an empty cache by building a Worker.
 */
import type { DeploymentRecord, KeyRecord } from "../authz/types";
import { logLine } from "../log";
import { lookupHashes } from "../secrets/hash";
import { loadAuthRecords, type AuthRecords, type ProjectRevision } from "./authorization";
import { BoundedMap } from "./bounded-map";
import { LeaseCache } from "./lease";
import { ProjectTrust } from "./revisions";

/** What a read depends on, from the request's configuration. */
export interface ReadOptions {
  /** How long a read may be trusted; 0 turns the cache off. */
  leaseMs: number;
  keyPepper: string | null;
}

/** A record with the project revision it was read under. */
interface Held<V> {
  value: V;
  project: ProjectRevision;
}

export class AuthCache {
  private readonly trust: ProjectTrust;
  private readonly deployments: BoundedMap<Held<DeploymentRecord | null>>;
  private readonly keys: BoundedMap<Held<KeyRecord>>;
  private readonly unknownProjects: LeaseCache<true>;
  private readonly unknownKeys: LeaseCache<true>;

  /** @param maxEntries most deployments and keys held; unknown keys and projects get a tenth of that */
  constructor(maxEntries: number) {
    this.trust = new ProjectTrust(maxEntries);
    this.deployments = new BoundedMap(maxEntries);
    this.keys = new BoundedMap(maxEntries);
    this.unknownProjects = new LeaseCache(Math.ceil(maxEntries / 10));
    this.unknownKeys = new LeaseCache(Math.ceil(maxEntries / 10));
  }

  /**
   * @param secret a well-formed API key, or null when none is usable (the deployment alone is needed then: its
   *               auth toggle decides whether a key is required)
   * @param now when the request started: what its decision may be trusted at
   * @param ctx where a refresh-ahead validation runs after the answer
   * @throws StoreError when the store fails or does not answer in time
   */
  async records(
    db: D1Database,
    { leaseMs, keyPepper }: ReadOptions,
    projectSlug: string,
    deploymentSlug: string,
    secret: string | null,
    now: number,
    ctx: ExecutionContext,
  ): Promise<AuthRecords> {
    const deploymentKey = `${projectSlug}/${deploymentSlug}`;
    if (leaseMs > 0) {
      // A record whose trust has ended is read again in full: one query either way, and it renews every record of
      // its project read at the same revision (revisions.ts).
      const cached = this.lookup(deploymentKey, secret, now);
      if (cached !== null) {
        this.refreshAhead(db, leaseMs, now, ctx, cached);
        return cached;
      }
    }

    const hashes = secret === null ? [] : await lookupHashes(secret, keyPepper);
    const sentAt = Date.now();
    const records = await loadAuthRecords(db, projectSlug, deploymentSlug, hashes);
    if (leaseMs > 0) this.keep(deploymentKey, secret, records, sentAt, leaseMs);
    return records;
  }

  /** Both halves of the request's records from the cache, or null when either must be read. */
  private lookup(deploymentKey: string, secret: string | null, now: number): AuthRecords | null {
    const deployment = this.held(this.deployments, deploymentKey, now);
    if (deployment === undefined && this.unknownProjects.get(deploymentKey, now) !== true) return null;
    const key = secret === null ? undefined : this.held(this.keys, secret, now);
    if (secret !== null && key === undefined && this.unknownKeys.get(secret, now) !== true) return null;
    return {
      deployment: deployment?.value ?? null,
      key: key?.value ?? null,
      project: deployment?.project ?? null,
      keyProject: key?.project ?? null,
    };
  }

  /** The entry, if its project's revision still vouches for it at `now`; one known to be stale is dropped. */
  private held<V>(map: BoundedMap<Held<V>>, key: string, now: number): Held<V> | undefined {
    const entry = map.get(key);
    if (entry === undefined) return undefined;
    const { projectId, revision } = entry.project;
    if (this.trust.trusts(projectId, revision, now)) return entry;
    if (this.trust.superseded(projectId, revision)) map.delete(key);
    return undefined;
  }

  /** Caches what a full read sent at `sentAt` returned, each half under its own project's revision. */
  private keep(deploymentKey: string, secret: string | null, records: AuthRecords, sentAt: number, lease: number): void {
    const { project, keyProject } = records;
    if (project === null) this.unknownProjects.set(deploymentKey, true, sentAt, lease);
    else if (this.trust.observe(project.projectId, project.revision, sentAt, lease)) {
      this.deployments.set(deploymentKey, { project, value: records.deployment });
    }
    if (secret === null) return;
    if (records.key === null || keyProject === null) this.unknownKeys.set(secret, true, sentAt, lease);
    else if (this.trust.observe(keyProject.projectId, keyProject.revision, sentAt, lease)) {
      this.keys.set(secret, { project: keyProject, value: records.key });
    }
  }

  /** Starts the validation in the background when a project this request used is close to the end of its trust. */
  private refreshAhead(db: D1Database, lease: number, now: number, ctx: ExecutionContext, records: AuthRecords): void {
    const due = [records.project, records.keyProject].some((p) => p !== null && this.trust.due(p.projectId, now, lease));
    if (!due) return;
    ctx.waitUntil(
      this.trust.validate(db, lease, now).catch((err: unknown) => {
        // Nothing was renewed: trust ends on time, and the next request reads D1 (failing closed if it is down).
        logLine({ level: "error", msg: "revision check failed", error: String(err) });
      }),
    );
  }
}
