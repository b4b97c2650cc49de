/**
 * The far-away D1 (issue 12): `npm run bench -- --far-d1` serves keygate behind bench/far-d1/entry.js, a D1 binding
 * on which every statement takes an extra L ms (default 50), and measures what a D1 primary in another region costs:
 *
 *   hot key     one key under steady load (h2load, concurrency 1 and 16, rounds of several leases each), against
 *               the same bundle with its records in memory (L = 0, a 60 s lease): p50, p99, p99.9, max, how many
 *               requests took L ms or more, and how many waited for D1 (full decision reads, counted by the wrapper).
 *   keys        D1 statements per second of one isolate while 1, 100 and 1,000 keys of one project are in use.
 *   cold key    a key never used before: statements it costs, and its latency against a warm key's (on the in-memory
 *               server too, L = 0: the cold path's own cost).
 *
 * The baseline is keygate as it was before project revisions (`--baseline REF`, a git commit, bundled from a
 * temporary worktree with this checkout's node_modules), measured in the same run against the same D1 wrapper.
 *
 *   --latency L       ms added to every statement (default 50)
 *   --round-seconds S seconds per hot-key run (default 10; three rounds per server and concurrency)
 *   --smoke           one short round, no baseline: checks that every target answers (CI); nothing published
 *   --baseline REF    the commit measured as today's code (default: the last one before project revisions)
 *
 * A full run writes its figures into bench/results.json under `far_d1` (the rest of the file is left as it is) and
 * bench/out/far-d1.md; a smoke writes bench/out/results.far-d1-smoke.json.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { join } from "node:path";
import { BENCH, commitOf, flag, option, OUT, publishMode, ROOT } from "./lib/args.mjs";
import { atCommit, bundleKeygate, readWranglerConfig } from "./lib/build.mjs";
import * as h2loadClient from "./lib/h2load.mjs";
import * as nodeClient from "./lib/node-load.mjs";
import { BODY, EDGE_HEADERS, PATH } from "./lib/client.mjs";
import { applySeed, makeSeed, PEPPER } from "./lib/seed.mjs";
import { loadMiniflare, serveWorker } from "./lib/serve.mjs";
import { latencySummary, median, round } from "./lib/stats.mjs";
import { spawnOrigin } from "./origin.mjs";

const SMOKE = flag("smoke");
/** keygate before project revisions: every key re-read from D1 once per lease per isolate. */
const BASELINE_REF = option("baseline", "7af3fa7");
const CONFIG = {
  mode: SMOKE ? "smoke" : "full",
  d1_latency_ms: Number(option("latency", "50")),
  lease_ms: 1000, // keygate's default AUTH_CACHE_LEASE_MS, for both the far servers
  hot: { rounds: SMOKE ? 1 : 3, round_seconds: Number(option("round-seconds", SMOKE ? "1" : "10")), concurrencies: SMOKE ? [1] : [1, 16] },
  keys: { counts: SMOKE ? [1, 10] : [1, 100, 1000], seconds: SMOKE ? 1 : 10, concurrency: 16 },
  cold: { keys: SMOKE ? 3 : 20 },
  baseline: SMOKE ? null : BASELINE_REF,
};

const log = (line) => process.stdout.write(line + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Bundles `root` as `wrangler deploy` would and puts the far-D1 wrapper next to the bundle. */
function farBundle(root, outdir) {
  bundleKeygate(root, outdir);
  copyFileSync(join(BENCH, "far-d1", "entry.js"), join(outdir, "far-entry.js"));
  return outdir;
}

/** The baseline commit's bundle, with the same far-D1 wrapper. */
function baselineBundle(ref, scratch) {
  return atCommit(ROOT, ref, scratch, (tree) => farBundle(tree, join(scratch, "baseline")));
}

/** Counts the wrapper has seen so far. */
async function d1Counts(server) {
  return (await fetch(`${server.url}/__bench/d1`)).json();
}

/** POSTs the chat body with each of `secrets` in turn, `concurrency` at a time, for `seconds` (or once each). */
async function rotate(server, secrets, { concurrency, seconds = null }) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const deadline = seconds === null ? Infinity : Date.now() + seconds * 1000;
  const statuses = {};
  const latenciesUs = [];
  let next = 0;
  const once = (secret) => new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = httpRequest(server.url + PATH, { agent, method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json", ...EDGE_HEADERS } }, (res) => {
      res.resume();
      res.on("end", () => {
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        latenciesUs.push(Number(process.hrtime.bigint() - started) / 1000);
        resolve();
      });
    });
    req.on("error", () => { statuses.error = (statuses.error ?? 0) + 1; resolve(); });
    req.end(BODY);
  });
  const started = Date.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < deadline && (seconds !== null || next < secrets.length)) await once(secrets[next++ % secrets.length]);
  }));
  agent.destroy();
  return { statuses, latenciesUs, seconds: (Date.now() - started) / 1000 };
}

