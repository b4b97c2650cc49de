/** The decision's plain-data inputs for the pure suites (no Worker runtime): one home for their defaults. */
import { compileConditions } from "../src/authz/conditions";
import type { Conditions, DeploymentRecord, KeyRecord, RequestFacts } from "../src/authz/types";

/** A deployment with auth on, only its public endpoint open, no kill switch, no assertion. */
export function deploymentRecord(overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    id: "dep_1",
    projectId: "prj_1",
    projectSlug: "acme",
    slug: "llama",
    originUrl: "https://origin.example",
    originHeaders: {},
    model: null,
    allowedPaths: ["/v1/chat/completions"],
    authEnabled: true,
    publicEnabled: true,
    privateEnabled: false,
    privateAuthEnabled: true,
    clientCertFingerprints: null,
    originAssertion: false,
    projectSuspended: false,
    injectStreamUsage: true,
    defaultMaxTokens: null,
    projectBudgets: [],
    ...overrides,
  };
}

/** A request on the public endpoint, from a known address, country, network and client. */
export function requestFacts(overrides: Partial<RequestFacts> = {}): RequestFacts {
  return {
    endpoint: "public",
    viaPrivateHostname: false,
    clientCert: null,
    clientIp: "203.0.113.5",
    country: "DE",
    asn: 13335,
    userAgent: "Terraform/1.9.0",
    ...overrides,
  };
}

/** A live standalone key of project `acme` with full access, linked to `dep_1`, under `conditions`. */
export function keyRecord(overrides: Partial<KeyRecord> = {}, conditions: Conditions = {}): KeyRecord {
  return {
    id: "key_1",
    projectId: "prj_1",
    projectSlug: "acme",
    allDeployments: false,
    deploymentIds: new Set(["dep_1"]),
    permissionSet: "InferenceFullAccess",
    application: null,
    expiresAt: null,
    revokedAt: null,
    secretRetireAt: null,
    conditions: compileConditions(conditions),
    budgets: [],
    ...overrides,
  };
}
