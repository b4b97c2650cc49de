/**
 * ensure(): idempotent upserts. Each finds the object by its natural identity, creates it when missing, patches only
 * the fields that drifted, and makes no write when everything matches.
 */
import type { ManagementClient } from "./management.ts";
import type * as api from "./openapi.ts";

export type EnsureStatus = "created" | "updated" | "unchanged";

export interface Ensured<T> {
  status: EnsureStatus;
  /** The object as it is after the call. */
  object: T;
  /** The fields that were patched (empty when created or unchanged). */
  changed: string[];
}

const notYet = (): never => {
  throw new Error("ensure(): not implemented yet");
};

export async function ensureDeployment(_kg: ManagementClient, _desired: api.CreateDeployment): Promise<Ensured<api.Deployment>> {
  return notYet();
}
export async function ensureApplication(_kg: ManagementClient, _desired: api.CreateApplication): Promise<Ensured<api.Application>> {
  return notYet();
}
export async function ensurePolicy(_kg: ManagementClient, _desired: api.CreatePolicy): Promise<Ensured<api.Policy>> {
  return notYet();
}
export async function ensureKey(_kg: ManagementClient, _desired: api.CreateApiKey): Promise<Ensured<api.ApiKey> & { secret?: string }> {
  return notYet();
}
export async function ensureBudget(_kg: ManagementClient, _desired: api.CreateBudget): Promise<Ensured<api.Budget>> {
  return notYet();
}
