/**
 * The warm path in-process (issue 13): `npm run bench -- --warm-path`. keygate's fetch handler and the pass-through
 * control called directly inside one workerd isolate, with a stub origin, timed in batches (bench/warm-path/harness.ts
 * says why), plus each stage of the data plane on its own; then a CPU profile of keygate's handler under the same
 * load, taken through workerd's inspector. Unlike the h2load bench, nothing here crosses a socket or another process,
 * so differences of a microsecond stay visible on a noisy machine.
 *
 *   --smoke          a few short batches, every task once: checks the harness works (what `npm test` runs)
 *   --rounds N       interleaved rounds (default 25); each round runs every task once, in a rotated order
 *   --batch-ms M     target length of one batch (default 30)
 *   --baseline REF   also run the whole-request tasks of another commit, interleaved in the same rounds (a git
 *                    worktree of REF with this harness copied in), for before/after figures
 *   --no-profile     skip the CPU profiles
 *   --profiles-only  only the CPU profiles (in-process, and under h2load load), no batches; written to bench/out,
 *                    never over the published run
 *
 * A full run writes its figures into bench/results.json under `warm_path` (the rest of the file is kept), the profile
 * to bench/warm-path.cpuprofile (open it in Chrome DevTools or VS Code), and the tables to bench/out/warm-path.md.
 */
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BENCH, commitOf, flag, option, OUT, publishMode, ROOT } from "./lib/args.mjs";
import { atCommit, bundleKeygate, readWranglerConfig } from "./lib/build.mjs";
import { bundleMarkers, summarizeProfile } from "./lib/cpu-profile.mjs";
import * as h2loadClient from "./lib/h2load.mjs";
import { connectInspector } from "./lib/inspector.mjs";
import { applySeed, makeSeed, newSecret, PEPPER } from "./lib/seed.mjs";
import { cpuTimeUs, loadMiniflare, serveWorker } from "./lib/serve.mjs";
import { median, round } from "./lib/stats.mjs";
import { profileUnderLoad } from "./warm-path/under-load.mjs";

const SMOKE = flag("smoke");
const CONFIG = {
  // "profiles": --profiles-only, whose results (no batches) are not published.
  mode: SMOKE ? "smoke" : flag("profiles-only") ? "profiles" : "full",
  rounds: Number(option("rounds", SMOKE ? "1" : "25")),
  batch_ms: Number(option("batch-ms", SMOKE ? "5" : "30")),
  keys_seeded: 1000,
  baseline: option("baseline", null),
  profile: !SMOKE && !flag("no-profile"),
  batches: !flag("profiles-only"),
  profile_seconds: 4,
  profile_sampling_us: 100,
  under_load: { seconds: 5, concurrency: 16 },
  auth_cache_lease_ms: "60000",
};
const log = (line) => process.stdout.write(line + "\n");
const UNKNOWN_KEY = newSecret();

/** This checkout's bench Worker, or REF's keygate with this harness's whole-request tasks. */
function bundle(scratch, ref) {
  // Unminified, so the profile can name source files: minifying renames locals, not what runs.
  if (ref === null) return bundleKeygate(ROOT, join(scratch, "current"), "bench/warm-path/worker.ts", { minify: false });
  return atCommit(ROOT, ref, scratch, (tree) => {
    // This harness, and the data it shares with the other benches, in REF's tree: REF's keygate, today's measurement.
    mkdirSync(join(tree, "bench", "warm-path"), { recursive: true });
    for (const file of ["warm-path/harness.ts", "warm-path/baseline.ts", "lib/completion.json", "lib/chat-request.json"]) {
      cpSync(join(BENCH, file), join(tree, "bench", file));
    }
    // wrangler refuses to bundle an entry that does not export the Durable Object classes REF's wrangler.toml binds.
    if (existsSync(join(tree, "src", "budgets", "counter.ts"))) {
      appendFileSync(join(tree, "bench", "warm-path", "baseline.ts"), 'export { BudgetCounter } from "../../src/budgets/counter";\n');
    }
    return bundleKeygate(tree, join(scratch, "baseline"), "bench/warm-path/baseline.ts", { minify: false });
  });
}

