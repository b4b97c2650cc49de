/**
 * The decision's inputs, from the isolate's cache when it may be trusted, else from ONE D1 query
 * (authorization.ts). A cached deployment or key is trusted by its project's revision (revisions.ts): one small
 * query renews every record of every project the isolate used in the last minute, and a request that finds its
 * project's trust about to end starts that query in the background, so a key in steady use never waits for D1. What has no project to be
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
import { ProjectTrust, type ProjectChanges } from "./revisions";

/** What a read depends on, from the request's configuration. */
export interface ReadOptions {
  /** How long a read may be trusted; 0 turns the cache off. */
  leaseMs: number;
  keyPepper: string | null;
}

/** A record with the project revision it was read under. */
interface Held<V> {
  value: V;
  projectId: string;
  revision: number;
}

export class AuthCache {
  private readonly trust: ProjectTrust;
  private readonly deployments: BoundedMap<Held<DeploymentRecord>>;
  /** "No such deployment" in a project that exists, apart, so made-up slugs cannot evict real deployments. */
  private readonly missingDeployments: BoundedMap<Held<null>>;
  private readonly keys: BoundedMap<Held<KeyRecord>>;
  private readonly unknownProjects: LeaseCache<true>;
  private readonly unknownKeys: LeaseCache<true>;

  /** @param maxEntries most deployments and keys held; unknown keys, projects and deployments get a tenth of that */
  constructor(maxEntries: number) {
    this.trust = new ProjectTrust(maxEntries, (projectId, changes) => this.dropChanged(projectId, changes));
    this.deployments = new BoundedMap(maxEntries);
    this.missingDeployments = new BoundedMap(Math.ceil(maxEntries / 10));
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
      let cached = this.lookup(deploymentKey, secret, now);
      if (cached === "stale") {
        // Held, but its project's trust has ended (or moved on): one small query renews or drops it, and everything
        // else held. Should it fail, not vouch for these records, or be another request's already on its way (never
        // waited for across requests: revisions.ts), they are read in full below.
        const validation = this.trust.validate(db, leaseMs, now, ctx);
        if (validation !== null) {
          await validation.catch(() => {});
          cached = this.lookup(deploymentKey, secret, now);
        }
      }
      if (cached !== null && cached !== "stale") {
        this.refreshAhead(db, leaseMs, now, ctx, cached);
        return cached;
      }
    }

    const hashes = secret === null ? [] : await lookupHashes(secret, keyPepper);
    const sentAt = Date.now();
    const records = await loadAuthRecords(db, projectSlug, deploymentSlug, hashes);
    if (leaseMs > 0 && this.keep(deploymentKey, secret, records, sentAt, leaseMs)) {
      // D1 is past what this isolate holds: learn what changed, so records read now can be cached again.
      this.validateInBackground(db, leaseMs, now, ctx);
    }
    return records;
  }

  /**
   * Both halves of the request's records from the cache; `stale` when a half is held but not trusted now (a validation
   * may bring it back); null when a half must be read.
   */
  private lookup(deploymentKey: string, secret: string | null, now: number): AuthRecords | "stale" | null {
    const deployment = this.held(this.deployments, deploymentKey, now) ?? this.held(this.missingDeployments, deploymentKey, now);
    const project = deployment === "stale" ? null : (deployment?.project ?? null);
    if (deployment === undefined && this.unknownProjects.get(deploymentKey, now) !== true) return null;
    const key = secret === null ? undefined : this.held(this.keys, secret, now);
    if (secret !== null && key === undefined && this.unknownKeys.get(secret, now) !== true) return null;
    if (deployment === "stale" || key === "stale") return "stale";
    return {
      deployment: deployment?.value ?? null,
      key: key?.value ?? null,
      project,
      keyProject: key?.project ?? null,
    };
  }

  /**
   * The entry with its project's current revision, if that revision vouches for it at `now`; `stale` when a
   * validation could vouch for it again; undefined when it is not held (one no validation can renew — its project
   * dropped it, or is gone or forgotten — is deleted, and read in full when needed).
   */
  private held<V>(
    map: BoundedMap<Held<V>>,
    key: string,
    now: number,
  ): { value: V; project: ProjectRevision } | "stale" | undefined {
    const entry = map.get(key);
    if (entry === undefined) return undefined;
    const project = this.trust.trusts(entry.projectId, entry.revision, now);
    if (project !== null) return { value: entry.value, project };
    if (this.trust.renewable(entry.projectId, entry.revision)) return "stale";
    map.delete(key);
    return undefined;
  }

  /**
   * Caches what a full read sent at `sentAt` returned, each half under its own project's revision.
   * @returns whether a project was found past the revision held for it
   */
  private keep(deploymentKey: string, secret: string | null, records: AuthRecords, sentAt: number, lease: number): boolean {
    const { project, keyProject } = records;
    let behind = false;
    if (project === null) this.unknownProjects.set(deploymentKey, true, sentAt, lease);
    else {
      const observed = this.trust.observe(project.projectId, project.revision, sentAt, lease);
      if (observed === "cache") {
        if (records.deployment === null) this.missingDeployments.set(deploymentKey, { value: null, ...project });
        else this.deployments.set(deploymentKey, { value: records.deployment, ...project });
      }
      behind ||= observed === "behind";
    }
    if (secret === null) return behind;
    if (records.key === null || keyProject === null) this.unknownKeys.set(secret, true, sentAt, lease);
    else {
      const observed = this.trust.observe(keyProject.projectId, keyProject.revision, sentAt, lease);
      if (observed === "cache") this.keys.set(secret, { value: records.key, ...keyProject });
      behind ||= observed === "behind";
    }
    return behind;
  }

  /** Drops what a run of a project's events touched (revisions.ts decides the reach of each event). */
  private dropChanged(projectId: string, changes: ProjectChanges): void {
    if (changes.keyIds.size > 0 || changes.applicationKeys) {
      this.keys.deleteWhere(
        (held) =>
          held.projectId === projectId &&
          (changes.keyIds.has(held.value.id) || (changes.applicationKeys && held.value.application !== null)),
      );
    }
    if (changes.deploymentIds.size > 0) {
      this.deployments.deleteWhere((held) => held.projectId === projectId && changes.deploymentIds.has(held.value.id));
      // A deployment created may be one a "no such deployment" entry was about.
      this.missingDeployments.deleteWhere((held) => held.projectId === projectId);
    }
  }

  /** Starts the validation in the background when a project this request used is close to the end of its trust. */
  private refreshAhead(db: D1Database, lease: number, now: number, ctx: ExecutionContext, records: AuthRecords): void {
    const due = [records.project, records.keyProject].some((p) => p !== null && this.trust.due(p.projectId, now, lease));
    if (due) this.validateInBackground(db, lease, now, ctx);
  }

  /** A validation nobody waits for: it runs under this request's ctx.waitUntil (revisions.ts); a failure is logged. */
  private validateInBackground(db: D1Database, lease: number, now: number, ctx: ExecutionContext): void {
    void this.trust.validate(db, lease, now, ctx)?.catch((err: unknown) => {
      // Nothing was renewed: trust ends on time, and the next request reads D1 (failing closed if it is down).
      logLine({ level: "error", msg: "revision check failed", error: String(err) });
    });
  }
}
