// The README's usage and budgets example, run exactly as written after the quick start against `npm start`
// (wrangler dev, local D1, the BudgetCounter Durable Object under Miniflare): it must print what the README says.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Keygate, readmeScript, ROOT, runReadmeScript, startKeygate } from "./lib/keygate.ts";

let keygate: Keygate;

beforeAll(async () => {
  keygate = await startKeygate();
});

afterAll(async () => {
  await keygate?.stop();
});

describe("README usage and budgets example", () => {
  it("runs as written: the call is counted exactly, and the budget lowered to its spend refuses the next one", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const stdout = await runReadmeScript(keygate, `${readmeScript(readme, "quickstart")}\n${readmeScript(readme, "budgets-example")}`);
    const lines = stdout.split("\n");
    expect(lines.filter((line) => line.startsWith("ask: "))).toEqual(["ask: HTTP 200", "ask: HTTP 429"]);
    expect(lines).toContain('{"limit_tokens":1000,"spent_tokens":8,"reserved_tokens":0}');
    expect(lines).toContain('{"requests":1,"prompt_tokens":3,"completion_tokens":5}');
    // The commands' comments show what they print.
    expect(readme).toContain('# {"limit_tokens":1000,"spent_tokens":8,"reserved_tokens":0}');
    expect(readme).toContain('# {"requests":1,"prompt_tokens":3,"completion_tokens":5}');
  });
});