/** keygate's settings for every bench Worker here: the warm lease, the bench keys. */
function bindingsFor(seed) {
  return { ...readWranglerConfig(ROOT).vars, KEY_PEPPER: PEPPER, ADMIN_TOKEN: "bench-admin-token-not-a-secret",
    ALLOW_PRIVATE_ORIGINS: "true", AUTH_CACHE_LEASE_MS: CONFIG.auth_cache_lease_ms, BENCH_KEY: seed.known,
    BENCH_UNKNOWN_KEY: UNKNOWN_KEY };
}
/** One bench Worker in its own workerd, with a seeded local D1 and its caches warm. */
async function serve(mf, name, scriptPath, seed, inspect = false) {
  const wrangler = readWranglerConfig(ROOT);
  const server = await serveWorker(mf.Miniflare, mf.convert, {
    name, scriptPath, compatibilityDate: wrangler.compatibilityDate, compatibilityFlags: wrangler.compatibilityFlags,
    bindings: bindingsFor(seed), serviceBindings: { SELF: name },
    d1: true, logDir: join(OUT, "logs"), inspect,
  });
  await applySeed(server.db, ROOT, seed);
  const warm = await (await fetch(`${server.url}/warm`)).json();
  if (warm.status !== 200) throw new Error(`${name}: the warm request answered ${warm.status}, not 200`);
  server.tasks = await (await fetch(`${server.url}/tasks`)).json();
  return server;
}

/** One batch, with the CPU time workerd and this process used during it (whole ticks of /proc: summed over rounds). */
async function batch(server, task, n) {
  const cpuBefore = cpuTimeUs(server.pid), benchBefore = process.cpuUsage();
  const res = await fetch(`${server.url}/run?task=${encodeURIComponent(task)}&n=${n}`);
  if (!res.ok) throw new Error(`${server.name} ${task}: ${res.status} ${await res.text()}`);
  const { ms } = await res.json();
  const bench = process.cpuUsage(benchBefore);
  return { ms, n, cpu_us: cpuTimeUs(server.pid) - cpuBefore, bench_cpu_us: bench.user + bench.system };
}

/** n such that one batch of `task` takes about CONFIG.batch_ms. */
async function calibrate(server, task) {
  let n = 50;
  for (let i = 0; i < 6; i++) {
    const { ms } = await batch(server, task, n);
    if (ms >= CONFIG.batch_ms / 2) return Math.max(1, Math.round((n * CONFIG.batch_ms) / ms));
    n = Math.min(n * (ms < 2 ? 16 : Math.ceil(CONFIG.batch_ms / ms)), 2_000_000);
  }
  return n;
}

const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);

async function measure(servers) {
  const runs = servers.flatMap((server) => Object.keys(server.tasks).map((task) => ({ server, task, id: `${server.name}: ${task}` })));
  for (const run of runs) run.n = await calibrate(run.server, run.task);
  const ns = Object.fromEntries(runs.map((run) => [run.id, []]));
  for (const run of runs) Object.assign(run, { calls: 0, cpu_us: 0, bench_cpu_us: 0 });
  for (let round = 0; round < CONFIG.rounds; round++) {
    for (const run of rotate(runs, round)) {
      const { ms, n, cpu_us, bench_cpu_us } = await batch(run.server, run.task, run.n);
      ns[run.id].push((ms * 1e6) / n);
      run.calls += n;
      run.cpu_us += cpu_us;
      run.bench_cpu_us += bench_cpu_us;
    }
    log(`  round ${round + 1}/${CONFIG.rounds} done`);
  }
  return { runs, ns };
}

/**
 * Per task: the median over rounds, and the fastest batch. This machine's noise only ever adds time (other processes,
 * the hypervisor: a batch of the same task can take 3× longer), so the fastest of many batches is the closest reading
 * of what the code costs, and the figure stages are compared by; the median says what a typical batch saw.
 * keygate's whole request is compared with the pass-through's both ways: per round (median of the ratios), and
 * fastest against fastest.
 */
