// The README's IAM example (applications, policies, a read-only key, explain), run exactly as written after the
// quick start against `npm start` (wrangler dev, local D1): explain's answers and the data plane's must be the ones
// the README prints.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admin, type Keygate, readmeScript, ROOT, runReadmeScript, startKeygate } from "./lib/keygate.ts";

let keygate: Keygate;

beforeAll(async () => {
  keygate = await startKeygate();
});

afterAll(async () => {
  await keygate?.stop();
});

describe("README IAM example", () => {
  it("runs as written: the backend is allowed by its policy's rule, the IDE key may list models and not chat", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const stdout = await runReadmeScript(keygate, `${readmeScript(readme, "quickstart")}\n${readmeScript(readme, "iam-example")}`);
    const objects = stdout.split("\n").filter((line) => line.startsWith('{"allowed"')).map((line) => JSON.parse(line));

    const [policy] = (await admin<{ data: { id: string; name: string }[] }>(keygate, "GET", "/projects/demo/policies")).data;
    expect(policy).toMatchObject({ name: "backend-inference" });
    expect(objects).toEqual([
      { allowed: true, policy_id: policy!.id, rule_index: 0 },
      { allowed: false, status: 403, code: "scope_insufficient", reason: "permission_set" },
    ]);
    expect(stdout).toContain("ide lists models: HTTP 200\n");
    expect(stdout).toContain("ide chats: HTTP 403\n");

    // The commands' comments show what they print.
    expect(readme).toContain('# {"allowed":true,"policy_id":"pol_…","rule_index":0}');
    expect(readme).toContain('# {"allowed":false,"status":403,"code":"scope_insufficient","reason":"permission_set"}');
  });
});
