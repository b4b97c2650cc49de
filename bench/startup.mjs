#!/usr/bin/env node
// Cold-start (startup) cost of the keygate Worker, measured with `wrangler check startup`.
//
// Why: every isolate cold start evaluates the whole bundle before the first request is served.
// The data plane (proxying /v1/...) should not pay for building the admin app (its zod schemas,
// routes, OpenAPI document), nor for parsing more bundle than it needs. This script gives the
// before/after figure.
//
// What: builds the bundle once (`wrangler deploy --dry-run --outdir --outfile`), then runs
// `wrangler check startup --worker <bundle>` N times. Each run loads the bundle in local workerd,
// V8-profiles the `import()` of the main module and writes a .cpuprofile. Per profile we report:
//   active  = sampled time minus (idle)  (same as wrangler's "Active"; includes GC)  <- headline
//   eval    = sampled time whose stack is inside the bundle (module evaluation; excl. GC and the
//             compile of the bundle, which V8 books to (program) or to wrangler's import() wrapper)
//   window  = endTime - startTime of the profile; gc = (garbage collector) samples
// and attribute samples to packages / source dirs through the bundle's source map (wrangler writes
// <module>.map beside it; the bundle is minified, so its code has no file markers): self = leaf frame,
// total = anywhere on the stack. Top-level statements of the scope-hoisted bundle have no line info in the profile:
// their self time shows as "(bundle top level)". The sampler is ~1 ms but V8 sometimes takes no
// sample for 5-40 ms (e.g. while compiling); wrangler books such a gap to the next sample, so group
// figures are coarse and the machine is noisy: compare medians of `active`, not single runs.
//
// Usage (from the repo root, so node_modules/.bin's node 24 is used): npx node bench/startup.mjs [--runs N] [--keep]
// Offline: WRANGLER_SEND_METRICS=false (telemetry to sparrow.cloudflare.com) and
// CLOUDFLARE_CF_FETCH_ENABLED=false (miniflare's request.cf fetch from workers.cloudflare.com) are set.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

let tmp; // set once the temp dir exists
const argv = process.argv.slice(2), runsAt = argv.indexOf("--runs");
const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 5;
if (!Number.isInteger(runs) || runs < 1) fail("--runs needs a positive integer");
const keep = argv.includes("--keep");

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
tmp = mkdtempSync(join(tmpdir(), "keygate-startup-"));
const env = { ...process.env, PATH: join(root, "node_modules", ".bin") + delimiter + process.env.PATH, // node 24 for wrangler
  WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "1", FORCE_COLOR: "0" };

