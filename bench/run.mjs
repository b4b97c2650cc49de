/**
 * keygate's benchmark (issue 5). `npm run bench` for the full run (about 6 minutes), `npm run bench -- --smoke` for
 * a few-second check that every target answers as it should (what CI runs). BENCHMARKS.md explains the method.
 *
 *   --smoke          1 round, concurrency 1, about a second per target; results go to bench/out/, never committed
 *   --rounds N       interleaved rounds (default 5; at least 3 for published figures)
 *   --duration S     seconds per measured run (default 3)
 *   --keys N         API keys seeded into D1 (default 10000)
 *   --targets A,B    only these targets, and the pass-through control (e.g. `warm,warm-signed` with many rounds, for
 *                    the cost of the signed assertion); results go to bench/out/results.partial.*, no goals
 *   --baseline REF   also serve another commit's keygate (built in a temporary worktree) and measure its warm key in
 *                    the same rounds: what a change costs a request it should not touch (issue 14: an unbudgeted key)
 *   --far-d1         the far-away D1 instead (bench/far-d1.mjs, its own options there): hot key, keys in use, cold key
 *   --warm-path      the in-process warm path instead (bench/warm-path.mjs, its own options there): ns per request and
 *                    per stage, and a CPU profile
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { atCommit, bundleKeygate, readWranglerConfig } from "./lib/build.mjs";
import { chartPanels, renderChart } from "./lib/chart.mjs";
import * as h2loadClient from "./lib/h2load.mjs";
import * as nodeClient from "./lib/node-load.mjs";
import { evaluateGoals, formatMarkdown, formatTables, summarizeHttp, summarizeStreams, targetDelta } from "./lib/report.mjs";
import { BODY, EDGE_HEADERS, STREAM_BODY } from "./lib/client.mjs";
import { applySeed, makeSeed, malformedSecret, newSecret, PEPPER } from "./lib/seed.mjs";
import { cpuTimeUs, loadMiniflare, serveWorker } from "./lib/serve.mjs";
import { measureStreams } from "./lib/sse.mjs";
import { spawnOrigin } from "./origin.mjs";

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, "..");
const OUT = join(BENCH, "out");
// This run's scratch files (bundle, request body, h2load logs), apart from any other run going on at the same time
// (a smoke run from `npm test` next to a full one, say); removed at the end.
mkdirSync(OUT, { recursive: true });
const SCRATCH = mkdtempSync(join(OUT, "run-"));

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name, fallback) => (argv.includes(`--${name}`) ? Number(argv[argv.indexOf(`--${name}`) + 1]) : fallback);
const SMOKE = flag("smoke");
const BASELINE = argv.includes("--baseline") ? argv[argv.indexOf("--baseline") + 1] : null;
const ONLY = flag("targets") ? argv[argv.indexOf("--targets") + 1].split(",") : null;
const CONFIG = {
  mode: SMOKE ? "smoke" : ONLY ? "partial" : "full",
  rounds: option("rounds", SMOKE ? 1 : 5),
  concurrencies: SMOKE ? [1] : [1, 16],
  duration_s: option("duration", SMOKE ? 1 : 3),
  warmup_requests: SMOKE ? 20 : 300,
  streams_per_round: SMOKE ? 3 : 30,
  keys_seeded: option("keys", 10_000),
  stream: { chunks: 8, chunk_interval_ms: 10 },
  auth_cache_lease_ms: { warm: "60000", d1: "0" },
};
// keygate's ASSERTION_SIGNING_KEY, made for this run: only the `signed` deployment uses it.
const ASSERTION_KEY = JSON.stringify(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" }));

/** keygate's Durable Object classes, bound as wrangler.toml binds them. */
const BUDGET_COUNTERS = { BUDGETS: "BudgetCounter" };

/** The load generator: h2load, or for a smoke on a machine without it, the Node client. */
let load = h2loadClient;