async function startServers(scratch, load) {
  const wrangler = readWranglerConfig(ROOT);
  log("· bundling keygate" + (CONFIG.baseline ? ` and the baseline (${CONFIG.baseline})` : ""));
  const bundles = { current: farBundle(ROOT, join(scratch, "keygate")) };
  if (CONFIG.baseline) bundles.baseline = baselineBundle(CONFIG.baseline, scratch);
  const origin = await spawnOrigin({ chunks: 8, chunkMs: 10 });
  const mf = await loadMiniflare(ROOT);
  const seed = makeSeed({ keys: Math.max(...CONFIG.keys.counts) + 3 * CONFIG.cold.keys + 1, pepper: PEPPER, originUrl: origin.url });
  const closers = [origin.close];
  const serve = async (name, bundleDir, vars) => {
    const server = await serveWorker(mf.Miniflare, mf.convert, {
      name, d1: true, logDir: join(OUT, "logs"),
      modules: [{ type: "ESModule", path: join(bundleDir, "far-entry.js") }, { type: "ESModule", path: join(bundleDir, "index.js") }],
      modulesRoot: bundleDir,
      compatibilityDate: wrangler.compatibilityDate, compatibilityFlags: wrangler.compatibilityFlags,
      bindings: { ...wrangler.vars, KEY_PEPPER: PEPPER, ADMIN_TOKEN: "bench-admin-token", ALLOW_PRIVATE_ORIGINS: "true", ...vars },
    });
    closers.unshift(server.close);
    await applySeed(server.db, ROOT, seed);
    return server;
  };
  const far = { BENCH_D1_LATENCY_MS: String(CONFIG.d1_latency_ms), AUTH_CACHE_LEASE_MS: String(CONFIG.lease_ms) };
  const servers = {
    memory: await serve("far-memory", bundles.current, { BENCH_D1_LATENCY_MS: "0", AUTH_CACHE_LEASE_MS: "60000" }),
    current: await serve("far-current", bundles.current, far),
  };
  if (bundles.baseline) servers.baseline = await serve("far-baseline", bundles.baseline, far);
  return { servers, seed, close: async () => { for (const c of closers) await c().catch(() => {}); load.stopAll(); } };
}

const LABELS = { memory: "records in memory (L = 0, 60 s lease)", current: "keygate, D1 far away", baseline: "baseline, D1 far away" };

/** Hot key: interleaved rounds, each server in turn, h2load on one key. */
async function hotKey({ servers, seed }, load, scratch, failures) {
  const runs = [];
  const ids = Object.keys(servers);
  for (let round = 1; round <= CONFIG.hot.rounds; round++) {
    for (const concurrency of CONFIG.hot.concurrencies) {
      for (const id of ids.map((_, i) => ids[(i + round - 1) % ids.length])) {
        const server = servers[id];
        const request = { url: server.url + PATH, headers: { authorization: `Bearer ${seed.known}`, "content-type": "application/json", ...EDGE_HEADERS },
          bodyFile: join(scratch, "body.json") };
        await load.warmUp(request, { concurrency, requests: SMOKE ? 20 : 300 });
        const before = await d1Counts(server);
        const m = await load.measure(request, { concurrency, duration: CONFIG.hot.round_seconds, logFile: join(scratch, "h2load.log"),
          slowerThanMs: CONFIG.d1_latency_ms });
        const after = await d1Counts(server);
        const run = { round, server: id, concurrency, rps: m.rps, p50_ms: m.p50_ms, p99_ms: m.p99_ms, p999_ms: m.p999_ms, max_ms: m.max_ms,
          requests: m.requests, slower_than_l: m.slower ?? null, waited_for_d1: after.decision_reads - before.decision_reads,
          statuses: m.statuses, d1_reads_per_s: (after.reads - before.reads) / CONFIG.hot.round_seconds };
        runs.push(run);
        if ((m.statuses["200"] ?? 0) !== m.requests || m.unanswered) failures.push(`hot key, ${id}, c${concurrency}: ${JSON.stringify(m.statuses)}`);
        log(`  [round ${round} c${concurrency}] ${LABELS[id].padEnd(40)} p50 ${m.p50_ms.toFixed(3)}  p99 ${m.p99_ms.toFixed(3)}  p99.9 ${m.p999_ms.toFixed(3)}` +
          `  max ${m.max_ms.toFixed(1)} ms  ≥${CONFIG.d1_latency_ms} ms: ${run.slower_than_l}  waited for D1: ${run.waited_for_d1}/${m.requests}` +
          `  D1 reads ${run.d1_reads_per_s.toFixed(1)}/s`);
      }
    }
  }
  const summary = [];
  for (const concurrency of CONFIG.hot.concurrencies) {
    for (const id of ids) {
      const mine = runs.filter((r) => r.server === id && r.concurrency === concurrency);
      summary.push({ server: id, concurrency, seconds: mine.length * CONFIG.hot.round_seconds,
        rps: round(median(mine.map((r) => r.rps)), 0), p50_ms: round(median(mine.map((r) => r.p50_ms))),
        p99_ms: round(median(mine.map((r) => r.p99_ms))), p999_ms: round(median(mine.map((r) => r.p999_ms))),
        max_ms: round(Math.max(...mine.map((r) => r.max_ms)), 1), requests: mine.reduce((a, r) => a + r.requests, 0),
        slower_than_l: mine.reduce((a, r) => a + r.slower_than_l, 0), waited_for_d1: mine.reduce((a, r) => a + r.waited_for_d1, 0), d1_reads_per_s: round(median(mine.map((r) => r.d1_reads_per_s)), 2) });
    }
  }
  return { runs, summary };
}

