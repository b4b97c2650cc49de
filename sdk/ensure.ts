/**
 * ensure(): idempotent upserts. Each finds the object by its natural identity, creates it when missing, patches only
 * the fields that drifted, and makes no write when everything matches. What "drifted" means is ./drift.ts's, the rules
 * the CLI's apply and diff use too.
 *
 * Identities: a deployment by slug; an application and a policy by name (unique in a project); a key by name among
 * the project's unrevoked keys (several of one name is an error); a budget by subject and period.
 */
import type { ManagementClient } from "./management.ts";
import { MAX_PAGE } from "./pages.ts";
import { KeygateError } from "./errors.ts";
import {
  applicationDrift,
  budgetDrift,
  deploymentDrift,
  type DesiredApplication,
  type DesiredKey,
  type DesiredPolicy,
  type Drift,
  findBudget,
  findByName,
  findKey,
  keyDrift,
  policyDrift,
} from "./drift.ts";
import type * as api from "./openapi.ts";

export type EnsureStatus = "created" | "updated" | "unchanged";

export interface Ensured<T> {
  status: EnsureStatus;
  /** The object as it is after the call. */
  object: T;
  /** The fields that were patched (empty when created or unchanged). */
  changed: string[];
}

/** The one path every ensure takes once it has looked for the object. */
async function upsert<T, Patch>(
  current: T | undefined,
  create: () => Promise<T>,
  drift: (current: T) => Drift<Patch>,
  update: (current: T, patch: Patch) => Promise<T>,
): Promise<Ensured<T>> {
  if (current === undefined) return { status: "created", object: await create(), changed: [] };
  const { changed, patch } = drift(current);
  if (changed.length === 0) return { status: "unchanged", object: current, changed };
  return { status: "updated", object: await update(current, patch), changed };
}

/** A create body leaves out `description: null` (the API's create takes a string or nothing). */
function withoutNullDescription<T extends { description?: string | null }>(desired: T): T & { description?: string } {
  const { description, ...rest } = desired;
  return (description === null || description === undefined ? rest : { ...rest, description }) as T & { description?: string };
}

const isNotFound = (err: unknown) => err instanceof KeygateError && err.status === 404;

/**
 * By slug. Origin header values are write-only: only their names are compared, so a new value under the same name is
 * written by `kg.deployments.update(slug, { origin: { headers } })`, not by ensure().
 */
export async function ensureDeployment(kg: ManagementClient, desired: api.CreateDeployment): Promise<Ensured<api.Deployment>> {
  const current = await kg.deployments.get(desired.slug).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
  return upsert(
    current,
    () => kg.deployments.create(desired),
    (c) => deploymentDrift(desired, c),
    (c, patch) => kg.deployments.update(c.slug, patch),
  );
}

export async function ensureApplication(kg: ManagementClient, desired: DesiredApplication): Promise<Ensured<api.Application>> {
  const current = findByName(await kg.applications.list({ limit: MAX_PAGE }).toArray(), desired.name);
  return upsert(
    current,
    () => kg.applications.create(withoutNullDescription(desired)),
    (c) => applicationDrift(desired, c),
    (c, patch) => kg.applications.update(c.id, patch),
  );
}

/** By name; a policy found under another application is an error (a policy's application cannot change). */
export async function ensurePolicy(kg: ManagementClient, desired: DesiredPolicy): Promise<Ensured<api.Policy>> {
  const current = findByName(await kg.policies.list({ limit: MAX_PAGE }).toArray(), desired.name);
  return upsert(
    current,
    () => kg.policies.create(withoutNullDescription(desired)),
    (c) => policyDrift(desired, c),
    (c, patch) => kg.policies.update(c.id, patch),
  );
}

/** By name among unrevoked keys; `secret` is set only when this call created the key (it is never readable again). */
export async function ensureKey(kg: ManagementClient, desired: DesiredKey): Promise<Ensured<api.ApiKey> & { secret?: string }> {
  const current = findKey(await kg.keys.list({ limit: MAX_PAGE }).toArray(), desired.name);
  let secret: string | undefined;
  const ensured = await upsert<api.ApiKey, api.UpdateApiKey>(
    current,
    async () => {
      const { key, ...created } = await kg.keys.create(withoutNullDescription(desired));
      secret = key;
      return created;
    },
    (c) => keyDrift(desired, c),
    (c, patch) => kg.keys.update(c.id, patch),
  );
  return secret === undefined ? ensured : { ...ensured, secret };
}

/** By subject and period (a project budget's subject id is the project's slug); the limit and mode are patched. */
export async function ensureBudget(kg: ManagementClient, desired: api.CreateBudget): Promise<Ensured<api.Budget>> {
  const current = findBudget(await kg.budgets.list({ limit: MAX_PAGE }).toArray(), desired);
  return upsert(
    current,
    () => kg.budgets.create(desired),
    (c) => budgetDrift(desired, c),
    (c, patch) => kg.budgets.update(c.id, patch),
  );
}