const HTTP_TARGETS = [
  { id: "origin", label: "origin direct", server: "origin", key: "known", expect: 200,
    description: "h2load straight to the stand-in origin: the floor" },
  { id: "passthrough", label: "pass-through worker", server: "passthrough", key: "known", expect: 200,
    description: "the control: a Worker that forwards without any auth, served the same way as keygate" },
  { id: "warm", label: "keygate, warm key", server: "warm", key: "known", expect: 200,
    description: "valid key, AUTH_CACHE_LEASE_MS=60000 (decisions may come from the isolate cache)" },
  { id: "d1", label: "keygate, D1 every request", server: "d1", key: "known", expect: 200,
    description: "valid key, AUTH_CACHE_LEASE_MS=0: every decision read from D1" },
  { id: "warm-budget", label: "keygate, warm, hard budget", server: "warm", key: "budgeted", expect: 200,
    description: "as warm, with a key a hard token budget covers: a reservation in its BudgetCounter before forwarding, settled after" },
  ...(BASELINE ? [{ id: "warm-baseline", label: `keygate at ${BASELINE}, warm`, server: "baseline", key: "known", expect: 200,
    description: `the warm key on keygate as it was at ${BASELINE}, served the same way, in the same rounds` }] : []),
  { id: "warm-signed", label: "keygate, warm, signed", server: "warm", key: "known", deployment: "signed", expect: 200,
    description: "as warm, to a deployment with origin_assertion = 1: an ES256 Keygate-Assertion signed per request" },
  { id: "warm-app", label: "keygate, warm app key", server: "warm", key: "application", expect: 200,
    description: "an application key whose policy grants on its third rule, AUTH_CACHE_LEASE_MS=60000" },
  { id: "d1-app", label: "keygate, D1 app key", server: "d1", key: "application", expect: 200,
    description: "the same application key, AUTH_CACHE_LEASE_MS=0: key and rules read from D1 every request" },
  { id: "malformed", label: "keygate, malformed → 401", server: "warm", key: "malformed", expect: 401,
    description: "well-shaped key with a wrong checksum: rejected before any lookup" },
  { id: "unknown", label: "keygate, unknown → 401", server: "warm", key: "unknown", expect: 401,
    description: "well-formed key with a valid checksum that is not in D1" },
];
const STREAM_TARGETS = [
  { id: "stream-origin", label: "origin direct (SSE)", server: "origin" },
  { id: "stream-passthrough", label: "pass-through (SSE)", server: "passthrough" },
  { id: "stream-keygate", label: "keygate warm key (SSE, usage injected)", server: "warm" },
];
if (ONLY) {
  for (const list of [HTTP_TARGETS, STREAM_TARGETS]) {
    list.splice(0, list.length, ...list.filter((t) => t.id === "passthrough" || ONLY.includes(t.id)));
  }
}

