// Plain JavaScript: it runs in Node (it spawns `node --check`) yet imports the Worker's pages, which neither tsconfig
// can type-check together.
/**
 * Every console page's inline script is one module: the shared code (scripts/lib.ts), then the page's own. They are
 * strings to TypeScript, so nothing checks their syntax before a browser runs them; this does, with V8's own parser
 * (`node --check`), for each page as it renders — a name declared twice in the shared code or in one page's block, a
 * stray backtick or a `${` that String.raw interpolated would fail here, in seconds, rather than in the browser tests.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Applications } from "../../src/console/pages/applications";
import { Audit } from "../../src/console/pages/audit";
import { Budgets } from "../../src/console/pages/budgets";
import { Deployment } from "../../src/console/pages/deployment";
import { Deployments } from "../../src/console/pages/deployments";
import { Explain } from "../../src/console/pages/explain";
import { Keys } from "../../src/console/pages/keys";
import { NotFound } from "../../src/console/pages/not-found";
import { Projects } from "../../src/console/pages/projects";
import { SignIn } from "../../src/console/pages/sign-in";
import { Tokens } from "../../src/console/pages/tokens";
import { Usage } from "../../src/console/pages/usage";

const frame = { nonce: "test-nonce", project: "acme", access: false };
const PAGES = {
  "sign-in": SignIn(frame),
  projects: Projects(frame),
  deployments: Deployments(frame),
  deployment: Deployment({ ...frame, deployment: "chat" }),
  keys: Keys(frame),
  applications: Applications(frame),
  tokens: Tokens(frame),
  budgets: Budgets(frame),
  usage: Usage(frame),
  audit: Audit(frame),
  explain: Explain(frame),
  "not-found": NotFound({ ...frame, project: "" }),
};

let dir;
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), "keygate-console-scripts-"))));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("the console's inline scripts", () => {
  it.each(Object.entries(PAGES))("%s: one module script, with the nonce, that parses", async (name, element) => {
    const html = String(await element.toString());
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0][1]).toContain('type="module"');
    expect(scripts[0][1]).toContain('nonce="test-nonce"');
    const file = join(dir, `${name}.mjs`);
    await writeFile(file, scripts[0][2]);
    // Throws, with V8's message and line, when the script does not parse.
    await promisify(execFile)(process.execPath, ["--check", file]);
  });

  it("a script that does not parse is caught", async () => {
    const file = join(dir, "broken.mjs");
    await writeFile(file, "const a = 1;\n{ const a = 2; }\nconst a = 3;\n");
    await expect(promisify(execFile)(process.execPath, ["--check", file])).rejects.toThrow(/already been declared/);
  });
});
