// `npm pack` and `npm publish` run this as prepack and postpack: the published package is the SDK and the CLI as
// JavaScript, while a clone keeps running their TypeScript.
//
//   prepack   compiles sdk/ and cli/ into dist/ (tsconfig.dist.json), then writes the published manifest over
//             package.json: `exports["./sdk"]` points at dist/sdk (with its types) instead of sdk/index.ts, and
//             `engines.node` is the published code's (Node 20 runs it). The clone's package.json is kept aside in
//             dist/package.json.clone, which `files` does not publish.
//   postpack  puts the clone's package.json back.
//
// Why: Node strips TypeScript types only outside node_modules, so an installed package must ship JavaScript; and a
// clone resolves `keygate/sdk` to this package itself (a self-reference), where sdk/index.ts runs as it is, with no
// build step to forget. Exports cannot tell the two apart by condition, hence a manifest for each.
// If a pack fails between the two (postpack does not run then), `node scripts/pack.mjs postpack` restores package.json.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MANIFEST = join(ROOT, "package.json");
const KEPT = join(ROOT, "dist", "package.json.clone");

/** The published manifest, from the clone's. */
export function publishedManifest(clone) {
  return {
    ...clone,
    engines: { ...clone.engines, node: ">=20" },
    exports: {
      ...clone.exports,
      "./sdk": { types: "./dist/sdk/index.d.ts", default: "./dist/sdk/index.js" },
    },
  };
}

function prepack() {
  if (existsSync(KEPT)) {
    console.error(`pack: ${KEPT} exists: an earlier npm pack did not finish. Run \`node scripts/pack.mjs postpack\` ` +
      "to put the clone's package.json back, check it, then pack again.");
    process.exit(1);
  }
  rmSync(join(ROOT, "dist", "sdk"), { recursive: true, force: true });
  rmSync(join(ROOT, "dist", "cli"), { recursive: true, force: true });
  execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.dist.json"],
    { cwd: ROOT, stdio: "inherit" });
  const text = readFileSync(MANIFEST, "utf8");
  writeFileSync(KEPT, text);
  writeFileSync(MANIFEST, `${JSON.stringify(publishedManifest(JSON.parse(text)), null, 2)}\n`);
  console.error("pack: dist/sdk and dist/cli built; package.json is the published manifest until postpack");
}

function postpack() {
  if (!existsSync(KEPT)) {
    console.error(`pack: nothing to restore (${KEPT} does not exist)`);
    return;
  }
  renameSync(KEPT, MANIFEST);
  console.error("pack: the clone's package.json is back");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const step = process.argv[2];
  if (step === "prepack") prepack();
  else if (step === "postpack") postpack();
  else {
    console.error("usage: node scripts/pack.mjs prepack|postpack");
    process.exit(2);
  }
}
