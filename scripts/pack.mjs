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
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MANIFEST = join(ROOT, "package.json");
const KEPT = join(ROOT, "dist", "package.json.clone");

/**
 * The packages the compiled SDK and CLI import (`from "x"`, `import("x")`), by package name: what an installed
 * keygate needs. The clone's other dependencies are the Worker's (hono, jose, …), bundled into it by wrangler, never
 * imported by the package.
 */
export function importedPackages(root = ROOT) {
  const names = new Set();
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith(".js")) {
        const code = readFileSync(path, "utf8");
        // tsc writes each import or re-export as one statement at a line's start; dynamic imports anywhere.
        const statics = code.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"/gm);
        const dynamics = code.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g);
        for (const [, specifier] of [...statics, ...dynamics]) {
          if (specifier.startsWith("node:") || specifier.startsWith(".")) continue;
          names.add(specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/"));
        }
      }
    }
  };
  for (const dir of ["sdk", "cli"]) visit(join(root, "dist", dir));
  return names;
}

/** The published manifest, from the clone's: only the dependencies the compiled code imports (optional peers stay peers). */
export function publishedManifest(clone, imported) {
  const peers = new Set(Object.keys(clone.peerDependencies ?? {}));
  const missing = [...imported].filter((name) => !(name in (clone.dependencies ?? {})) && !peers.has(name));
  if (missing.length > 0) throw new Error(`the compiled SDK/CLI import ${missing.join(", ")}, not in "dependencies"`);
  return {
    ...clone,
    dependencies: Object.fromEntries(Object.entries(clone.dependencies ?? {}).filter(([name]) => imported.has(name))),
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
  const published = publishedManifest(JSON.parse(text), importedPackages());
  writeFileSync(KEPT, text);
  writeFileSync(MANIFEST, `${JSON.stringify(published, null, 2)}\n`);
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
