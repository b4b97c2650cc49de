/**
 * What counts as "differs": the one set of rules both ensure() (./ensure.ts) and the CLI's apply/diff use.
 *
 * - Only the fields the desired object sets are compared; a field it leaves out is left as it is.
 * - Values are compared in the form the API stores them (./canonical.ts): sets where order has no meaning (scopes,
 *   condition lists, a rule's deployments), but a policy's rules in their order, which decides.
 * - A deployment's origin header values are write-only (reads show `origin.header_names`): only the names are
 *   compared. A changed value with the same names is not seen; write it with an explicit update.
 * - A field the API cannot change on an existing object (a key's or a policy's application) is an ImmutableFieldError
 *   that says what to do: never a silent delete and re-create, which would break every client of the old object.
 *
 * Each function returns the fields that differ (dotted paths, e.g. `endpoints.private.enabled`) and the PATCH body
 * that writes exactly those.
 */
import { KeygateError } from "./errors.ts";
import { asSet, canonicalConditions, canonicalFingerprint, canonicalUrl, instant, same } from "./canonical.ts";
import type * as api from "./openapi.ts";

export interface Drift<Patch> {
  changed: string[];
  patch: Patch;
}

/** The desired object and the read-back object disagree on something the API cannot change in place. */
export class ImmutableFieldError extends KeygateError {
  constructor(param: string, message: string) {
    super({ status: 0, type: "invalid_request_error", code: "immutable_field", param, message });
    this.name = "ImmutableFieldError";
  }
}

/** A name that should pick one object picks several. */
export class AmbiguousNameError extends KeygateError {
  constructor(message: string) {
    super({ status: 0, type: "invalid_request_error", code: "ambiguous_name", param: "name", message });
    this.name = "AmbiguousNameError";
  }
}

/** Desired objects may say `description: null` ("no description"); a create simply leaves it out. */
type Nullable<T, K extends keyof T> = Omit<T, K> & { [P in K]?: T[P] | null };
export type DesiredApplication = Nullable<api.CreateApplication, "description">;
export type DesiredPolicy = Nullable<api.CreatePolicy, "description">;
export type DesiredKey = Nullable<api.CreateApiKey, "description">;

/** Collects changed fields and their patch values. */
class Differ<Patch extends object> {
  readonly changed: string[] = [];
  readonly patch = {} as Patch;

  /** Compares `desired` (skipped when undefined) with `current` in canonical form; on a difference sets the patch field. */
  field<T>(path: string, desired: T | undefined, current: T, canonical: (v: T) => unknown = (v) => v ?? null): void {
    if (desired === undefined || same(canonical(desired), canonical(current))) return;
    this.changed.push(path);
    setIn(this.patch, path.split("."), desired);
  }

  result(): Drift<Patch> {
    return { changed: this.changed, patch: this.patch };
  }
}

