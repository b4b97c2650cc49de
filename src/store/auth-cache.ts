/**
 * The decision's inputs, from the lease cache when it may be trusted, else from ONE D1 query
 * (authorization.ts). See lease.ts for why a leased entry is as good as a fresh read. Unknown secrets are cached
 * too (negatively, in a smaller cache) so a flood of made-up keys cannot evict real ones or turn every request
 * into a query.
 *
 * Keys are cached by the presented secret itself, so a warm decision computes no hash (the HMAC was the largest
 * single cost of a warm request). This keeps recently used secrets in isolate memory for at most one lease; that
 * memory already holds the request carrying the secret and KEY_PEPPER itself, so it exposes nothing new, and
 * nothing here is ever written out.
 *
 * One AuthCache belongs to one Worker instance (createWorker), so a test gets an empty cache by building a Worker.
 */
import type { DeploymentRecord, KeyRecord } from "../authz/types";
import { lookupHashes } from "../secrets/hash";
import { loadAuthRecords, type AuthRecords } from "./authorization";
import { LeaseCache } from "./lease";

/** What a read depends on, from the request's configuration. */
export interface ReadOptions {
  /** How long a read may be trusted; 0 turns the cache off. */
  leaseMs: number;
  keyPepper: string | null;
}

export class AuthCache {
  private readonly deployments: LeaseCache<DeploymentRecord | null>;
  private readonly keys: LeaseCache<KeyRecord>;
  private readonly unknownKeys: LeaseCache<true>;

  /** @param maxEntries most deployments and keys held; unknown keys get a tenth of that */
  constructor(maxEntries: number) {
    this.deployments = new LeaseCache(maxEntries);
    this.keys = new LeaseCache(maxEntries);
    this.unknownKeys = new LeaseCache(Math.ceil(maxEntries / 10));
  }

  /**
   * @param secret a well-formed API key, or null when none is usable (the deployment alone is needed then: its
   *               auth toggle decides whether a key is required)
   * @throws StoreError when the store fails or does not answer in time
   */
  async records(
    db: D1Database,
    { leaseMs, keyPepper }: ReadOptions,
    projectSlug: string,
    deploymentSlug: string,
    secret: string | null,
    now: number,
  ): Promise<AuthRecords> {
    const deploymentKey = `${projectSlug}/${deploymentSlug}`;

    if (leaseMs > 0) {
      const deployment = this.deployments.get(deploymentKey, now);
      if (deployment !== undefined) {
        if (secret === null) return { deployment, key: null };
        const key = this.keys.get(secret, now);
        if (key !== undefined) return { deployment, key };
        if (this.unknownKeys.get(secret, now)) return { deployment, key: null };
      }
    }

    const hashes = secret === null ? [] : await lookupHashes(secret, keyPepper);
    const readStartedAt = Date.now();
    const records = await loadAuthRecords(db, projectSlug, deploymentSlug, hashes);
    this.deployments.set(deploymentKey, records.deployment, readStartedAt, leaseMs);
    if (secret !== null) {
      if (records.key) this.keys.set(secret, records.key, readStartedAt, leaseMs);
      else this.unknownKeys.set(secret, true, readStartedAt, leaseMs);
    }
    return records;
  }
}
