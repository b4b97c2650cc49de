// `npm run pack:check` (in `npm test`): what `npm pack` would publish, checked against rules.
//
// It runs a real `npm pack --json` into a temporary directory (prepack builds dist/, postpack restores package.json;
// scripts/pack.mjs), then checks:
//   - every file in the tarball is one the package means to publish (PUBLISHED below): the SDK and CLI as JavaScript,
//     the `keygate` command, the license files and a few docs; so no test, e2e test, fixture, benchmark output,
//     Worker source, .dev.vars, key or other secret can slip in;
//   - nothing in it looks like a secret file, whatever the rules above say (FORBIDDEN);
//   - the files the package needs are there, and every `bin` and `exports` target of the published package.json exists
//     in the tarball, as JavaScript, with the declarations its `types` name;
//   - its dependencies are exactly the packages the compiled SDK and CLI import (optional peers apart);
//   - the clone's package.json is back as it was (postpack ran).
// Usage: node scripts/pack-check.mjs   (prints the file list; exits 1 on a problem)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { importedPackages } from "./pack.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

const PUBLISHED = [
  /^package\.json$/, /^README\.md$/, /^LICENSE$/, /^NOTICE$/, /^CHANGELOG\.md$/, /^SECURITY\.md$/,
  /^bin\/keygate\.js$/,
  /^dist\/sdk\/[a-z-]+\.(js|d\.ts)$/,
  /^dist\/cli\/([a-z-]+\/)*[a-z-]+\.js$/,
  /^docs\/(sdk|cli|config|security)\.md$/,
];
const FORBIDDEN = [
  /(^|\/)\.dev\.vars/, /(^|\/)\.env/, /\.(pem|key|p12|pfx|crt)$/, /(^|\/)(test|tests|e2e|bench|fixtures?|\.wrangler|src|migrations)\//,
  /\.test\.[cm]?[jt]s$/, /\.cpuprofile$/, /(^|\/)node_modules\//, /\.tgz$/, /(^|\/)\.git\//,
];
const REQUIRED = ["package.json", "README.md", "LICENSE", "NOTICE", "CHANGELOG.md", "bin/keygate.js",
  "dist/sdk/index.js", "dist/sdk/index.d.ts", "dist/cli/main.js"];

const problems = [];
const before = readFileSync(join(ROOT, "package.json"), "utf8");
const scratch = mkdtempSync(join(tmpdir(), "keygate-pack-"));
try {
  const npm = process.env.npm_execpath
    ? [process.execPath, [process.env.npm_execpath]]
    : ["npm", []];
  const out = execFileSync(npm[0], [...npm[1], "pack", "--json", "--pack-destination", scratch], {
    cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"],
  });
  const [result] = JSON.parse(out.slice(out.indexOf("[")));
  const files = result.files.map((f) => f.path).sort();

  console.log(`pack: ${result.filename}, ${files.length} files, ${(result.size / 1000).toFixed(1)} KB packed, ` +
    `${(result.unpackedSize / 1000).toFixed(1)} KB unpacked`);
  for (const file of files) console.log(`  ${file}`);

  for (const file of files) {
    if (FORBIDDEN.some((rule) => rule.test(file))) problems.push(`${file} must never be published`);
    else if (!PUBLISHED.some((rule) => rule.test(file))) {
      problems.push(`${file} is not one the package publishes (add it to "files" and to PUBLISHED here, or leave it out)`);
    }
  }
  for (const file of REQUIRED) if (!files.includes(file)) problems.push(`${file} is missing from the package`);

  // The manifest inside the tarball: every bin and exports target must be in it.
  const manifest = JSON.parse(execFileSync("tar", ["-xzOf", join(scratch, result.filename), "package/package.json"], { encoding: "utf8" }));
  const targets = [];
  for (const target of Object.values(manifest.bin ?? {})) targets.push(["bin", target]);
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    if (typeof target === "string") targets.push([subpath, target]);
    else for (const [condition, file] of Object.entries(target)) targets.push([`${subpath} (${condition})`, file]);
  }
  for (const [what, target] of targets) {
    const file = target.replace(/^\.\//, "");
    if (!files.includes(file)) problems.push(`published ${what} → ${target}, which is not in the package`);
    if (file.endsWith(".ts") && !file.endsWith(".d.ts")) {
      problems.push(`published ${what} → ${target}: TypeScript, which Node will not run inside node_modules`);
    }
  }
  if (manifest.private) problems.push("the published package.json says private: true");
  // Its dependencies: exactly what the compiled code imports (else an install pulls the Worker's libraries, or lacks one).
  const imported = importedPackages(ROOT);
  const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
  for (const name of imported) if (!declared.has(name)) problems.push(`the package imports ${name}, which its dependencies lack`);
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    if (!imported.has(name)) problems.push(`the published dependency ${name} is imported by nothing in the package`);
  }
  console.log(`pack: published dependencies: ${Object.keys(manifest.dependencies ?? {}).join(", ") || "none"}`);
} catch (err) {
  problems.push(`npm pack failed: ${err.message}${err.stdout ? `\n${err.stdout}` : ""}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (readFileSync(join(ROOT, "package.json"), "utf8") !== before) {
  problems.push("package.json differs after npm pack: postpack did not restore it (`node scripts/pack.mjs postpack`)");
}

if (problems.length > 0) {
  console.error(`pack: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
console.log("pack: the package holds only what it publishes, and every bin and export resolves");
