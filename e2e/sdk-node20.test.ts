// The SDK on Node 20, which cannot run TypeScript: `npm run build:sdk` compiles sdk/ to dist/sdk (tsconfig.sdk.json),
// and a script run by Node 20 itself (/usr/bin/node here; the repository's own node is 24) imports it by the
// package's `keygate/dist/sdk` export and manages a running keygate with it.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Keygate, ROOT, startKeygate } from "./lib/keygate.ts";

const NODE_20 = "/usr/bin/node";
const run = promisify(execFile);

// What a Node 20 user writes: settings from KEYGATE_* variables, ESM import of the built SDK.
const SCRIPT = `
import { KeygateError, ManagementClient } from "keygate/dist/sdk";
const kg = ManagementClient.fromEnv();
await kg.projects.create({ slug: kg.project });
await kg.deployments.create({ slug: "chat", origin: { url: process.env.ORIGIN_URL } });
const created = await kg.keys.create({ name: "from node 20", scopes: [kg.project + "/chat"] });
const keys = await kg.keys.list().toArray();
const missing = await kg.deployments.get("nowhere").catch((err) => err);
console.log(JSON.stringify({
  node: process.versions.node,
  secret: created.key.startsWith("ik_live_"),
  keys: keys.map((k) => ({ id: k.id, name: k.name })),
  createdId: created.id,
  missing: { isKeygateError: missing instanceof KeygateError, status: missing.status, code: missing.code },
}));
`;

let keygate: Keygate | undefined;
const noNode20 = !existsSync(NODE_20);

beforeAll(async () => {
  if (noNode20) return;
  await rm(join(ROOT, "dist", "sdk"), { recursive: true, force: true });
  keygate = await startKeygate();
});

afterAll(async () => {
  await keygate?.stop();
});

it.skipIf(noNode20)(
  noNode20
    ? `skipped: ${NODE_20} (Node 20) is missing, so the built SDK cannot be tried on Node 20 here`
    : "npm run build:sdk, then Node 20 uses dist/sdk against keygate",
  async () => {
    // The build:sdk script's command, with this test's node running tsc.
    await run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.sdk.json"], { cwd: ROOT });
    for (const file of ["index.js", "index.d.ts", "management.js", "data.js", "openapi.d.ts"]) {
      expect(existsSync(join(ROOT, "dist", "sdk", file)), file).toBe(true);
    }

    const { stdout } = await run(NODE_20, ["--input-type=module", "--eval", SCRIPT], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        KEYGATE_BASE_URL: keygate!.url,
        KEYGATE_TOKEN: keygate!.adminToken,
        KEYGATE_PROJECT: "node20",
        ORIGIN_URL: keygate!.originUrl,
      },
    });
    const result = JSON.parse(stdout) as {
      node: string;
      secret: boolean;
      keys: { id: string; name: string }[];
      createdId: string;
      missing: { isKeygateError: boolean; status: number; code: string };
    };
    expect(result.node, `${NODE_20} must be Node 20`).toMatch(/^20\./);
    expect(result.secret).toBe(true);
    expect(result.keys).toEqual([{ id: result.createdId, name: "from node 20" }]);
    expect(result.missing).toEqual({ isKeygateError: true, status: 404, code: "not_found" });
  },
);