function setIn(target: object, path: string[], value: unknown): void {
  let node = target as Record<string, unknown>;
  for (const part of path.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
  node[path.at(-1)!] = value;
}

const headerNames = (names: string[]) => asSet(names.map((n) => n.toLowerCase()));

export function projectDrift(desired: { name?: string; suspended?: boolean }, current: api.Project): Drift<api.UpdateProject> {
  const d = new Differ<api.UpdateProject>();
  d.field("name", desired.name?.trim(), current.name);
  d.field("suspended", desired.suspended, current.suspended);
  return d.result();
}

export function deploymentDrift(desired: api.CreateDeployment, current: api.Deployment): Drift<api.UpdateDeployment> {
  const d = new Differ<api.UpdateDeployment>();
  d.field("name", desired.name?.trim(), current.name);
  d.field("origin.url", desired.origin.url, current.origin.url, canonicalUrl);
  const headers = desired.origin.headers;
  if (headers !== undefined && !same(headerNames(Object.keys(headers)), headerNames(current.origin.header_names))) {
    d.changed.push("origin.headers");
  }
  // The API wants the header values again whenever the URL moves (it will not send the old secrets to a new host).
  if (headers !== undefined && d.changed.some((f) => f === "origin.headers" || f === "origin.url")) {
    setIn(d.patch, ["origin", "headers"], headers);
  }
  d.field("origin.assertion", desired.origin.assertion, current.origin.assertion);
  d.field("model", desired.model, current.model);
  d.field("allowed_paths", desired.allowed_paths, current.allowed_paths, asSet);
  d.field("auth_enabled", desired.auth_enabled, current.auth_enabled);
  const pub = desired.endpoints?.public;
  const priv = desired.endpoints?.private;
  d.field("endpoints.public.enabled", pub?.enabled, current.endpoints.public.enabled);
  d.field("endpoints.public.auth_enabled", pub?.auth_enabled, current.endpoints.public.auth_enabled);
  d.field("endpoints.private.enabled", priv?.enabled, current.endpoints.private.enabled);
  d.field("endpoints.private.auth_enabled", priv?.auth_enabled, current.endpoints.private.auth_enabled);
  d.field("endpoints.private.client_cert_fingerprints", priv?.client_cert_fingerprints, current.endpoints.private.client_cert_fingerprints, (f) =>
    f ? asSet(f.map(canonicalFingerprint)) : null,
  );
  d.field("inject_stream_usage", desired.inject_stream_usage, current.inject_stream_usage);
  d.field("default_max_tokens", desired.default_max_tokens, current.default_max_tokens);
  return d.result();
}

export function applicationDrift(desired: DesiredApplication, current: api.Application): Drift<api.UpdateApplication> {
  const d = new Differ<api.UpdateApplication>();
  d.field("description", desired.description, current.description);
  return d.result();
}

/** A rule as stored: deployments a set (the API sorts them), conditions canonical; the rules' order is kept. */
const canonicalRule = (rule: api.PolicyRuleInput) => ({
  permission_set: rule.permission_set,
  deployments: asSet(rule.deployments),
  conditions: canonicalConditions(rule.conditions),
});

export function policyDrift(desired: DesiredPolicy, current: api.Policy): Drift<api.UpdatePolicy> {
  if (desired.application_id !== current.application_id) {
    throw new ImmutableFieldError(
      "application_id",
      `Policy '${current.name}' belongs to application ${current.application_id}; a policy's application cannot change. ` +
        `Delete the policy and create it again for the other application (or give the new policy another name).`,
    );
  }
  const d = new Differ<api.UpdatePolicy>();
  d.field("description", desired.description, current.description);
  d.field("rules", desired.rules, current.rules, (rules) => rules.map(canonicalRule));
  return d.result();
}

export function keyDrift(desired: DesiredKey, current: api.ApiKey): Drift<api.UpdateApiKey> {
  const wanted = desired.application_id ?? null;
  if (wanted !== current.application_id) {
    const was = current.application_id === null ? "a standalone key" : `a key of application ${current.application_id}`;
    const want = wanted === null ? "a standalone key" : `a key of application ${wanted}`;
    throw new ImmutableFieldError(
      "application_id",
      `Key '${current.name}' (${current.id}) is ${was}, not ${want}; a key's application cannot change. ` +
        `Create a new key under another name, move clients to it, then revoke the old one (or revoke it first, then apply).`,
    );
  }
  const d = new Differ<api.UpdateApiKey>();
  d.field("description", desired.description, current.description);
  d.field("expires_at", desired.expires_at, current.expires_at, instant);
  if (current.application_id === null) {
    d.field("scopes", desired.scopes, current.scopes, asSet);
    d.field("permission_set", desired.permission_set, current.permission_set);
  }
  d.field("conditions", desired.conditions, current.conditions, canonicalConditions);
  return d.result();
}

export function budgetDrift(desired: api.CreateBudget, current: api.Budget): Drift<api.UpdateBudget> {
  // Subject and period are the budget's identity (findBudget); only the limit and the mode can change in place.
  const d = new Differ<api.UpdateBudget>();
  d.field("limit_tokens", desired.limit_tokens, current.limit_tokens);
  d.field("mode", desired.mode, current.mode);
  return d.result();
}

/** The one object of this name (applications and policies: names are unique in a project). */
export const findByName = <T extends { name: string }>(items: readonly T[], name: string): T | undefined =>
  items.find((item) => item.name === name.trim());

/** The project's unrevoked keys by name (revoked keys are never looked at again): a name picks a key when it has one. */
export function liveKeysByName(keys: readonly api.ApiKey[]): Map<string, api.ApiKey[]> {
  const byName = new Map<string, api.ApiKey[]>();
  for (const key of keys) if (key.revoked_at === null) byName.set(key.name, [...(byName.get(key.name) ?? []), key]);
  return byName;
}

/** The project's one unrevoked key of this name; several is an error (which one would be meant?). */
export function findKey(keys: readonly api.ApiKey[], name: string): api.ApiKey | undefined {
  const found = liveKeysByName(keys).get(name.trim()) ?? [];
  if (found.length > 1) {
    throw new AmbiguousNameError(
      `${found.length} unrevoked keys are named '${name}' (${found.map((k) => k.id).join(", ")}); ` +
        `rename or revoke all but one (keygate keys update|revoke) so the name picks one key.`,
    );
  }
  return found[0];
}

/** A budget's identity: its subject and its period (the API allows one budget per subject and period). */
export const findBudget = (budgets: readonly api.Budget[], desired: Pick<api.CreateBudget, "subject" | "period">): api.Budget | undefined =>
  budgets.find((b) => b.subject.type === desired.subject.type && b.subject.id === desired.subject.id && b.period === desired.period);
