// The SDK's ensure() on each resource against the real Worker: the first call creates, the second writes nothing
// (the project's audit log, where every management write leaves an event, stays the same length), a drifted field is
// patched and only it, and a key's secret comes back only from the call that created the key.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImmutableFieldError, KeygateError, ManagementClient } from "../sdk/index.ts";
import { type Keygate, startKeygate } from "./lib/keygate.ts";

let keygate: Keygate;
let kg: ManagementClient;

beforeAll(async () => {
  keygate = await startKeygate();
  const root = new ManagementClient({ baseUrl: keygate.url, token: keygate.adminToken, env: {} });
  await root.projects.create({ slug: "ens" });
  kg = root.withProject("ens");
});

afterAll(async () => {
  await keygate?.stop();
});

const audits = async () => (await kg.audit({ limit: 100 }).toArray()).length;

/** ensure(desired) twice, then with a drifted copy: created, unchanged (no write), updated with `changed` only. */
async function roundTrip<T>(ensure: (d: T) => Promise<{ status: string; changed: string[] }>, desired: T, drifted: T, changed: string[]) {
  expect((await ensure(desired)).status).toBe("created");
  const before = await audits();
  const again = await ensure(desired);
  expect(again).toMatchObject({ status: "unchanged", changed: [] });
  expect(await audits()).toBe(before);
  const updated = await ensure(drifted);
  expect(updated).toMatchObject({ status: "updated", changed });
  expect(await audits()).toBe(before + 1);
  expect((await ensure(drifted)).status).toBe("unchanged");
}

describe("ensure()", () => {
  it("deployments, by slug; header names compared, values never", async () => {
    const desired = { slug: "chat", origin: { url: `${keygate.originUrl}/`, headers: { Authorization: "Bearer a" } }, model: "m1", allowed_paths: ["/v1/models", "/v1/chat/completions"] };
    await roundTrip((d) => kg.deployments.ensure(d), desired, { ...desired, model: "m2", allowed_paths: ["/v1/chat/completions", "/v1/models"] }, ["model"]);
    // a new value under the same name is not seen (values are write-only): an explicit update writes it
    const before = await audits();
    expect((await kg.deployments.ensure({ ...desired, model: "m2", origin: { ...desired.origin, headers: { authorization: "Bearer b" } } })).status).toBe("unchanged");
    expect(await audits()).toBe(before);
  });

  it("applications, by name", async () => {
    await roundTrip((d) => kg.applications.ensure(d), { name: "billing", description: "one" }, { name: "billing", description: "two" }, ["description"]);
  });

  it("policies, by name; rules in order, each rule's deployments as a set; the application cannot change", async () => {
    const app = (await kg.applications.ensure({ name: "billing" })).object;
    const rules = [
      { permission_set: "InferenceReadOnly" as const, deployments: ["chat"], conditions: { countries: ["de"] } },
      { permission_set: "InferenceFullAccess" as const, deployments: ["*"], conditions: null },
    ];
    const desired = { name: "p", application_id: app.id, rules };
    await roundTrip((d) => kg.policies.ensure(d), desired, { ...desired, rules: [...rules].reverse() }, ["rules"]);
    const other = (await kg.applications.ensure({ name: "other" })).object;
    await expect(kg.policies.ensure({ ...desired, application_id: other.id })).rejects.toBeInstanceOf(ImmutableFieldError);
  });

  it("keys, by name among unrevoked keys; the secret only on create; two of one name is an error", async () => {
    const desired = {
      name: "ci",
      scopes: ["ens/chat", "ens/*"],
      conditions: { ip_allow: ["10.1.2.3/8", "::ffff:1.2.3.4"], not_after: "2999-01-01T01:00:00+01:00", ip_deny: [] },
      expires_at: "2998-06-01T00:00:00+02:00",
    };
    const created = await kg.keys.ensure(desired);
    expect(created.status).toBe("created");
    expect(created.secret).toMatch(/^ik_live_/);
    const before = await audits();
    const again = await kg.keys.ensure({ ...desired, scopes: ["ens/*", "ens/chat", "ens/chat"] });
    expect(again).toMatchObject({ status: "unchanged", changed: [] });
    expect(again.secret).toBeUndefined();
    expect(await audits()).toBe(before);
    const patched = await kg.keys.ensure({ ...desired, scopes: ["ens/chat"], permission_set: "InferenceReadOnly" });
    expect(patched).toMatchObject({ status: "updated", changed: ["scopes", "permission_set"] });
    expect(patched.secret).toBeUndefined();
    expect(await audits()).toBe(before + 1);

    await kg.keys.create({ name: "ci", scopes: ["ens/chat"] });
    const ambiguous = await kg.keys.ensure(desired).catch((err: unknown) => err);
    expect(ambiguous).toBeInstanceOf(KeygateError);
    expect((ambiguous as KeygateError).code).toBe("ambiguous_name");
  });

  it("budgets, by subject and period; limit and mode patched", async () => {
    const desired = { subject: { type: "project" as const, id: "ens" }, period: "month" as const, limit_tokens: 1000 };
    await roundTrip((d) => kg.budgets.ensure(d), desired, { ...desired, limit_tokens: 2000 }, ["limit_tokens"]);
    expect((await kg.budgets.ensure({ ...desired, period: "day" })).status).toBe("created");
  });
});
