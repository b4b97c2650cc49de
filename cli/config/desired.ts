/**
 * A file entry → the SDK's desired object (what ensure() and sdk/drift.ts compare), with names resolved to ids by the
 * caller. The only entry that needs the environment is a deployment's: its header values come from variables, and a
 * variable that is unset is reported only when a write would send it (./plan.ts).
 */
import type * as api from "../../sdk/index.ts";
import type { DesiredKey, DesiredPolicy } from "../../sdk/index.ts";
import type { BudgetConfig, DeploymentConfig, KeyConfig, PolicyConfig } from "./schema.ts";

export interface DesiredDeployment {
  body: api.CreateDeployment;
  /** The header variables that are not set (their values stand empty in `body`). */
  unset: string[];
}

export function desiredDeployment(d: DeploymentConfig, env: Record<string, string | undefined>): DesiredDeployment {
  const unset: string[] = [];
  const headers =
    d.origin.headers === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(d.origin.headers).map(([name, { env: variable }]) => {
            const value = env[variable];
            if (value === undefined || value === "") unset.push(variable);
            return [name, value ?? ""];
          }),
        );
  const { origin, ...rest } = d;
  return { body: { ...rest, origin: { ...origin, headers } }, unset };
}

export const desiredPolicy = (p: PolicyConfig, applicationId: string): DesiredPolicy => ({
  name: p.name,
  description: p.description,
  application_id: applicationId,
  rules: p.rules,
});

export function desiredKey(k: KeyConfig, applicationId: string | undefined): DesiredKey {
  const { application: _, ...fields } = k;
  return applicationId === undefined ? fields : { ...fields, application_id: applicationId };
}

export const desiredBudget = (b: BudgetConfig, type: api.CreateBudget["subject"]["type"], id: string): api.CreateBudget => ({
  subject: { type, id },
  period: b.period,
  limit_tokens: b.limit_tokens,
  mode: b.mode,
});