const log = (line) => process.stdout.write(line + "\n");
const cleanups = [];
let cleaning = null;
/** Stops everything this run started, newest first; safe to call more than once (signal and finally both do). */
function cleanup() {
  cleaning ??= (async () => {
    load.stopAll();
    while (cleanups.length) await cleanups.pop()().catch(() => {});
    rmSync(SCRATCH, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => cleanup().then(() => process.exit(130)));

function requestFor(target, servers, keys, { stream = false } = {}) {
  const server = servers[target.server];
  const path = target.server === "origin" ? "/v1/chat/completions"
    : `/endpoint/bench/${target.deployment ?? "chat"}/v1/chat/completions`;
  return {
    url: server.url + path,
    headers: { authorization: `Bearer ${keys[target.key ?? "known"]}`, "content-type": "application/json", ...EDGE_HEADERS },
    bodyFile: join(SCRATCH, "body.json"),
    body: stream ? STREAM_BODY : BODY,
  };
}

/** One request before any measurement: right status, and the right body, or the target is reported broken. */
async function probe(target, request) {
  try {
    const res = await fetch(request.url, { method: "POST", headers: request.headers, body: request.body });
    const text = await res.text();
    if (res.status !== target.expect) return `expected ${target.expect}, got ${res.status}: ${text.slice(0, 160)}`;
    if (target.expect === 401) {
      const code = JSON.parse(text)?.error?.code;
      if (code !== "invalid_api_key") return `expected error code invalid_api_key, got ${code}`;
    } else if (!text.includes('"chat.completion"')) return `200 without the origin's body: ${text.slice(0, 160)}`;
    return null;
  } catch (err) {
    return `request failed: ${err.message}`;
  }
}

/**
 * A 200 from the signed deployment means a token was signed (keygate refuses, 500, rather than forward it unsigned);
 * this checks that keygate publishes the bench's key, so that is the key it signs with.
 */
async function probeJwks(server) {
  try {
    const { keys } = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
    const { x, y } = JSON.parse(ASSERTION_KEY);
    return keys.length === 1 && keys[0].x === x && keys[0].y === y && keys[0].alg === "ES256" ? null
      : `the JWKS does not publish the bench's key: ${JSON.stringify(keys)}`;
  } catch (err) {
    return `the JWKS could not be read: ${err.message}`;
  }
}

const loadavg = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
const cpuDelta = (a, b) => b.user + b.system - a.user - a.system;
const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);
const git = (...args) => { try { return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim(); } catch { return null; } };

/** Bundles keygate, starts the origin and the three Workers, seeds both keygate stores. */
async function startServers() {
  log("· bundling keygate with wrangler deploy --dry-run");
  const wrangler = readWranglerConfig(ROOT);
  const scriptPath = bundleKeygate(ROOT, join(SCRATCH, "keygate"));
  const baselinePath = BASELINE
    ? atCommit(ROOT, BASELINE, SCRATCH, (tree) => bundleKeygate(tree, join(SCRATCH, "baseline")))
    : null;

  log("· starting the origin, the pass-through worker and two keygate instances (Miniflare, direct sockets)");
  const origin = await spawnOrigin({ chunks: CONFIG.stream.chunks, chunkMs: CONFIG.stream.chunk_interval_ms });
  cleanups.push(origin.close);
  const mf = await loadMiniflare(ROOT);
  const serve = async (name, options) => {
    const server = await serveWorker(mf.Miniflare, mf.convert, { name, logDir: join(OUT, "logs"),
      compatibilityDate: wrangler.compatibilityDate, compatibilityFlags: wrangler.compatibilityFlags, ...options });
    cleanups.push(server.close);
    return server;
  };
  const keygateBindings = (lease) => ({ ...wrangler.vars, KEY_PEPPER: PEPPER, ADMIN_TOKEN: "bench-admin-token",
    ALLOW_PRIVATE_ORIGINS: "true", AUTH_CACHE_LEASE_MS: lease, ASSERTION_SIGNING_KEY: ASSERTION_KEY });
  const servers = {
    origin,
    passthrough: await serve("passthrough", { scriptPath: join(BENCH, "passthrough.js"), bindings: { ORIGIN: origin.url } }),
    warm: await serve("keygate-warm", { scriptPath, d1: true, durableObjects: BUDGET_COUNTERS, bindings: keygateBindings(CONFIG.auth_cache_lease_ms.warm) }),
    d1: await serve("keygate-d1", { scriptPath, d1: true, durableObjects: BUDGET_COUNTERS, bindings: keygateBindings(CONFIG.auth_cache_lease_ms.d1) }),
    // The baseline commit may predate budgets: its bundle then exports no BudgetCounter, and none is bound.
    ...(baselinePath ? { baseline: await serve("keygate-baseline", { scriptPath: baselinePath, d1: true,
      durableObjects: readFileSync(baselinePath, "utf8").includes("BudgetCounter") ? BUDGET_COUNTERS : undefined,
      bindings: keygateBindings(CONFIG.auth_cache_lease_ms.warm) }) } : {}),
  };

  log(`· seeding ${CONFIG.keys_seeded} keys into each keygate D1`);
  const seed = makeSeed({ keys: CONFIG.keys_seeded, pepper: PEPPER, originUrl: origin.url });
  for (const server of [servers.warm, servers.d1, servers.baseline]) if (server) await applySeed(server.db, ROOT, seed);
  const keys = { known: seed.known, application: seed.application.secret, budgeted: seed.budget.secret, malformed: malformedSecret(),
    unknown: newSecret() };
  return { servers, keys, wrangler, mf };
}

/** Probes every target once; the ones that answer wrongly are reported and left out of the measurements. */
async function probeAll(servers, keys, failures) {
  const broken = new Set();
  const report = (t, problem) => {
    log(`  probe ${t.label}: ${problem ?? `ok (${t.expect ?? 200})`}`);
    if (problem) { broken.add(t.id); failures.push(`${t.label}: ${problem}`); }
  };
  for (const t of HTTP_TARGETS) report(t, (await probe(t, requestFor(t, servers, keys))) ?? (t.deployment === "signed" ? await probeJwks(servers[t.server]) : null));
  for (const t of STREAM_TARGETS) {
    const check = await measureStreams(requestFor(t, servers, keys, { stream: true }),
      { streams: 1, warmup: 0, expectEvents: CONFIG.stream.chunks }).catch((err) => ({ complete: 0, statuses: { error: err.message } }));
    report(t, check.complete === 1 ? null : `stream incomplete or refused: ${JSON.stringify(check.statuses)}`);
  }
  if (broken.has("passthrough")) throw new Error("the pass-through control does not work; nothing can be compared");
  return broken;
}

/** One warm-up and one measured h2load run of one target, with CPU sampled around the measured run. */
async function measureHttp(t, concurrency, round, { servers, keys }) {
  const request = requestFor(t, servers, keys);
  const server = servers[t.server];
  await load.warmUp(request, { concurrency, requests: CONFIG.warmup_requests });
  const m = await load.measure(request, {
    concurrency, duration: CONFIG.duration_s, logFile: join(SCRATCH, "h2load.log"),
    around: () => ({ server: cpuTimeUs(server.pid), origin: cpuTimeUs(servers.origin.pid), bench: process.cpuUsage(),
      logLines: server.logLines?.() ?? 0 }),
  });
  const run = {
    round, target: t.id, concurrency, rps: m.rps, p50_ms: m.p50_ms, p99_ms: m.p99_ms, mean_ms: m.mean_ms,
    requests: m.requests, statuses: m.statuses, unexpected: m.requests - (m.statuses[t.expect] ?? 0) + m.unanswered,
    cpu_us_per_req: (m.end.server - m.start.server) / m.requests,
    origin_cpu_us_per_req: (m.end.origin - m.start.origin) / m.requests,
    // This Node process: it reads the Workers' log lines (keygate writes one per request) off workerd's stdout.
    bench_process_cpu_us_per_req: cpuDelta(m.start.bench, m.end.bench) / m.requests,
    worker_log_lines_per_req: (m.end.logLines - m.start.logLines) / m.requests,
  };
  log(`  [round ${round}/${CONFIG.rounds} c${concurrency}] ${t.label.padEnd(28)} ${m.rps.toFixed(0).padStart(6)} rps` +
    `  p50 ${m.p50_ms.toFixed(3)} ms  p99 ${m.p99_ms.toFixed(3)} ms  CPU ${run.cpu_us_per_req.toFixed(1)} µs/req`);
  return run;
}

async function measureStream(t, round, { servers, keys }) {
  const s = await measureStreams(requestFor(t, servers, keys, { stream: true }),
    { streams: CONFIG.streams_per_round, expectEvents: CONFIG.stream.chunks });
  log(`  [round ${round}/${CONFIG.rounds} SSE] ${t.label.padEnd(28)} first chunk ${s.ttfc_p50_ms?.toFixed(3)} ms` +
    `  gap p50 ${s.gap_p50_ms?.toFixed(3)} ms  p99 ${s.gap_p99_ms?.toFixed(3)} ms`);
  return { round, target: t.id, ...s };
}

function environment({ mf, h2load, loadBefore }) {
  return {
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, memory_gb: Math.round(totalmem() / 2 ** 30),
      kernel: release(), os: /PRETTY_NAME="([^"]*)"/.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? null,
      // 1-minute load average before the run and at its end (the bench itself keeps about 2 busy): a high value
      // before means other work shared the machine.
      load_average_before: loadBefore, load_average_after: loadavg() },
    versions: { node: process.version, h2load, miniflare: mf.version, workerd: mf.workerdVersion,
      wrangler: JSON.parse(readFileSync(join(ROOT, "node_modules/wrangler/package.json"), "utf8")).version,
      keygate_commit: git("rev-parse", "--short", "HEAD"), keygate_worktree_dirty: Boolean(git("status", "--porcelain", "src")) },
  };
}