function summarize({ runs, ns }) {
  const tasks = runs.map(({ server, task, id, n, calls, cpu_us, bench_cpu_us }) => {
    const values = ns[id];
    return { server: server.name, task, about: server.tasks[task], batch_n: n, median_ns: round(median(values), 0),
      min_ns: round(Math.min(...values), 0), max_ns: round(Math.max(...values), 0),
      workerd_cpu_ns: round((cpu_us * 1000) / calls, 0), bench_cpu_ns: round((bench_cpu_us * 1000) / calls, 0),
      rounds_ns: values.map((v) => round(v, 0)) };
  });
  // A request in a context of its own is compared with the pass-through in a context of its own.
  const controlOf = (task) => (task.startsWith(OWN) ? `${OWN}pass-through` : "pass-through");
  const perRound = (server, task, f) => {
    const control = ns[`${server}: ${controlOf(task)}`];
    return median(ns[`${server}: ${task}`].map((v, i) => f(v, control[i])));
  };
  const fastest = (server, task) => Math.min(...ns[`${server}: ${task}`]);
  const versus = runs.filter((r) => /^(own request: )?keygate/.test(r.task) || r.task === "pass-through + a log line")
    .map(({ server, task }) => ({
      server: server.name, task, control: controlOf(task),
      throughput_vs_pass_through: round(perRound(server.name, task, (v, c) => c / v), 3),
      added_ns: round(perRound(server.name, task, (v, c) => v - c), 0),
      fastest_throughput_vs_pass_through: round(fastest(server.name, controlOf(task)) / fastest(server.name, task), 3),
      fastest_added_ns: round(fastest(server.name, task) - fastest(server.name, controlOf(task)), 0),
    }));
  return { tasks, versus };
}

const OWN = "own request: ";

function markdown({ tasks = [], versus = [], profile, under_load: underLoad }, config) {
  const us = (v) => (v === null ? "–" : (v / 1000).toFixed(2));
  const lines = [
    `In-process, per request (medians of ${config.rounds} interleaved rounds; one batch ≈ ${config.batch_ms} ms)`, "",
    "| build | task | fastest µs | median µs | slowest µs | workerd CPU µs | what it includes |", "|---|---|---:|---:|---:|---:|---|",
    ...tasks.map((t) => `| ${t.server} | ${t.task} | ${us(t.min_ns)} | ${us(t.median_ns)} | ${us(t.max_ns)} | ${us(t.workerd_cpu_ns)} | ${t.about} |`),
    "", "Against the pass-through: fastest batch against fastest batch, and the median of per-round comparisons", "",
    "| build | task | against | × (fastest) | added µs (fastest) | × (per round) | added µs (per round) |",
    "|---|---|---|---:|---:|---:|---:|",
    ...versus.map((v) => `| ${v.server} | ${v.task} | ${v.control} | ${v.fastest_throughput_vs_pass_through} | ${us(v.fastest_added_ns)} | ${v.throughput_vs_pass_through} | ${us(v.added_ns)} |`),
  ];
  if (profile) {
    lines.push("", `CPU profile of keygate's handler (${profile.sampled_ms} ms sampled, every ${config.profile_sampling_us} µs): self time`, "",
      "| share | function · file |", "|---:|---|", ...profile.functions.map((f) => `| ${(f.share * 100).toFixed(1)} % | ${f.what} |`),
      "", "| share | file |", "|---:|---|", ...profile.files.map((f) => `| ${(f.share * 100).toFixed(1)} % | ${f.what} |`));
  }
  if (underLoad) {
    const { keygate: k, "pass-through": p } = underLoad;
    const control = new Map(p.functions.map((f) => [f.what, f.us_per_req]));
    lines.push("", `Under h2load load (concurrency ${config.under_load.concurrency}, ${config.under_load.seconds} s, profiled): ` +
      `self time per request, keygate ${k.us_per_req} µs (${k.rps} req/s), pass-through ${p.us_per_req} µs (${p.rps} req/s)`, "",
      "| function · file | keygate µs/req | pass-through µs/req |", "|---|---:|---:|",
      ...k.functions.map((f) => `| ${f.what} | ${f.us_per_req} | ${control.get(f.what) ?? "–"} |`));
  }
  return lines.join("\n") + "\n";
}

