import { env, exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("runs in workerd with migrated D1", async () => {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM projects").first<{ n: number }>();
  expect(row?.n).toBe(0);
  const res = await exports.default.fetch("https://keygate.test/healthz");
  expect(res.status).toBe(200);
});
