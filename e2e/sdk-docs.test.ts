// docs/sdk.md's tour, run as written: its ```ts blocks between `<!-- sdk-tour:begin -->` and `<!-- sdk-tour:end -->`,
// joined in order, are one script, which Node 24 runs (type stripping) against keygate as `npm start` runs it, with
// the settings the doc says (KEYGATE_* variables) and the demo origin in place of the doc's https://llm.example.com.
// So the examples a reader copies stay true to the SDK and the API.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Keygate, ROOT, startKeygate } from "./lib/keygate.ts";

const DOC_ORIGIN = "https://llm.example.com";

function tourScript(markdown: string): string {
  const begin = markdown.indexOf("<!-- sdk-tour:begin -->");
  const end = markdown.indexOf("<!-- sdk-tour:end -->");
  if (begin === -1 || end < begin) throw new Error("docs/sdk.md has no <!-- sdk-tour:begin/end --> section");
  const blocks = [...markdown.slice(begin, end).matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  if (blocks.length === 0) throw new Error("docs/sdk.md's tour has no ```ts blocks");
  return blocks.join("\n");
}

let keygate: Keygate;

beforeAll(async () => {
  // Usage written 20 ms after a request, so the tour's usage() shows the request it just made.
  keygate = await startKeygate({ vars: { USAGE_FLUSH_MS: "20" } });
});

afterAll(async () => {
  await keygate?.stop();
});

it("docs/sdk.md's tour runs as written and prints what its comments say", async () => {
  const script = tourScript(readFileSync(join(ROOT, "docs", "sdk.md"), "utf8")).replaceAll(DOC_ORIGIN, keygate.originUrl);
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module-typescript", "--eval", script], {
    // From the repository, so `keygate/sdk` resolves to this package (a self-reference), as it does for a dependent.
    cwd: ROOT,
    env: { PATH: process.env.PATH, KEYGATE_BASE_URL: keygate.url, KEYGATE_TOKEN: keygate.adminToken, KEYGATE_PROJECT: "acme" },
    timeout: 90_000,
  }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`the tour failed: ${err.message}\n--- stdout\n${err.stdout}\n--- stderr\n${err.stderr}`);
  });
  const lines = stdout.trim().split("\n");
  for (const expected of [
    "Acme Inc.",
    "acme false",
    `${keygate.url}/endpoint/acme/chat`,
    "[ 'chat', 'embed' ]",
    "[ 'backend' ]",
    "[ 'support-bot prod' ]",
    "answers support tickets",
    "You said: Hello",
    "200",
    "403 project_scope_mismatch",
    "401",
  ]) {
    expect(lines, expected).toContain(expected);
  }
  expect(stdout).toMatch(/^false condition_not_met /m);
  // Usage: the chat completion and the models list, one row.
  expect(stdout).toMatch(/^\d{4}-\d\d-\d\d chat 2 [1-9]\d* [1-9]\d*$/m);
  expect(stdout).toMatch(/ admin key\.revoke key_\S+ req_[0-9a-f]{32}$/m);
  // The tour stores secrets, never prints them: only a key's `start` (its prefix and 4 characters).
  expect(stdout).not.toMatch(/ik_(live|sdk)_[A-Za-z0-9_-]{5,}/);
});
