// `npm run licenses` (the first step of `npm test`): the license of every runtime package, checked.
//
// Runtime packages are those reachable from package.json's `dependencies` (and `optionalDependencies`), transitively,
// through each package's own `dependencies`, installed `optionalDependencies` and required `peerDependencies`:
// what the Worker bundle and the published SDK/CLI contain or install. devDependencies (wrangler, vitest, the
// TypeScript compiler, …) are build and test tools that never ship, and are not checked.
//
// The rule is an allowlist of permissive licenses (ALLOWED below). Everything else fails: copyleft, strong or weak
// (GPL, LGPL, AGPL, SSPL, EUPL, MPL, EPL, CDDL, …), and a license that is missing, unknown or "SEE LICENSE IN …".
// MPL-2.0 is weak (file-level) copyleft: the bundle `wrangler deploy` builds would contain the MPL files, and each
// deployer would then owe their source; keygate does not take that on by default. To accept such a package, decide it
// in a review and add its exact name to EXCEPTIONS with the reason. An SPDX expression passes when it can be satisfied
// with allowed licenses (`MIT OR GPL-3.0` passes, `MIT AND GPL-3.0` does not).
//
// NOTICE lists each runtime package with its license; this fails while one is missing there or listed with another
// license, so the list stays true when a dependency is added or changes its license.
//
// Usage: node scripts/licenses.mjs   (prints the list; exits 1 on a problem)
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** SPDX identifiers keygate's runtime dependencies may carry. */
const ALLOWED = new Set([
  "MIT", "MIT-0", "ISC", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "0BSD", "BlueOak-1.0.0", "CC0-1.0",
  "Unlicense", "Zlib",
]);
/** Licenses named as copyleft in the failure message (the allowlist refuses them either way). */
const COPYLEFT = /^(A?GPL|LGPL|SSPL|EUPL|MPL|EPL|CDDL|OSL|CPAL|CECILL|CC-BY-SA|RPL|Sleepycat)/i;
/** name → reason, for a package accepted by decision despite its license. None so far. */
const EXCEPTIONS = new Map();

const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));

/** The directory of `name` as Node would find it from `fromDir`: the nearest node_modules/name up the tree. */
function locate(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dir === ROOT || dirname(dir) === dir) return null;
  }
}

/** The license as an SPDX expression, from `license` (string or the old {type}) or the old `licenses` array. */
function licenseOf(pkg) {
  if (typeof pkg.license === "string") return pkg.license.trim();
  if (pkg.license && typeof pkg.license.type === "string") return pkg.license.type.trim();
  if (Array.isArray(pkg.licenses) && pkg.licenses.length > 0) {
    return pkg.licenses.map((l) => (typeof l === "string" ? l : l?.type)).filter(Boolean).join(" OR ");
  }
  return "";
}

/** Whether an SPDX expression can be satisfied with ALLOWED licenses; null when it does not parse. */
export function satisfiable(expression) {
  const tokens = expression.match(/\(|\)|[^\s()]+/g) ?? [];
  let at = 0;
  const peek = () => tokens[at];
  const fail = () => { throw new SyntaxError(expression); };
  function factor() {
    if (peek() === "(") {
      at++;
      const value = or();
      if (tokens[at++] !== ")") fail();
      return value;
    }
    const id = tokens[at++];
    if (id === undefined || /^(AND|OR|WITH|\))$/i.test(id)) fail();
    if (/^WITH$/i.test(peek() ?? "")) { at++; if (tokens[at++] === undefined) fail(); } // an exception keeps the license's family
    return ALLOWED.has(id.replace(/\+$/, ""));
  }
  function and() {
    let value = factor();
    while (/^AND$/i.test(peek() ?? "")) { at++; value = factor() && value; }
    return value;
  }
  function or() {
    let value = and();
    while (/^OR$/i.test(peek() ?? "")) { at++; value = and() || value; }
    return value;
  }
  try {
    if (tokens.length === 0) return null;
    const value = or();
    return at === tokens.length ? value : null;
  } catch {
    return null;
  }
}

function runtimePackages() {
  const root = readJson(join(ROOT, "package.json"));
  const found = new Map(); // directory → { name, version, license }
  const problems = [];
  const queue = [
    ...Object.keys(root.dependencies ?? {}).map((name) => ({ name, from: ROOT, via: "package.json", optional: false })),
    ...Object.keys(root.optionalDependencies ?? {}).map((name) => ({ name, from: ROOT, via: "package.json", optional: true })),
  ];
  while (queue.length > 0) {
    const { name, from, via, optional } = queue.shift();
    const dir = locate(name, from);
    if (dir === null) {
      if (!optional) problems.push(`${name} (needed by ${via}) is not installed: run npm ci`);
      continue;
    }
    if (found.has(dir)) continue;
    const pkg = readJson(join(dir, "package.json"));
    found.set(dir, { name: pkg.name ?? name, version: pkg.version ?? "?", license: licenseOf(pkg) });
    const optionalPeers = new Set(Object.entries(pkg.peerDependenciesMeta ?? {}).filter(([, m]) => m?.optional).map(([n]) => n));
    const next = (names, isOptional) =>
      names.forEach((dep) => queue.push({ name: dep, from: dir, via: `${pkg.name}@${pkg.version}`, optional: isOptional }));
    next(Object.keys(pkg.dependencies ?? {}), false);
    next(Object.keys(pkg.optionalDependencies ?? {}), true);
    next(Object.keys(pkg.peerDependencies ?? {}).filter((n) => !optionalPeers.has(n)), false);
  }
  return { packages: [...found.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version)), problems };
}

function main() {
  const { packages, problems } = runtimePackages();
  const notice = readFileSync(join(ROOT, "NOTICE"), "utf8");
  const width = Math.max(...packages.map((p) => `${p.name}@${p.version}`.length), 10);
  console.log(`licenses: ${packages.length} runtime packages (package.json "dependencies", transitively)`);
  for (const p of packages) {
    const label = `${p.name}@${p.version}`;
    const ok = satisfiable(p.license);
    let verdict = "ok";
    if (EXCEPTIONS.has(p.name)) verdict = `accepted: ${EXCEPTIONS.get(p.name)}`;
    else if (ok === null) { verdict = "REFUSED: no license, or not an SPDX expression"; }
    else if (!ok) verdict = COPYLEFT.test(p.license.replace(/^\(/, "")) ? "REFUSED: copyleft" : "REFUSED: not on the allowlist";
    if (verdict.startsWith("REFUSED")) problems.push(`${label}: ${p.license || "(no license)"}: ${verdict.slice(9)}`);
    console.log(`  ${label.padEnd(width)}  ${(p.license || "(none)").padEnd(14)}  ${verdict}`);
    const listed = notice.split("\n").some((line) => {
      const [name, ...license] = line.trim().split(/\s+/);
      return name === p.name && license.join(" ") === p.license;
    });
    if (!listed) problems.push(`NOTICE does not list ${p.name} with its license; add the line "  ${p.name}   ${p.license}"`);
  }
  if (problems.length > 0) {
    console.error(`licenses: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    console.error("The policy is in scripts/licenses.mjs's header comment (and CONTRIBUTING.md, \"Test\").");
    process.exit(1);
  }
  console.log("licenses: every runtime package is under a permissive license and listed in NOTICE");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