/** D1 statements per second while `count` keys are in use, for each far server. */
async function keysInUse({ servers, seed }, failures) {
  const out = [];
  for (const count of CONFIG.keys.counts) {
    const secrets = seed.rows.slice(1, 1 + count).map((r) => r.secret);
    for (const id of Object.keys(servers).filter((s) => s !== "memory")) {
      const server = servers[id];
      await rotate(server, secrets, { concurrency: CONFIG.keys.concurrency }); // each key read once: warm
      const before = await d1Counts(server);
      const r = await rotate(server, secrets, { concurrency: CONFIG.keys.concurrency, seconds: CONFIG.keys.seconds });
      const after = await d1Counts(server);
      const requests = r.latenciesUs.length;
      const row = { server: id, keys: count, requests, rps: round(requests / r.seconds, 0),
        d1_reads_per_s: round((after.reads - before.reads) / r.seconds, 2),
        waited_for_d1_per_s: round((after.decision_reads - before.decision_reads) / r.seconds, 2), d1_writes_per_s: round((after.writes - before.writes) / r.seconds, 2),
        ...Object.fromEntries(Object.entries(latencySummary(r.latenciesUs)).map(([k, v]) => [k, round(v)])) };
      out.push(row);
      if ((r.statuses[200] ?? 0) !== requests) failures.push(`keys in use, ${id}, ${count} keys: ${JSON.stringify(r.statuses)}`);
      log(`  ${LABELS[id].padEnd(24)} ${String(count).padStart(5)} keys: ${row.rps} req/s, D1 reads ${row.d1_reads_per_s}/s, writes ${row.d1_writes_per_s}/s`);
    }
  }
  return out;
}

/** Keys never used before, one at a time, then a warm key the same way: statements each cost, and latency. */
async function coldKeys({ servers, seed }, failures) {
  const out = [];
  let first = 1 + Math.max(...CONFIG.keys.counts);
  // The in-memory server too: its cold key is the cold path's own cost with D1 next door (L = 0).
  for (const id of Object.keys(servers)) {
    const server = servers[id];
    await sleep(CONFIG.lease_ms + 200); // no validation of the runs before is still on its way
    // Each server gets keys of its own: the seed is the same in every D1, and a key is cold once per server.
    const secrets = seed.rows.slice(first, first + CONFIG.cold.keys).map((r) => r.secret);
    const reads = [];
    const cold = [];
    for (const secret of secrets) {
      const before = await d1Counts(server);
      const r = await rotate(server, [secret], { concurrency: 1 });
      reads.push((await d1Counts(server)).reads - before.reads);
      cold.push(...r.latenciesUs);
      if ((r.statuses[200] ?? 0) !== 1) failures.push(`cold key, ${id}: ${JSON.stringify(r.statuses)}`);
    }
    const warm = await rotate(server, Array(CONFIG.cold.keys).fill(seed.known), { concurrency: 1 });
    const row = { server: id, keys: secrets.length, d1_reads_per_cold_key: [...new Set(reads)],
      cold_p50_ms: round(latencySummary(cold).p50_ms), warm_p50_ms: round(latencySummary(warm.latenciesUs).p50_ms) };
    out.push(row);
    first += CONFIG.cold.keys;
    if (id !== "baseline" && reads.some((n) => n !== 1)) failures.push(`cold key, ${id}: D1 reads per cold key ${JSON.stringify(reads)}, expected exactly 1`);
    log(`  ${LABELS[id].padEnd(24)} cold key: ${row.d1_reads_per_cold_key.join(", ")} D1 read(s) each, p50 ${row.cold_p50_ms} ms (warm ${row.warm_p50_ms} ms)`);
  }
  return out;
}