/** keygate's handler under the batch load, profiled through workerd's inspector. */
async function profileKeygate(mf, scriptPath, seed, n) {
  const server = await serve(mf, "profiled", scriptPath, seed, true);
  const inspector = await connectInspector(server.inspectorUrl);
  try {
    await inspector.send("Profiler.enable");
    await inspector.send("Profiler.setSamplingInterval", { interval: CONFIG.profile_sampling_us });
    await inspector.send("Profiler.start");
    const until = Date.now() + CONFIG.profile_seconds * 1000;
    while (Date.now() < until) await batch(server, "keygate", n);
    const { profile } = await inspector.send("Profiler.stop");
    return profile;
  } finally {
    inspector.close();
    await server.close();
  }
}

export async function warmPathMain() {
  mkdirSync(join(OUT, "logs"), { recursive: true });
  const scratch = mkdtempSync(join(OUT, "warm-path-"));
  const started = Date.now();
  const servers = [];
  try {
    log(`keygate bench, warm path in-process (${CONFIG.mode}): ${CONFIG.rounds} rounds${CONFIG.baseline ? `, baseline ${CONFIG.baseline}` : ""}`);
    const mf = await loadMiniflare(ROOT);
    const seed = makeSeed({ keys: CONFIG.keys_seeded, pepper: PEPPER, originUrl: "http://origin.bench" });
    const current = bundle(scratch, null);
    let summary = {};
    let measured = null;
    if (CONFIG.batches) {
      // "checkout": this working tree's keygate; "baseline REF": the other commit's (each in its own workerd).
      servers.push(await serve(mf, "checkout", current, seed));
      if (CONFIG.baseline) servers.push(await serve(mf, `baseline ${CONFIG.baseline}`, bundle(scratch, CONFIG.baseline), seed));
      measured = await measure(servers);
      summary = summarize(measured);
    }
    let profile = null;
    let underLoad = null;
    // Published with a full run's figures; any other run's go to bench/out.
    const profileDir = CONFIG.mode === "full" ? BENCH : OUT;
    if (CONFIG.profile) {
      log("· CPU profile in-process");
      const n = measured?.runs.find((r) => r.id === "checkout: keygate").n ?? 300;
      const raw = await profileKeygate(mf, current, seed, n);
      writeFileSync(join(profileDir, "warm-path.cpuprofile"), JSON.stringify(raw));
      profile = summarizeProfile(raw, bundleMarkers(current));
      if (h2loadClient.h2loadVersion()) {
        log("· CPU profiles under h2load load: the pass-through, then keygate");
        const wrangler = readWranglerConfig(ROOT);
        underLoad = await profileUnderLoad({ mf, wrangler, bindings: bindingsFor(seed), seed, root: ROOT,
          keygatePath: bundleKeygate(ROOT, join(scratch, "keygate"), null, { minify: false }),
          passthroughPath: join(BENCH, "passthrough.js"), scratch, logDir: join(OUT, "logs"), outDir: profileDir,
          seconds: CONFIG.under_load.seconds, concurrency: CONFIG.under_load.concurrency, samplingUs: CONFIG.profile_sampling_us });
      } else log(`  (no h2load: no profile under load; ${h2loadClient.INSTALL_HINT.split("\n")[0]})`);
    }
    const result = { date: new Date().toISOString(), mode: CONFIG.mode, duration_total_s: Math.round((Date.now() - started) / 1000),
      keygate_commit: commitOf(),
      miniflare: mf.version, workerd: mf.workerdVersion, config: CONFIG, ...summary, profile, under_load: underLoad };
    const tables = markdown(result, CONFIG);
    log(`\nwrote ${publishMode({ key: "warm_path", name: "warm-path", result, markdown: tables })}` +
      (CONFIG.profile ? ` and ${profileDir}/warm-path*.cpuprofile` : ""));
    log(tables);
    if (SMOKE) log("smoke: every task ran and keygate answered its warm key; a smoke's figures are not measurements");
    return 0;
  } finally {
    for (const server of servers) await server.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
