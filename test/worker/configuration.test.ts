/**
 * Configuration through the Worker's fetch: a security setting that does not parse makes every request a 500
 * whose log names the variable (never its value, never in the body); a tuning setting that does not parse is
 * reported once and its default used.
 */
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, captureConsole, expectError, fixture, recordingOrigin, testWorker, withEnv } from "../helpers";

describe("a security setting that does not parse", () => {
  it.each([
    [{ ALLOW_PRIVATE_ORIGINS: "yes" }, "ALLOW_PRIVATE_ORIGINS"],
    [{ ACCESS_TEAM_DOMAIN: "team.cloudflareaccess.com" }, "ACCESS_AUD"],
    [{ ACCESS_TEAM_DOMAIN: "https://team.cloudflareaccess.com", ACCESS_AUD: "aud-secret-value" }, "ACCESS_TEAM_DOMAIN"],
  ])("%j fails every request closed, naming the variable only in the log", async (vars, variable) => {
    const f = await fixture();
    const { origin, seen } = recordingOrigin();
    const env = withEnv(vars);
    const logs = captureConsole();
    try {
      const responses = [
        await call(`${f.path}/v1/models`, { token: f.key.key, origin, env }),
        await call("/admin/v1/projects", { token: ADMIN_TOKEN, env }),
        await call("/healthz", { env }),
      ];
      for (const response of responses) {
        const body = await expectError(response, 500, "internal_error");
        expect(JSON.stringify(body)).not.toContain(variable);
      }
      expect(seen).toHaveLength(0);
      const logged = logs.lines.filter((line) => line.includes(`"configuration"`));
      expect(logged).toHaveLength(3);
      for (const line of logged) {
        expect(line).toContain(variable);
        for (const value of Object.values(vars)) expect(line).not.toContain(value);
      }
    } finally {
      logs.restore();
    }
  });
});

describe("a tuning setting that does not parse", () => {
  it("is logged once as a warning naming the default, which is then used", async () => {
    const f = await fixture();
    const { origin } = recordingOrigin();
    const env = withEnv({ MAX_BODY_BYTES: "10MB" });
    const worker = testWorker();
    const logs = captureConsole();
    try {
      for (let i = 0; i < 3; i++) {
        const res = await call(`${f.path}/v1/chat/completions`, { token: f.key.key, origin, env, worker, body: { messages: [] }, settle: false });
        expect(res.status).toBe(200);
      }
      const warnings = logs.lines.filter((line) => line.includes("MAX_BODY_BYTES"));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('"level":"warn"');
      expect(warnings[0]).toContain("10485760");
    } finally {
      logs.restore();
    }
  });
});
