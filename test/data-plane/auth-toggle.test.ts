/**
 * A deployment with API-key auth disabled: every request passes, with or without a key; a key sent is ignored
 * and still stripped before the origin; allowed_paths still apply.
 */
import { describe, expect, it } from "vitest";
import { call, createDeployment, createKey, createProject, createToken, expectError, recordingOrigin } from "../helpers";

async function openDeployment(extra: Record<string, unknown> = {}) {
  const project = await createProject();
  const deployment = await createDeployment(project.slug, {
    auth_enabled: false,
    origin: { url: "https://open.example.com", headers: { Authorization: "Bearer origin-own" } },
    ...extra,
  });
  return { project, deployment, path: `/endpoint/${project.slug}/${deployment.slug}` };
}

describe("auth disabled", () => {
  it("passes a request with no key", async () => {
    const d = await openDeployment();
    const { origin, seen } = recordingOrigin();
    const res = await call(`${d.path}/v1/chat/completions`, { body: { model: "m" }, origin });
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.get("authorization")).toBe("Bearer origin-own");
  });

  it("passes garbage, unknown, foreign and management credentials, and strips them", async () => {
    const d = await openDeployment();
    const other = await createProject();
    const foreignKey = await createKey(other.slug, [`${other.slug}/*`]);
    const token = await createToken(d.project.slug, "full");
    const credentials: Record<string, string>[] = [
      { authorization: "Bearer garbage" },
      { authorization: "Bearer ik_live_notwellformed" },
      { authorization: "Basic dXNlcjpwYXNz" },
      { authorization: `Bearer ${foreignKey.key}` },
      { authorization: `Bearer ${token.token}` },
      { "x-api-key": token.token },
      { authorization: `Bearer ${foreignKey.key}`, "x-api-key": "different" },
    ];
    for (const headers of credentials) {
      const { origin, seen } = recordingOrigin();
      const res = await call(`${d.path}/v1/models`, { headers: { ...headers, cookie: "c=1" }, origin, settle: false });
      expect({ headers, status: res.status }).toEqual({ headers, status: 200 });
      const up = seen[0]!;
      expect(up.headers.get("authorization")).toBe("Bearer origin-own");
      expect(up.headers.get("x-api-key")).toBeNull();
      expect(up.headers.get("cookie")).toBeNull();
      expect([...up.headers].map(([, v]) => v).join("\n")).not.toMatch(/ik_live_|ik_sdk_|garbage|different/);
    }
  });

  it("without origin headers, the client's Authorization still does not pass", async () => {
    const project = await createProject();
    const dep = await createDeployment(project.slug, { auth_enabled: false });
    const { origin, seen } = recordingOrigin();
    const res = await call(`/endpoint/${project.slug}/${dep.slug}/v1/models`, { token: "client-secret-value", origin });
    expect(res.status).toBe(200);
    expect(seen[0]!.headers.get("authorization")).toBeNull();
  });

  it("still enforces allowed_paths", async () => {
    const d = await openDeployment();
    const { origin, seen } = recordingOrigin();
    await expectError(await call(`${d.path}/v1/load_lora_adapter`, { body: {}, origin }), 404, "not_found");
    await expectError(await call(`${d.path}/v1/models%2F..%2Fload_lora_adapter`, { body: {}, origin }), 404, "not_found");
    expect(seen).toHaveLength(0);
  });

  it("another deployment of the same project still requires a key", async () => {
    const d = await openDeployment();
    const closed = await createDeployment(d.project.slug);
    const { origin, seen } = recordingOrigin();
    await expectError(await call(`/endpoint/${d.project.slug}/${closed.slug}/v1/models`, { origin }), 401, "missing_api_key");
    expect(seen).toHaveLength(0);
  });
});
