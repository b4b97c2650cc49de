/**
 * Public and private endpoints, the client-certificate gate of PRIVATE_HOSTNAME, the kill switch and the `endpoints`
 * condition in the pure decision; and the pure parts of how a request arrives (certificate shapes, host names,
 * binding props).
 */
import { describe, expect, it } from "vitest";
import { authorize } from "../../src/authz/authorize";
import { compileConditions } from "../../src/authz/conditions";
import type { Conditions, DeploymentRecord, KeyRecord, RequestFacts, RuleRecord } from "../../src/authz/types";
import { callerOf, verifiedCertificate } from "../../src/gateway/arrival";
import { targetOfHost } from "../../src/gateway/handle";
import { deploymentRecord, keyRecord, requestFacts } from "../records";

const NOW = Date.UTC(2026, 11, 2);
const FINGERPRINT = "a".repeat(64);

const key = (conditions: Conditions = {}, extra: Partial<KeyRecord> = {}) =>
  keyRecord({ allDeployments: true, deploymentIds: new Set(), ...extra }, conditions);

const PRIVATE_ON = { privateEnabled: true };
const binding = requestFacts({ endpoint: "private" });
const mtls = (clientCert: string | null) => requestFacts({ endpoint: "private", viaPrivateHostname: true, clientCert });

function outcome(d: Partial<DeploymentRecord>, facts: RequestFacts, k: KeyRecord | null = key(), credential = true) {
  const decision = authorize({
    credential: credential ? { kind: "secret", secret: "ik_live_x" } : { kind: "none" },
    key: credential ? k : null,
    deployment: deploymentRecord(d),
    projectSlug: "acme",
    method: "POST",
    rawPath: "/v1/chat/completions",
    facts,
    now: NOW,
  });
  return decision.ok ? "allow" : `${decision.code}/${decision.reason}`;
}

describe("endpoints", () => {
  it.each<[string, Partial<DeploymentRecord>, RequestFacts, string]>([
    ["public on, public request", {}, requestFacts(), "allow"],
    ["public off answers as an unknown deployment", { publicEnabled: false, ...PRIVATE_ON }, requestFacts(), "not_found/endpoint_disabled"],
    ["private off (the default) answers as an unknown deployment", {}, binding, "not_found/endpoint_disabled"],
    ["private on, through the binding", PRIVATE_ON, binding, "allow"],
    ["private on, with a verified certificate", PRIVATE_ON, mtls(FINGERPRINT), "allow"],
    ["private hostname without a certificate: refused before anything else", PRIVATE_ON, mtls(null), "client_certificate_required/client_certificate_missing"],
    ["private hostname without a certificate, private off: still the certificate", {}, mtls(null), "client_certificate_required/client_certificate_missing"],
    ["a listed fingerprint", { ...PRIVATE_ON, clientCertFingerprints: new Set([FINGERPRINT]) }, mtls(FINGERPRINT), "allow"],
    ["an unlisted fingerprint", { ...PRIVATE_ON, clientCertFingerprints: new Set(["b".repeat(64)]) }, mtls(FINGERPRINT), "client_certificate_required/client_certificate_not_allowed"],
    ["fingerprints do not apply to the binding", { ...PRIVATE_ON, clientCertFingerprints: new Set(["b".repeat(64)]) }, binding, "allow"],
  ])("%s → %s", (_, d, facts, expected) => {
    expect(outcome(d, facts)).toBe(expected);
  });

  it("each endpoint has its own auth toggle", () => {
    const publicOff = { ...PRIVATE_ON, authEnabled: false };
    expect(outcome(publicOff, requestFacts(), null, false)).toBe("allow");
    expect(outcome(publicOff, binding, null, false)).toBe("missing_api_key/missing_credential");
    const privateOff = { ...PRIVATE_ON, privateAuthEnabled: false };
    expect(outcome(privateOff, binding, null, false)).toBe("allow");
    expect(outcome(privateOff, requestFacts(), null, false)).toBe("missing_api_key/missing_credential");
    // Auth off on the private endpoint still needs the certificate on the private hostname.
    expect(outcome(privateOff, mtls(null), null, false)).toBe("client_certificate_required/client_certificate_missing");
  });

  it("an unauthenticated caller learns nothing of a disabled endpoint (401 first, as for an unknown deployment)", () => {
    expect(outcome({ publicEnabled: false, ...PRIVATE_ON }, requestFacts(), null, false)).toBe("missing_api_key/missing_credential");
  });
});