async function main() {
  const h2load = h2loadClient.h2loadVersion();
  if (!h2load && !SMOKE) {
    console.error(h2loadClient.INSTALL_HINT);
    process.exitCode = 2;
    return;
  }
  if (!h2load) log("· h2load is not installed: the smoke uses a Node client (statuses checked; latencies indicative only)");
  load = h2load ? h2loadClient : nodeClient;
  mkdirSync(join(OUT, "logs"), { recursive: true });
  writeFileSync(join(SCRATCH, "body.json"), BODY);
  const started = Date.now();
  const loadBefore = loadavg();
  if (loadBefore > 0.5 && !SMOKE) log(`! load average is ${loadBefore} before starting: other work on this machine will skew the figures`);
  if (!SMOKE && CONFIG.rounds < 3) log("! fewer than 3 rounds: fine for a try, too few for published figures");
  log(`keygate bench (${CONFIG.mode}): ${CONFIG.rounds} round(s), concurrency ${CONFIG.concurrencies.join(" and ")}, ${CONFIG.duration_s} s per run`);

  const setup = await startServers();
  const failures = [];
  const broken = await probeAll(setup.servers, setup.keys, failures);

  // Interleaved rounds: every target once per round and concurrency, the order rotating from round to round.
  const httpRuns = [];
  const streamRuns = [];
  for (let round = 1; round <= CONFIG.rounds; round++) {
    for (const concurrency of CONFIG.concurrencies) {
      for (const t of rotate(HTTP_TARGETS, round - 1).filter((x) => !broken.has(x.id))) {
        const run = await measureHttp(t, concurrency, round, setup);
        httpRuns.push(run);
        if (run.unexpected) failures.push(`${t.label}, round ${round}, c${concurrency}: ${run.unexpected} responses not ${t.expect} (${JSON.stringify(run.statuses)})`);
      }
    }
    for (const t of rotate(STREAM_TARGETS, round - 1).filter((x) => !broken.has(x.id))) {
      const s = await measureStream(t, round, setup);
      streamRuns.push(s);
      if (s.complete !== s.streams) failures.push(`${t.label}, round ${round}: ${s.streams - s.complete} of ${s.streams} streams incomplete (${JSON.stringify(s.statuses)})`);
    }
  }

  const http = summarizeHttp(httpRuns, HTTP_TARGETS, CONFIG.concurrencies);
  const streams = summarizeStreams(streamRuns, STREAM_TARGETS);
  const goals = CONFIG.mode === "full" ? evaluateGoals(http, streams) : null;
  // The assertion's own cost: the signed target against the same request unsigned, round by round.
  const assertion = CONFIG.concurrencies.map((concurrency) => ({ concurrency, ...targetDelta(httpRuns, "warm-signed", "warm", concurrency) }));
  // Issue 14: what a hard budget's reservation costs a request, and what budgets cost a request no budget covers.
  const budget = CONFIG.concurrencies.map((concurrency) => ({ concurrency, ...targetDelta(httpRuns, "warm-budget", "warm", concurrency) }));
  const unbudgeted = BASELINE
    ? CONFIG.concurrencies.map((concurrency) => ({ concurrency, baseline: BASELINE, ...targetDelta(httpRuns, "warm", "warm-baseline", concurrency) }))
    : null;
  const results = {
    date: new Date().toISOString(),
    mode: CONFIG.mode,
    duration_total_s: Math.round((Date.now() - started) / 1000),
    ...environment({ mf: setup.mf, h2load, loadBefore }),
    config: { ...CONFIG, compatibility_date: setup.wrangler.compatibilityDate },
    targets: [...HTTP_TARGETS, ...STREAM_TARGETS].map(({ id, label, description, expect }) => ({ id, label, description, expect })),
    not_working: [...broken],
    failures,
    http,
    streams,
    assertion,
    budget,
    unbudgeted,
    goals,
  };
  const prefix = CONFIG.mode === "full" ? join(BENCH, "results") : join(OUT, `results.${CONFIG.mode}`);
  // The far-away-D1 and in-process figures come from their own modes (--far-d1, --warm-path) and stay in the file.
  const published = CONFIG.mode === "full" && existsSync(`${prefix}.json`) ? JSON.parse(readFileSync(`${prefix}.json`, "utf8")) : {};
  const otherModes = Object.fromEntries(["far_d1", "warm_path"].filter((k) => published[k]).map((k) => [k, published[k]]));
  writeFileSync(`${prefix}.json`, JSON.stringify({ ...results, ...otherModes }, null, 2) + "\n");
  writeFileSync(`${prefix}.svg`, renderChart(chartPanels(results, HTTP_TARGETS, STREAM_TARGETS)));
  const tables = { http, streams, goals, targets: [...HTTP_TARGETS, ...STREAM_TARGETS] };
  writeFileSync(join(OUT, `results${CONFIG.mode === "full" ? "" : `.${CONFIG.mode}`}.md`), formatMarkdown(tables)); // to refresh BENCHMARKS.md
  log(formatTables(tables));
  const deltas = (title, list) => log(`\n${title}\n` + list.map((a) =>
    `  c${a.concurrency}: ${a.cpu_added_us_per_req ?? "–"} µs CPU, ${a.p50_added_ms ?? "–"} ms p50, ${a.rps_ratio ?? "–"}× rps`).join("\n"));
  deltas("the signed assertion (warm-signed − warm, median over rounds)", assertion);
  deltas("a hard budget's reservation (warm-budget − warm, median over rounds)", budget);
  if (unbudgeted) deltas(`an unbudgeted key, against ${BASELINE} (warm − warm-baseline, median over rounds)`, unbudgeted);
  log(`\nwrote ${prefix}.json and ${prefix}.svg in ${results.duration_total_s} s`);
  if (failures.length) {
    log(`\n${failures.length} problem(s):\n` + failures.map((f) => `  ✗ ${f}`).join("\n"));
    process.exitCode = 1;
  }
}

try {
  if (flag("far-d1")) process.exitCode = await (await import("./far-d1.mjs")).farD1Main();
  else if (flag("warm-path")) process.exitCode = await (await import("./warm-path.mjs")).warmPathMain();
  else await main();
} catch (err) {
  console.error(err.stack ?? err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
