/**
 * Permission sets: what a grant lets its holder do on a deployment it covers (docs/api.md, "Permission sets").
 * Fixed, not user-defined. Whatever can infer can also discover models, so InferenceFullAccess includes
 * InferenceReadOnly; both still stop at the deployment's `allowed_paths` (checked after this, as a 404).
 */
export const PERMISSION_SETS = ["InferenceFullAccess", "InferenceReadOnly"] as const;
export type PermissionSet = (typeof PERMISSION_SETS)[number];

export const DEFAULT_PERMISSION_SET: PermissionSet = "InferenceFullAccess";

const MODELS = "/v1/models";

/**
 * Model discovery: GET or HEAD of `/v1/models` or `/v1/models/{id}`. A model id may hold slashes
 * (`meta-llama/Llama-3.1-8B-Instruct`), so anything after `/v1/models/` is an id; `path` is already normalised
 * (no `..`, no `%2F` tricks: paths.ts), so the prefix cannot be escaped.
 */
function isModelDiscovery(method: string, path: string): boolean {
  if (method !== "GET" && method !== "HEAD") return false;
  return path === MODELS || (path.startsWith(`${MODELS}/`) && path.length > MODELS.length + 1);
}

export function permits(set: PermissionSet, method: string, path: string): boolean {
  return set === "InferenceFullAccess" || isModelDiscovery(method, path);
}

export function isPermissionSet(value: unknown): value is PermissionSet {
  return (PERMISSION_SETS as readonly unknown[]).includes(value);
}

/** The public sentence for a request its permission set does not allow; names the set, never a key's lists. */
export function permissionMessage(set: PermissionSet, holder: "key" | "rules"): string {
  const who = holder === "key" ? "This key's permission set is" : "This key's application grants only";
  return `${who} ${set}, which allows only model discovery (GET or HEAD ${MODELS} and ${MODELS}/{id}).`;
}