describe("the kill switch", () => {
  it.each<[string, Partial<DeploymentRecord>, RequestFacts, KeyRecord | null, boolean, string]>([
    ["a valid key", { projectSuspended: true }, requestFacts(), key(), true, "project_suspended/project_suspended"],
    ["auth off, no key", { projectSuspended: true, authEnabled: false }, requestFacts(), null, false, "project_suspended/project_suspended"],
    ["the private endpoint", { projectSuspended: true, ...PRIVATE_ON }, binding, key(), true, "project_suspended/project_suspended"],
    ["no credential: 401 first (an anonymous caller is not told the project exists)", { projectSuspended: true }, requestFacts(), null, false, "missing_api_key/missing_credential"],
    ["a revoked key: 401 first", { projectSuspended: true }, requestFacts(), key({}, { revokedAt: 1 }), true, "invalid_api_key/revoked"],
    ["a key of another project: 403 other_project first", { projectSuspended: true }, requestFacts(), key({}, { projectSlug: "other" }), true, "project_scope_mismatch/other_project"],
    ["before scope", { projectSuspended: true }, requestFacts(), key({}, { allDeployments: false }), true, "project_suspended/project_suspended"],
  ])("%s → %s", (_, d, facts, k, credential, expected) => {
    expect(outcome(d, facts, k, credential)).toBe(expected);
  });
});

describe("the endpoints condition", () => {
  const rule = (conditions: Conditions): RuleRecord => ({
    policyId: "pol_1",
    index: 0,
    permissionSet: "InferenceFullAccess",
    allDeployments: true,
    deploymentIds: new Set(),
    conditions: compileConditions(conditions),
  });
  const appKey = (conditions: Conditions) =>
    key({}, { allDeployments: false, permissionSet: null, application: { id: "app_1", rules: [rule(conditions)] } });

  it.each<[string, KeyRecord, RequestFacts, string]>([
    ["a key for private only, on private", key({ endpoints: ["private"] }), binding, "allow"],
    ["a key for private only, on public", key({ endpoints: ["private"] }), requestFacts(), "condition_not_met/endpoint_not_allowed"],
    ["a key for public only, on private", key({ endpoints: ["public"] }), binding, "condition_not_met/endpoint_not_allowed"],
    ["a key for both", key({ endpoints: ["public", "private"] }), binding, "allow"],
    ["a rule for private only, on private", appKey({ endpoints: ["private"] }), binding, "allow"],
    ["a rule for private only, on public", appKey({ endpoints: ["private"] }), requestFacts(), "condition_not_met/endpoint_not_allowed"],
  ])("%s → %s", (_, k, facts, expected) => {
    expect(outcome(PRIVATE_ON, facts, k)).toBe(expected);
  });
});

describe("a client certificate, as request.cf.tlsClientAuth shows it", () => {
  const verified = {
    certPresented: "1",
    certVerified: "SUCCESS",
    certRevoked: "0",
    certFingerprintSHA256: FINGERPRINT.toUpperCase(),
  };
  const placeholder = { certPresented: "0", certVerified: "NONE", certRevoked: "0", certFingerprintSHA256: "" };
  const withCf = (cf: unknown) => ({ cf }) as unknown as Request;

  it.each<[string, unknown, string | null]>([
    ["verified and unrevoked: its fingerprint, lower-cased", { tlsClientAuth: verified }, FINGERPRINT],
    ["verification failed", { tlsClientAuth: { ...verified, certVerified: "FAILED:self signed certificate" } }, null],
    ["no certificate presented (NONE)", { tlsClientAuth: { ...verified, certPresented: "0", certVerified: "NONE" } }, null],
    ["the placeholder the edge sends without mTLS", { tlsClientAuth: placeholder }, null],
    ["revoked", { tlsClientAuth: { ...verified, certRevoked: "1" } }, null],
    ["a fingerprint that is not SHA-256 hex", { tlsClientAuth: { ...verified, certFingerprintSHA256: "not-hex" } }, null],
    ["booleans instead of the strings the edge sends", { tlsClientAuth: { ...verified, certPresented: true, certRevoked: false } }, null],
    ["no tlsClientAuth (wrangler dev)", { country: "DE" }, null],
    ["no cf at all", undefined, null],
  ])("%s", (_, cf, expected) => {
    expect(verifiedCertificate(withCf(cf))).toBe(expected);
  });
});

describe("host-based URLs", () => {
  it.each<[string, string, ReturnType<typeof targetOfHost>]>([
    ["llama.acme.ai.example.com", "/v1/models", { project: "acme", deployment: "llama", rest: "/v1/models" }],
    ["Llama.ACME.ai.example.com", "/v1/models", { project: "acme", deployment: "llama", rest: "/v1/models" }],
    ["llama.acme.ai.example.com", "/", { project: "acme", deployment: "llama", rest: "" }],
    ["acme.ai.example.com", "/v1/models", null],
    ["x.llama.acme.ai.example.com", "/v1/models", null],
    ["llama.acme.ai.example.com.evil.net", "/v1/models", null],
    ["llama.acmeai.example.com", "/v1/models", null],
    ["ai.example.com", "/v1/models", null],
  ])("%s%s", (host, path, expected) => {
    expect(targetOfHost(host, path, "ai.example.com")).toEqual(expected);
  });
});

describe("the caller a service binding's props name", () => {
  it.each<[unknown, string | null]>([
    [{ caller: "billing-api" }, "billing-api"],
    [{ caller: "" }, null],
    [{ caller: "has space" }, null],
    [{ caller: "x".repeat(129) }, null],
    [{ caller: 42 }, null],
    [{}, null],
    [undefined, null],
  ])("%j → %j", (props, expected) => {
    expect(callerOf(props)).toBe(expected);
  });
});