export async function farD1Main() {
  const h2load = h2loadClient.h2loadVersion();
  if (!h2load && !SMOKE) {
    console.error(h2loadClient.INSTALL_HINT);
    return 2;
  }
  const load = h2load ? h2loadClient : nodeClient;
  mkdirSync(join(OUT, "logs"), { recursive: true });
  const scratch = mkdtempSync(join(OUT, "far-d1-"));
  writeFileSync(join(scratch, "body.json"), BODY);
  const started = Date.now();
  log(`keygate bench, far-away D1 (${CONFIG.mode}): every D1 statement takes ${CONFIG.d1_latency_ms} ms more, lease ${CONFIG.lease_ms} ms`);
  let setup = null;
  const failures = [];
  try {
    setup = await startServers(scratch, load);
    log("· hot key");
    const hot = await hotKey(setup, load, scratch, failures);
    log("· keys in use");
    const keys = await keysInUse(setup, failures);
    log("· cold keys");
    const cold = await coldKeys(setup, failures);
    const result = { date: new Date().toISOString(), mode: CONFIG.mode, duration_total_s: Math.round((Date.now() - started) / 1000),
      keygate_commit: commitOf(),
      load_generator: h2load ?? "node", config: CONFIG, servers: LABELS, hot_key: hot.summary, hot_key_runs: hot.runs, keys_in_use: keys,
      cold_key: cold, failures };
    log(`\nwrote ${publishMode({ key: "far_d1", name: "far-d1", result, markdown: markdown(result) })}`);
    log(markdown(result));
  } finally {
    await setup?.close();
    rmSync(scratch, { recursive: true, force: true });
  }
  if (failures.length) {
    log(`\n${failures.length} problem(s):\n` + failures.map((f) => `  ✗ ${f}`).join("\n"));
    return 1;
  }
  return 0;
}

/** The tables BENCHMARKS.md shows. */
function markdown({ hot_key, keys_in_use, cold_key, config }) {
  const L = config.d1_latency_ms;
  const lines = [
    `Hot key (medians of ${config.hot.rounds} rounds of ${config.hot.round_seconds} s; max over all; L = ${L} ms)`, "",
    `| server | c | req/s | p50 ms | p99 ms | p99.9 ms | max ms | requests ≥ ${L} ms | requests that waited for D1 | D1 reads/s |`,
    "|---|---|---|---|---|---|---|---|---|---|",
    ...hot_key.map((r) => `| ${LABELS[r.server]} | ${r.concurrency} | ${r.rps} | ${r.p50_ms} | ${r.p99_ms} | ${r.p999_ms} | ${r.max_ms} | ${r.slower_than_l} | ${r.waited_for_d1} of ${r.requests} | ${r.d1_reads_per_s} |`),
    "", `Keys of one project in use (concurrency ${config.keys.concurrency}, ${config.keys.seconds} s each)`, "",
    "| server | keys | req/s | D1 reads/s | of which full reads (a request waited) | D1 writes/s (usage) | p50 ms | p99 ms |",
    "|---|---|---|---|---|---|---|---|",
    ...keys_in_use.map((r) => `| ${LABELS[r.server]} | ${r.keys} | ${r.rps} | ${r.d1_reads_per_s} | ${r.waited_for_d1_per_s} | ${r.d1_writes_per_s} | ${r.p50_ms} | ${r.p99_ms} |`),
    "", "Cold keys (one request each, one at a time)", "",
    "| server | keys | D1 reads per cold key | cold p50 ms | warm p50 ms |", "|---|---|---|---|---|",
    ...cold_key.map((r) => `| ${LABELS[r.server]} | ${r.keys} | ${r.d1_reads_per_cold_key.join(", ")} | ${r.cold_p50_ms} | ${r.warm_p50_ms} |`),
  ];
  return lines.join("\n") + "\n";
}
