/**
 * Permission sets and application keys in the pure decision: permission set × method × path × allowed_paths ×
 * conditions, for standalone keys and for an application's ordered rules.
 */
import { describe, expect, it } from "vitest";
import { authorize } from "../../src/authz/authorize";
import { compileConditions } from "../../src/authz/conditions";
import { permits, type PermissionSet } from "../../src/authz/permission-sets";
import type { Conditions, DeploymentRecord, KeyRecord, RuleRecord } from "../../src/authz/types";
import { deploymentRecord, keyRecord, requestFacts } from "../records";

const NOW = Date.UTC(2026, 11, 1, 12);
const ALL_PATHS = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models", "/v1/models/*"];

const deployment = (allowedPaths = ALL_PATHS, id = "dep_1"): DeploymentRecord => deploymentRecord({ id, slug: id, allowedPaths });

const baseKey: KeyRecord = keyRecord({ allDeployments: true, deploymentIds: new Set() });

const standalone = (permissionSet: PermissionSet, conditions: Conditions = {}): KeyRecord => ({
  ...baseKey,
  permissionSet,
  conditions: compileConditions(conditions),
});

function rule(policyId: string, index: number, permissionSet: PermissionSet, deployments: string[] | "*", conditions: Conditions = {}): RuleRecord {
  return {
    policyId,
    index,
    permissionSet,
    allDeployments: deployments === "*",
    deploymentIds: new Set(deployments === "*" ? [] : deployments),
    conditions: compileConditions(conditions),
  };
}

const appKey = (rules: RuleRecord[], conditions: Conditions = {}): KeyRecord => ({
  ...baseKey,
  allDeployments: false,
  permissionSet: null,
  application: { id: "app_1", rules },
  conditions: compileConditions(conditions),
});

const FACTS = requestFacts({ userAgent: "backend/1.0" });

function decide(key: KeyRecord, method: string, path: string, target = deployment(), facts = FACTS) {
  const decision = authorize({
    credential: { kind: "secret", secret: "ik_live_placeholder" },
    key,
    deployment: target,
    projectSlug: "acme",
    method,
    rawPath: path,
    facts,
    now: NOW,
  });
  return decision;
}
const outcome = (...args: Parameters<typeof decide>) => {
  const d = decide(...args);
  return d.ok ? "allow" : `${d.code}/${d.reason}`;
};

describe("permission sets", () => {
  it.each<[PermissionSet, string, string, boolean]>([
    ["InferenceFullAccess", "POST", "/v1/chat/completions", true],
    ["InferenceFullAccess", "GET", "/v1/models", true],
    ["InferenceFullAccess", "DELETE", "/v1/anything", true],
    ["InferenceReadOnly", "GET", "/v1/models", true],
    ["InferenceReadOnly", "HEAD", "/v1/models", true],
    ["InferenceReadOnly", "GET", "/v1/models/llama-3", true],
    ["InferenceReadOnly", "GET", "/v1/models/meta-llama/Llama-3.1-8B-Instruct", true],
    ["InferenceReadOnly", "GET", "/v1/models/", false],
    ["InferenceReadOnly", "GET", "/v1/modelsX", false],
    ["InferenceReadOnly", "POST", "/v1/models", false],
    ["InferenceReadOnly", "DELETE", "/v1/models/llama-3", false],
    ["InferenceReadOnly", "OPTIONS", "/v1/models", false],
    ["InferenceReadOnly", "POST", "/v1/chat/completions", false],
    ["InferenceReadOnly", "GET", "/v1/chat/completions", false],
    ["InferenceReadOnly", "GET", "/models", false],
  ])("%s %s %s → %s", (set, method, path, allowed) => {
    expect(permits(set, method, path)).toBe(allowed);
  });
});

describe("a standalone key: permission set × method × path × allowed_paths × conditions", () => {
  const onlyChat = deployment(["/v1/chat/completions"]);
  it.each<[string, KeyRecord, string, string, DeploymentRecord, string]>([
    ["full access infers", standalone("InferenceFullAccess"), "POST", "/v1/chat/completions", deployment(), "allow"],
    ["full access discovers", standalone("InferenceFullAccess"), "GET", "/v1/models", deployment(), "allow"],
    ["full access, path not allowed", standalone("InferenceFullAccess"), "GET", "/v1/models", onlyChat, "not_found/path_not_allowed"],
    ["read-only lists models", standalone("InferenceReadOnly"), "GET", "/v1/models", deployment(), "allow"],
    ["read-only reads a model with a slash", standalone("InferenceReadOnly"), "GET", "/v1/models/org/m", deployment(), "allow"],
    ["read-only HEAD", standalone("InferenceReadOnly"), "HEAD", "/v1/models/m", deployment(), "allow"],
    ["read-only cannot infer", standalone("InferenceReadOnly"), "POST", "/v1/chat/completions", deployment(), "scope_insufficient/permission_set"],
    ["read-only cannot POST models", standalone("InferenceReadOnly"), "POST", "/v1/models", deployment(), "scope_insufficient/permission_set"],
    ["read-only, a path outside allowed_paths is still 403", standalone("InferenceReadOnly"), "POST", "/v1/load_lora_adapter", deployment(), "scope_insufficient/permission_set"],
    ["read-only, models not in allowed_paths: 404", standalone("InferenceReadOnly"), "GET", "/v1/models", onlyChat, "not_found/path_not_allowed"],
    ["read-only, dot segments normalised first", standalone("InferenceReadOnly"), "GET", "/v1/models/../chat/completions", deployment(), "scope_insufficient/permission_set"],
    ["read-only, a path that climbs out: 404", standalone("InferenceReadOnly"), "GET", "/v1/../../models", deployment(), "not_found/bad_path"],
    ["conditions before the permission set", standalone("InferenceReadOnly", { countries: ["FR"] }), "POST", "/v1/chat/completions", deployment(), "condition_not_met/country_not_allowed"],
    ["conditions hold, read-only allows", standalone("InferenceReadOnly", { countries: ["DE"] }), "GET", "/v1/models", deployment(), "allow"],
  ])("%s → %s", (_, key, method, path, target, expected) => {
    expect(outcome(key, method, path, target)).toBe(expected);
  });

  it("names the permission set in the 403", () => {
    const d = decide(standalone("InferenceReadOnly"), "POST", "/v1/chat/completions");
    expect(d).toMatchObject({ ok: false, code: "scope_insufficient" });
    expect(!d.ok && d.message).toContain("InferenceReadOnly");
  });
});

describe("an application key: its application's rules, in order", () => {
  const office = { ip_allow: ["203.0.113.0/24"] };
  const elsewhere = { ip_allow: ["198.51.100.0/24"] };
  const fr = { countries: ["FR"] };

  it.each<[string, RuleRecord[], string, string, string]>([
    ["no rules at all", [], "POST", "/v1/chat/completions", "scope_insufficient/no_rule_covers"],
    ["a rule for another deployment", [rule("pol_a", 0, "InferenceFullAccess", ["dep_2"])], "POST", "/v1/chat/completions", "scope_insufficient/no_rule_covers"],
    ["a rule left with no deployment", [rule("pol_a", 0, "InferenceFullAccess", [])], "POST", "/v1/chat/completions", "scope_insufficient/no_rule_covers"],
    ["a rule naming the deployment", [rule("pol_a", 0, "InferenceFullAccess", ["dep_1"])], "POST", "/v1/chat/completions", "allow"],
    ["a rule for every deployment", [rule("pol_a", 0, "InferenceFullAccess", "*")], "POST", "/v1/chat/completions", "allow"],
    ["read-only rule, inference", [rule("pol_a", 0, "InferenceReadOnly", "*")], "POST", "/v1/chat/completions", "scope_insufficient/permission_set"],
    ["read-only rule, discovery", [rule("pol_a", 0, "InferenceReadOnly", "*")], "GET", "/v1/models", "allow"],
    ["full rule, path not allowed", [rule("pol_a", 0, "InferenceFullAccess", "*")], "POST", "/v1/load_lora_adapter", "not_found/path_not_allowed"],
    ["rule conditions hold", [rule("pol_a", 0, "InferenceFullAccess", "*", office)], "POST", "/v1/chat/completions", "allow"],
    ["rule conditions fail", [rule("pol_a", 0, "InferenceFullAccess", "*", elsewhere)], "POST", "/v1/chat/completions", "ip_not_allowed/ip_not_allowed"],
    [
      "the first failing rule's code when none holds",
      [rule("pol_a", 0, "InferenceFullAccess", "*", fr), rule("pol_a", 1, "InferenceFullAccess", "*", elsewhere)],
      "POST",
      "/v1/chat/completions",
      "condition_not_met/country_not_allowed",
    ],
    [
      "a later rule that holds wins over an earlier one that fails",
      [rule("pol_a", 0, "InferenceFullAccess", "*", elsewhere), rule("pol_a", 1, "InferenceFullAccess", ["dep_1"], office)],
      "POST",
      "/v1/chat/completions",
      "allow",
    ],
    [
      "a read-only rule that holds does not allow inference; the full rule's failed condition is told",
      [rule("pol_a", 0, "InferenceReadOnly", "*"), rule("pol_b", 0, "InferenceFullAccess", "*", elsewhere)],
      "POST",
      "/v1/chat/completions",
      "ip_not_allowed/ip_not_allowed",
    ],
    [
      "a read-only rule that holds allows discovery even when the full rule fails",
      [rule("pol_a", 0, "InferenceFullAccess", "*", elsewhere), rule("pol_b", 0, "InferenceReadOnly", "*")],
      "GET",
      "/v1/models/m",
      "allow",
    ],
  ])("%s → %s", (_, rules, method, path, expected) => {
    expect(outcome(appKey(rules), method, path)).toBe(expected);
  });

  it("checks the key's own conditions before any rule", () => {
    const key = appKey([rule("pol_a", 0, "InferenceFullAccess", ["dep_2"])], fr);
    expect(outcome(key, "POST", "/v1/chat/completions")).toBe("condition_not_met/country_not_allowed");
  });

  it("ignores the key's own coverage fields: only rules grant", () => {
    const key = { ...appKey([]), allDeployments: true };
    expect(outcome(key, "POST", "/v1/chat/completions")).toBe("scope_insufficient/no_rule_covers");
  });

  it("names the deciding rule: the one that allowed, or the first whose conditions failed", () => {
    const rules = [rule("pol_a", 0, "InferenceFullAccess", "*", elsewhere), rule("pol_a", 1, "InferenceFullAccess", "*", office)];
    expect(decide(appKey(rules), "POST", "/v1/chat/completions")).toMatchObject({ ok: true, rule: { policyId: "pol_a", index: 1 } });
    const failing = [rule("pol_a", 0, "InferenceReadOnly", "*"), rule("pol_b", 3, "InferenceFullAccess", "*", elsewhere)];
    expect(decide(appKey(failing), "POST", "/v1/chat/completions")).toMatchObject({ ok: false, rule: { policyId: "pol_b", index: 3 } });
    expect(decide(appKey([rule("pol_a", 0, "InferenceReadOnly", "*")]), "POST", "/v1/chat/completions")).not.toHaveProperty("rule");
  });

  it("says which side a failed condition is on, and never quotes the address", () => {
    const d = decide(appKey([rule("pol_a", 0, "InferenceFullAccess", "*", fr)]), "POST", "/v1/chat/completions");
    expect(!d.ok && d.message).toContain("policy rule");
    const ip = decide(appKey([rule("pol_a", 0, "InferenceFullAccess", "*", elsewhere)]), "POST", "/v1/chat/completions");
    expect(!ip.ok && ip.message).toContain("policy rules");
    expect(JSON.stringify(ip)).not.toContain(FACTS.clientIp);
    const own = decide(standalone("InferenceFullAccess", elsewhere), "POST", "/v1/chat/completions");
    expect(own).toMatchObject({ ok: false, code: "ip_not_allowed" });
    expect(own).not.toHaveProperty("message");
  });

  it("a standalone key's decision names no rule", () => {
    expect(decide(standalone("InferenceFullAccess"), "POST", "/v1/chat/completions")).not.toHaveProperty("rule");
  });
});
