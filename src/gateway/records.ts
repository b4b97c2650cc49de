/**
 * The decision's inputs, from this isolate's lease cache when it may be trusted, else from ONE D1 query
 * (src/store/authorization.ts). See src/store/lease.ts for why a leased entry is as good as a fresh read.
 * Unknown secrets are cached too (negatively, in a smaller cache) so a flood of made-up keys cannot evict
 * real ones or turn every request into a query.
 *
 * Keys are cached by the presented secret itself, so a warm decision computes no hash (the HMAC was the largest
 * single cost of a warm request). This keeps recently used secrets in isolate memory for at most one lease; that
 * memory already holds the request carrying the secret and KEY_PEPPER itself, so it exposes nothing new, and
 * nothing here is ever written out.
 */
import type { DeploymentRecord, KeyRecord } from "../authz/types";
import type { Env } from "../env";
import { lookupHashes } from "../secrets/hash";
import { loadAuthRecords, type AuthRecords } from "../store/authorization";
import { LeaseCache, leaseMs, maxEntries } from "../store/lease";

interface Caches {
  capacity: number;
  deployments: LeaseCache<DeploymentRecord | null>;
  keys: LeaseCache<KeyRecord>;
  unknownKeys: LeaseCache<true>;
}

let caches: Caches | null = null;

function cachesFor(env: Env): Caches {
  const capacity = maxEntries(env);
  if (caches === null || caches.capacity !== capacity) {
    caches = {
      capacity,
      deployments: new LeaseCache(capacity),
      keys: new LeaseCache(capacity),
      unknownKeys: new LeaseCache(Math.ceil(capacity / 10)),
    };
  }
  return caches;
}

/**
 * @param secret a well-formed API key, or null when none is usable (the deployment alone is needed then: its
 *               auth toggle decides whether a key is required)
 */
export async function authRecords(
  env: Env,
  projectSlug: string,
  deploymentSlug: string,
  secret: string | null,
  now: number,
): Promise<AuthRecords> {
  const lease = leaseMs(env);
  const cache = cachesFor(env);
  const deploymentKey = `${projectSlug}/${deploymentSlug}`;

  if (lease > 0) {
    const deployment = cache.deployments.get(deploymentKey, now);
    if (deployment !== undefined) {
      if (secret === null) return { deployment, key: null };
      const key = cache.keys.get(secret, now);
      if (key !== undefined) return { deployment, key };
      if (cache.unknownKeys.get(secret, now)) return { deployment, key: null };
    }
  }

  const hashes = secret === null ? [] : await lookupHashes(secret, env.KEY_PEPPER);
  const readStartedAt = Date.now();
  const records = await loadAuthRecords(env.DB, projectSlug, deploymentSlug, hashes);
  cache.deployments.set(deploymentKey, records.deployment, readStartedAt, lease);
  if (secret !== null) {
    if (records.key) cache.keys.set(secret, records.key, readStartedAt, lease);
    else cache.unknownKeys.set(secret, true, readStartedAt, lease);
  }
  return records;
}