function fail(msg) {
  console.error(`startup bench: ${msg}${tmp ? `\n(files kept in ${tmp})` : ""}`);
  process.exit(1);
}
function wrangler(args) {
  const r = spawnSync("wrangler", args, { cwd: root, env, encoding: "utf8", timeout: 180_000 });
  if (r.status !== 0) {
    const out = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n").slice(-25).join("\n");
    fail(`\`wrangler ${args.join(" ")}\` failed (${r.error?.message ?? `exit ${r.status}, signal ${r.signal}`})\n${out}`);
  }
  return r.stdout;
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const ms = (us) => (us / 1000).toFixed(1);

// 1. Build once; every run profiles the same bytes, and the source map matches the profile.
const outdir = join(tmp, "out"), bundle = join(tmp, "worker.bundle");
wrangler(["deploy", "--dry-run", "--outdir", outdir, "--outfile", bundle]);
const modules = readdirSync(outdir).filter((f) => /\.(m?js|cjs)$/.test(f));
const raw = Buffer.concat(modules.map((f) => readFileSync(join(outdir, f))));

// Guard: `check startup` exits 0 even if the module throws at top level (it only checks the status when
// some binding is unsupported), which would look like a great speed-up. Evaluate it once in workerd.
const meta = JSON.parse(readFileSync(bundle, "utf8").split(/\r?\n/).find((l) => l.startsWith('{"main_module"')));
const probe = join(tmp, "probe.mjs"), J = JSON.stringify;
const entry = `export default { async fetch() { try { await import("./${meta.main_module}"); return new Response("ok"); }
  catch (e) { return new Response(String(e?.stack ?? e), { status: 500 }); } } };`;
writeFileSync(probe, `import { readFileSync } from "node:fs";
import { Miniflare, convertV4MiniflareOptions } from ${J(createRequire(join(root, "node_modules/wrangler/package.json")).resolve("miniflare"))};
const mf = new Miniflare(convertV4MiniflareOptions({ compatibilityDate: ${J(meta.compatibility_date)}, compatibilityFlags: ${J(meta.compatibility_flags ?? [])},
  cf: false, modulesRoot: "/", modules: [{ type: "ESModule", path: "/probe-entry.mjs", contents: ${J(entry)} },
  ...${J(modules)}.map((f) => ({ type: "ESModule", path: "/" + f, contents: readFileSync(${J(outdir)} + "/" + f, "utf8") }))] }));
try { const r = await mf.dispatchFetch("https://example.com"), t = await r.text(); if (!r.ok) { console.error(t); process.exitCode = 1; } }
finally { await mf.dispose(); }
`);
const pr = spawnSync("node", [probe], { cwd: root, env, encoding: "utf8", timeout: 120_000 });
if (pr.status !== 0) fail(`the bundle does not evaluate in workerd, a startup profile would be meaningless:\n${pr.stderr}${pr.stdout}`);

// Source positions per module file, from its source map: per generated line, [column, source index or -1] segments
// in column order (-1: code that maps to no source, i.e. esbuild's runtime helpers).
const BASE64 = Object.fromEntries([..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"].map((c, i) => [c, i]));
function sourcePositions(map) {
  const lines = [];
  let source = 0; // the source index is a delta across the whole mapping, the column one within a line
  for (const line of map.mappings.split(";")) {
    const segments = [];
    let column = 0;
    for (const segment of line.split(",").filter(Boolean)) {
      const fields = [];
      for (let i = 0, value = 0, shift = 0; i < segment.length; i++) { // base64 VLQ: 5 bits a digit, sign in bit 0
        const digit = BASE64[segment[i]];
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else { fields.push(value & 1 ? -(value >>> 1) : value >>> 1); value = shift = 0; }
      }
      column += fields[0];
      if (fields.length > 1) source += fields[1];
      segments.push([column, fields.length > 1 ? source : -1]);
    }
    lines.push(segments);
  }
  return { sources: map.sources, lines };
}
const positions = new Map(modules.map((f) => {
  const map = join(outdir, `${f}.map`);
  if (!existsSync(map)) fail(`${map} is missing: wrangler wrote no source map, so samples cannot be attributed`);
  return [f, sourcePositions(JSON.parse(readFileSync(map, "utf8")))];
}));
function groupOf(path) { // a source path relative to the map: "../../../work/keygate/src/admin/app.ts", "…/node_modules/zod/…"
  let m = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(path);
  if (m) return m[1];
  m = /(?:^|\/)src\/(?!.*\/src\/)([^/]+)(\/)?/.exec(path); // the last src/: the repo may sit under another
  return m ? `src/${m[1]}${m[2] ? "/*" : ""}` : path.replace(/^(\.\.\/)+/, "");
}
function frameGroup(cf) {
  if (!cf.url) return cf.functionName.startsWith("(") ? cf.functionName : null; // null: builtin, inherit caller
  const module = positions.get(basename(cf.url));
  if (!module) return "(check-startup wrapper)"; // wrangler's import() entrypoint; compile time may land here
  if (cf.lineNumber < 0) return "(bundle top level)";
  const segments = module.lines[cf.lineNumber] ?? [];
  let source = -1; // binary search: the last segment at or before the column (both 0-based)
  for (let lo = 0, hi = segments.length - 1; lo <= hi;) {
    const mid = (lo + hi) >> 1;
    if (segments[mid][0] <= cf.columnNumber) { source = segments[mid][1]; lo = mid + 1; } else hi = mid - 1;
  }
  return source < 0 ? "(esbuild runtime)" : groupOf(module.sources[source]);
}

// 2. Profile N times, 3. analyse each profile.
function analyse(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n])), parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const r = { window: profile.endTime - profile.startTime, sampled: 0, idle: 0, gc: 0, eval: 0, self: new Map(), total: new Map() };
  const add = (m, k, dt) => m.set(k, (m.get(k) ?? 0) + dt);
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0; // wrangler's convention: delta i belongs to sample i
    r.sampled += dt;
    const stack = [];
    for (let n = id; n !== undefined; n = parent.get(n)) stack.push(nodes.get(n).callFrame);
    const fn = stack[0].functionName;
    if (fn === "(idle)") { r.idle += dt; return; }
    if (fn === "(garbage collector)") r.gc += dt;
    if (stack.some((cf) => positions.has(basename(cf.url)))) r.eval += dt;
    const groups = stack.map(frameGroup);
    add(r.self, groups.find((g) => g !== null) ?? fn, dt);
    for (const g of new Set(groups)) if (g && g !== "(root)") add(r.total, g, dt);
  });
  r.active = r.sampled - r.idle;
  return r;
}
const results = [];
for (let i = 1; i <= runs; i++) {
  const file = join(tmp, `run-${i}.cpuprofile`);
  wrangler(["check", "startup", "--worker", bundle, "--outfile", file]);
  const r = analyse(JSON.parse(readFileSync(file, "utf8")));
  if (r.eval === 0) fail(`${file}: no samples inside the bundle; was the module evaluated?`);
  results.push(r);
  console.error(`run ${i}/${runs}: active ${ms(r.active)} ms, eval ${ms(r.eval)} ms, gc ${ms(r.gc)} ms, window ${ms(r.window)} ms`);
}

// 4. Report.
const stat = (k) => { const xs = results.map((r) => r[k]); return `median ${ms(median(xs)).padStart(6)}  min ${ms(Math.min(...xs)).padStart(6)}  max ${ms(Math.max(...xs)).padStart(6)}`; };
console.log(`\nkeygate startup, ${runs} runs of \`wrangler check startup\` (ms)`);
for (const k of ["active", "eval", "gc", "window"]) console.log(`  ${k.padEnd(7)} ${stat(k)}`);
const gz = gzipSync(raw).length, kib = (n) => (n / 1024).toFixed(2);
console.log(`bundle: ${raw.length} bytes (${kib(raw.length)} KiB), gzip ${gz} bytes (${kib(gz)} KiB) [${modules.join(", ")}]`);
const groups = new Set(results.flatMap((r) => [...r.total.keys(), ...r.self.keys()]));
const rows = [...groups].map((g) => [g, median(results.map((r) => r.self.get(g) ?? 0)), median(results.map((r) => r.total.get(g) ?? 0))])
  .filter(([, s, t]) => s + t > 0).sort((a, b) => b[2] - a[2] || b[1] - a[1]);
console.log(`\ntop contributors (median over runs, ms; total = on the stack, self = leaf)`);
console.log(`  ${"group".padEnd(32)} ${"total".padStart(7)} ${"self".padStart(7)}`);
for (const [g, s, t] of rows.slice(0, 15)) console.log(`  ${g.padEnd(32)} ${ms(t).padStart(7)} ${ms(s).padStart(7)}`);
if (keep) console.log(`\nprofiles and bundle kept in ${tmp}`);
else rmSync(tmp, { recursive: true, force: true });
