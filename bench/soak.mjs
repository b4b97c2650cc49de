#!/usr/bin/env node
/**
 * `npm run soak`: a bounded fault soak of the bundled Worker (default 60 s, concurrency 16, loopback only).
 *
 * keygate's own bundle is served by Miniflare (bench/lib/serve.mjs) behind bench/soak/entry.js, which fails a share
 * of the data plane's D1 reads; the origin (bench/soak/chaos-origin.mjs) refuses, stalls past the timeout, resets
 * mid-stream, sends garbage and huge headers at random; an admin loop creates, rolls and revokes keys throughout.
 * At the end it checks, and prints:
 *   1. no request was allowed with a secret after its revoke (or roll) answered — the origin saw none of them;
 *   2. no secret in any log line the Worker wrote;
 *   3. an audit event for every management write that answered 2xx;
 *   4. every error keygate answered is the contract's shape, with a known code;
 *   5. no unhandled rejection (none in the Worker's log, none in this process);
 *   6. the Worker's memory flat from the end of warm-up to the end: its JavaScript heap after a full GC, read over
 *      workerd's inspector (bench/soak/heap.mjs). Resident memory is printed too, but not judged: locally workerd's
 *      RSS climbs for a hello-world Worker as well, to a plateau of several hundred MiB (BENCHMARKS.md, "Reliability").
 * Exits 1 when any check fails. `--seconds N`, `--concurrency N`, `--store-failures 0.05`, and `--only <behaviour>`
 * to make the origin misbehave one way only (to look at one failure at a time).
 *
 * It cannot hang: it prints a line as it enters each phase, every wait has a bound (a client request or admin call
 * 10 s, an inspector call 30 s, bundling 2 minutes, each cleanup 10 s), and a watchdog stops the soak when start-up has
 * not ended within 3 minutes or the rest within SECONDS + 2 minutes: it prints the phase it was in, the requests done
 * and the admin or inspector call still waiting, kills the workerd it started, and exits 1. (What did hang, on a busy
 * machine: the last heap reading, which an idle Worker leaves unanswered until a request reaches it: soak/heap.mjs.)
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleKeygate, readWranglerConfig } from "./lib/build.mjs";
import { malformedSecret, migrationStatements, newSecret } from "./lib/seed.mjs";
import { loadMiniflare, serveWorker, workerdChildren } from "./lib/serve.mjs";
import { startChaosOrigin } from "./soak/chaos-origin.mjs";
import { connectHeapReader } from "./soak/heap.mjs";

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, "..");
const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(`--${name}`) ? Number(argv[argv.indexOf(`--${name}`) + 1]) : fallback);
const SECONDS = option("seconds", 60);
const CONCURRENCY = option("concurrency", 16);
const STORE_FAILURES = option("store-failures", 0.05);
const ONLY = argv.includes("--only") ? argv[argv.indexOf("--only") + 1] : null;
const WARMUP_SHARE = 0.25;
const ADMIN_TOKEN = "soak-admin-token-0123456789";
const ERROR_CODES = new Set([...readFileSync(join(ROOT, "src/errors.ts"), "utf8").matchAll(/^ {2}(\w+): \{ status:/gm)].map((m) => m[1]));
const SECRET_IN_TEXT = /ik_(live|sdk)_[0-9A-Za-z]{6,}/;
/** An answer on loopback takes milliseconds; this is the data loop's client timeout too. */
const REQUEST_TIMEOUT_MS = 10_000;
const CLEANUP_TIMEOUT_MS = 10_000;
/** The watchdog's bounds. Start-up (bundling, Miniflare, setup) took up to 40 s on a busy 2-core machine. */
const STARTUP_LIMIT_MS = 180_000;
/** From the start of the load: the run, the last heap reading, the audit pages, the cleanups, with room to spare. */
const RUN_LIMIT_MS = SECONDS * 1000 + 120_000;

const problems = { revoked_allowed: [], secret_logged: [], unaudited_write: [], bad_error: [], unhandled: [], memory: [] };
const note = (check, detail) => problems[check].length < 5 && problems[check].push(detail);
process.on("unhandledRejection", (err) => note("unhandled", `soak process: ${err}`));

const log = (...args) => console.log(...args);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = (list) => list[Math.floor(Math.random() * list.length)];

/** Where the soak is, and what it waits on: for the progress lines and the watchdog's diagnosis. */
const at = { phase: "starting", run: null, heap: null };
function step(phase) {
  at.phase = phase;
  log(`· ${phase}`);
}

/** `promise`, or a rejection saying what did not end once `ms` have passed. */
function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no end within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Miniflare does not stop workerd when this process exits: whatever happened, no workerd of this soak outlives it. */
function killWorkerd() {
  for (const pid of workerdChildren()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/**
 * The watchdog, re-armed with a new limit as the soak moves on: a soak still going at the limit is a hang somewhere,
 * which becomes a failure with a diagnosis rather than a silent wait until CI's own limit. Cleared before the soak
 * exits, so it never keeps a finished process alive.
 */
let watchdog = null;
function armWatchdog(ms, since) {
  clearTimeout(watchdog);
  watchdog = setTimeout(() => {
    const state = [...(at.run?.state() ?? []), ...(at.heap?.waiting().map((call) => `inspector call waiting: ${call}`) ?? [])];
    log(`\nFAIL the soak did not end: still ${at.phase}, ${ms / 1000} s after ${since}`);
    for (const line of state) log(`       ${line}`);
    killWorkerd();
    process.exit(1);
  }, ms);
}

/** The contract's error body: {"error": {message, type, code, param}}, a code keygate knows. */
function checkError(status, text, where) {
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return note("bad_error", `${where}: ${status} with a body that is not JSON: ${text.slice(0, 80)}`);
  }
  const e = body?.error;
  const ok = e && typeof e.message === "string" && typeof e.type === "string" && ERROR_CODES.has(e.code) &&
    (e.param === null || typeof e.param === "string") && Object.keys(e).length === 4 && Object.keys(body).length === 1;
  if (!ok) note("bad_error", `${where}: ${status} ${text.slice(0, 120)}`);
}

/** @returns the report's lines, or throws with the phase it stopped in */
async function main() {
  const scratch = mkdtempSync(join(BENCH, "out", "soak-"));
  // Run last to first, each bounded: a cleanup that hangs is reported and passed over.
  const cleanups = [["removing the scratch directory", () => rmSync(scratch, { recursive: true, force: true })]];
  try {
    log(`keygate soak: ${SECONDS} s, concurrency ${CONCURRENCY}, ${STORE_FAILURES * 100}% of decision reads failing`);
    step("bundling keygate");
    const wrangler = readWranglerConfig(ROOT);
    const bundleDir = join(scratch, "keygate");
    const scriptPath = bundleKeygate(ROOT, bundleDir);
    copyFileSync(join(BENCH, "soak", "entry.js"), join(bundleDir, "soak-entry.js"));

    step("starting the origin and the Worker");
    const origin = await startChaosOrigin({ only: ONLY });
    cleanups.unshift(["closing the origin", origin.close]);
    const workerLog = [];
    const mf = await loadMiniflare(ROOT);
    const worker = await serveWorker(mf.Miniflare, mf.convert, {
      name: "keygate-soak",
      modules: [
        { type: "ESModule", path: join(bundleDir, "soak-entry.js") },
        { type: "ESModule", path: scriptPath },
      ],
      modulesRoot: bundleDir,
      compatibilityDate: wrangler.compatibilityDate,
      compatibilityFlags: wrangler.compatibilityFlags,
      d1: true,
      logDir: scratch,
      onLog: (entry) => workerLog.push(String(entry.message)),
      inspect: true,
      bindings: {
        ...wrangler.vars,
        ADMIN_TOKEN,
        KEY_PEPPER: "soak-pepper",
        ALLOW_PRIVATE_ORIGINS: "true",
        AUTH_CACHE_LEASE_MS: "200",
        ORIGIN_TIMEOUT_MS: "300",
        BODY_TIMEOUT_MS: "2000",
        SOAK_STORE_FAILURE_RATE: String(STORE_FAILURES),
      },
    });
    cleanups.unshift(["stopping the Worker", worker.close]);
    step("setting up: migrations, project, deployments, keys, inspector");
    await worker.db.batch(migrationStatements(ROOT).map((sql) => worker.db.prepare(sql)));

    const run = (at.run = new Soak(worker.url, origin));
    cleanups.unshift(["stopping the load", () => run.stop()]);
    await run.setUp();
    // A poke for the heap reader: any request wakes an isolate sitting on an inspector command (heap.mjs).
    const poke = () =>
      fetch(`${worker.url}/healthz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }).then((res) => res.arrayBuffer());
    const heap = (at.heap = await connectHeapReader(worker.inspectorUrl, { poke }));
    cleanups.unshift(["closing the inspector", () => heap.close()]);
    const memory = sampleMemory(worker.pid, heap);
    cleanups.unshift(["stopping the memory sampler", () => memory.stop()]);

    step(`running ${SECONDS} s`);
    armWatchdog(RUN_LIMIT_MS, "the load started");
    const until = performance.now() + SECONDS * 1000;
    await Promise.all([
      run.adminLoop(until),
      ...Array.from({ length: CONCURRENCY }, () => run.dataLoop(until)),
      memory.readHeapAt(performance.now() + SECONDS * 1000 * WARMUP_SHARE),
    ]);
    memory.stop();
    step("reading the heap at the end");
    await memory.readHeapAt(performance.now());
    step("checking");
    await run.checkAudit();
    run.checkRevocations();
    for (const line of workerLog) {
      if (SECRET_IN_TEXT.test(line)) note("secret_logged", line.slice(0, 160));
      if (/uncaught|unhandled/i.test(line)) note("unhandled", `worker: ${line.slice(0, 160)}`);
      // workerd's warning that a request awaited another request's promise: in production its continuation is cancelled.
      if (/different request context/i.test(line)) note("unhandled", `worker: a promise crossed requests: ${line.slice(0, 120)}`);
    }
    const rss = memory.verdict();
    return report(run, origin, workerLog.length, rss, heap.pokes());
  } catch (err) {
    throw new Error(`stopped while ${at.phase}: ${err?.message ?? err}`, { cause: err });
  } finally {
    step("cleaning up");
    for (const [what, cleanup] of cleanups) {
      at.phase = `cleaning up: ${what}`;
      await within(Promise.resolve().then(cleanup), CLEANUP_TIMEOUT_MS, what).catch((err) => log(`  (${err.message})`));
    }
    killWorkerd();
  }
}

class Soak {
  constructor(base, origin) {
    this.base = base;
    this.origin = origin;
    this.n = 0;
    this.keys = new Map(); // key id → current secret
    this.retiredAt = new Map(); // secret → when the write that retired it answered (performance.now())
    this.sent = []; // [request id, secret, started]
    this.statuses = new Map();
    this.writes = new Map(); // request id → action, for 2xx management writes
    this.adminWrites = 0;
    this.adminWaiting = null; // { what, since }: the admin call on its way, for the watchdog
    this.stopped = false;
  }

  /** Ends the loops early (the soak stopped on an error): they must not go on against a Worker being shut down. */
  stop() {
    this.stopped = true;
  }

  /** For the watchdog: how far the load got, and what it waits on. */
  state() {
    const answered = [...this.statuses.values()].reduce((a, b) => a + b, 0);
    const admin = this.adminWaiting;
    const waited = admin && ((performance.now() - admin.since) / 1000).toFixed(1);
    return [
      `data requests done: ${answered}; management writes answered 2xx: ${this.adminWrites}`,
      admin ? `admin call waiting: ${admin.what} (for ${waited} s)` : "no admin call waiting",
    ];
  }

  running(until) {
    return !this.stopped && performance.now() < until;
  }

  /** One management call. No answer within REQUEST_TIMEOUT_MS is a hang in the control plane: it stops the soak. */
  async admin(method, path, body) {
    const id = `soak-admin-${++this.n}`;
    this.adminWaiting = { what: `${method} ${path}`, since: performance.now() };
    let res, text;
    try {
      res = await fetch(`${this.base}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", "x-request-id": id },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), // covers reading the body too
      });
      text = await res.text();
    } catch (err) {
      const why = err.name === "TimeoutError" ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : String(err.cause ?? err);
      throw new Error(`admin ${method} ${path} (${id}): ${why}`);
    } finally {
      this.adminWaiting = null;
    }
    if (!res.ok) {
      checkError(res.status, text, `${method} ${path}`);
      return null;
    }
    if (method !== "GET") {
      this.writes.set(id, `${method} ${path}`);
      this.adminWrites++;
    }
    return JSON.parse(text);
  }

  async setUp() {
    await this.admin("POST", "/projects", { slug: "soak" });
    await this.admin("POST", "/projects/soak/deployments", { slug: "chat", origin: { url: this.origin.url } });
    await this.admin("POST", "/projects/soak/deployments", { slug: "pinned", origin: { url: this.origin.url }, model: "soak-model" });
    for (let i = 0; i < 8; i++) await this.createKey();
  }

  async createKey() {
    const key = await this.admin("POST", "/projects/soak/keys", { name: "soak", scopes: ["soak/*"] });
    if (key) this.keys.set(key.id, key.key);
  }

  retire(secret) {
    this.retiredAt.set(secret, performance.now());
  }

  async adminLoop(until) {
    while (this.running(until)) {
      const ids = [...this.keys.keys()];
      const action = ids.length < 4 ? "create" : pick(["create", "roll", "roll", "revoke", "revoke", "token"]);
      if (action === "create") await this.createKey();
      else if (action === "roll") {
        const id = pick(ids);
        const rolled = await this.admin("POST", `/projects/soak/keys/${id}/roll`, { grace_seconds: 0 });
        if (rolled) {
          this.retire(this.keys.get(id));
          this.keys.set(id, rolled.key);
        }
      } else if (action === "revoke") {
        const id = pick(ids);
        if (await this.admin("DELETE", `/projects/soak/keys/${id}`)) {
          this.retire(this.keys.get(id));
          this.keys.delete(id);
        }
      } else {
        const token = await this.admin("POST", "/projects/soak/tokens", { name: "soak", role: "read_only" });
        if (token) await this.admin("DELETE", `/projects/soak/tokens/${token.id}`);
      }
    }
  }

  /** One client: mostly live keys, some retired, unknown, malformed or none; JSON, streams, odd paths. */
  async dataLoop(until) {
    while (this.running(until)) {
      const r = Math.random();
      const live = [...this.keys.values()];
      const retired = [...this.retiredAt.keys()];
      const secret =
        r < 0.75 ? pick(live) : r < 0.87 && retired.length ? pick(retired) : r < 0.92 ? newSecret() : r < 0.96 ? malformedSecret() : null;
      const deployment = Math.random() < 0.3 ? "pinned" : "chat";
      const shape = Math.random();
      const path = shape < 0.08 ? pick(["/v1/models/..;/x", "/admin", "/v1/../../x", "/v1/load_lora_adapter"]) : shape < 0.2 ? "/v1/models" : "/v1/chat/completions";
      const body = path === "/v1/chat/completions" ? JSON.stringify({ model: "client", stream: Math.random() < 0.3, messages: [] }) : undefined;
      const id = `soak-${++this.n}`;
      const headers = { "x-request-id": id, "content-type": "application/json" };
      if (secret) headers.authorization = `Bearer ${secret}`;
      const started = performance.now();
      if (secret) this.sent.push([id, secret, started]);
      try {
        const res = await fetch(`${this.base}/endpoint/soak/${deployment}${path}`, {
          method: body ? "POST" : "GET",
          headers,
          body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), // covers reading the body too
        });
        this.statuses.set(res.status, (this.statuses.get(res.status) ?? 0) + 1);
        const text = await res.text().catch(() => null); // a reset mid-stream ends the body early: expected
        if (res.status >= 400 && text !== null) checkError(res.status, text, `${deployment}${path}`);
      } catch (err) {
        // Counted apart: a request keygate never answered would show here.
        const kind = err?.name === "TimeoutError" ? "client timeout" : "client error";
        this.statuses.set(kind, (this.statuses.get(kind) ?? 0) + 1);
        if (!/abort|timeout|terminated|socket|fetch failed/i.test(String(err?.message ?? err))) note("unhandled", `client: ${err}`);
      }
    }
  }

  /** Check 1: the origin never saw a request whose secret had been retired before the request started. */
  checkRevocations() {
    this.checkedAfterRetire = 0;
    for (const [id, secret, started] of this.sent) {
      const retiredAt = this.retiredAt.get(secret);
      if (retiredAt === undefined || started <= retiredAt) continue;
      this.checkedAfterRetire++;
      if (this.origin.received.has(id)) note("revoked_allowed", `${id}: sent ${(started - retiredAt).toFixed(1)} ms after its secret was retired`);
    }
  }

  /** Check 3: every 2xx management write left an audit event with its request id. */
  async checkAudit() {
    const seen = new Set();
    let cursor = null;
    do {
      const page = await this.admin("GET", `/projects/soak/audit?limit=100${cursor ? `&cursor=${cursor}` : ""}`);
      if (!page) break;
      for (const event of page.data) seen.add(event.request_id);
      cursor = page.next_cursor;
    } while (cursor);
    for (const [id, what] of this.writes) if (!seen.has(id)) note("unaudited_write", `${id} ${what}`);
  }
}

/**
 * Check 6. The JS heap after a full GC, at the end of warm-up and at the end: flat means the end is within 20% (or
 * 8 MiB) of the first reading. workerd's resident memory is sampled every 250 ms for the report.
 */
function sampleMemory(pid, heap) {
  const rss = [];
  const heapReadings = [];
  const read = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) / 1024;
  const timer = setInterval(() => rss.push(read()), 250);
  return {
    stop: () => clearInterval(timer),
    async readHeapAt(when) {
      await sleep(Math.max(0, when - performance.now()));
      heapReadings.push(await heap.usedAfterGc());
    },
    verdict() {
      const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? NaN;
      const [start, end] = heapReadings;
      if (!(end <= Math.max(start * 1.2, start + 8))) note("memory", `JS heap after GC grew from ${start.toFixed(1)} to ${end.toFixed(1)} MiB`);
      const tenths = Array.from({ length: 10 }, (_, i) => median(rss.slice(Math.floor((i * rss.length) / 10), Math.floor(((i + 1) * rss.length) / 10))));
      return { heapStart: start, heapEnd: end, rssTenths: tenths };
    },
  };
}

/** The report's lines (printed once the cleanups are done, so that they end the output). */
function report(run, origin, logLines, rss, pokes) {
  const lines = [];
  const log = (line) => lines.push(line);
  const total = [...run.statuses.values()].reduce((a, b) => a + b, 0);
  log(`\nrequests: ${total} in ${SECONDS} s (${(total / SECONDS).toFixed(0)}/s); management writes answered 2xx: ${run.adminWrites}`);
  log(`statuses: ${[...run.statuses].sort().map(([s, n]) => `${s}×${n}`).join("  ")}`);
  log(`origin behaviours: ${Object.entries(origin.counts).map(([b, n]) => `${b}×${n}`).join("  ")}`);
  log(`retired secrets: ${run.retiredAt.size}; requests sent with one after it was retired: ${run.checkedAfterRetire}`);
  log(`worker log lines: ${logLines}; JS heap after GC: ${rss.heapStart.toFixed(1)} MiB after warm-up, ${rss.heapEnd.toFixed(1)} MiB at the end` +
    (pokes > 0 ? ` (the inspector's answers needed ${pokes} poke${pokes === 1 ? "" : "s"})` : ""));
  log(`workerd RSS by tenth of the run (MiB, not judged): ${rss.rssTenths.map((m) => m.toFixed(0)).join(" ")}`);
  const names = {
    revoked_allowed: "no request allowed with a secret after its revoke answered",
    secret_logged: "no secret in any log line",
    unaudited_write: "an audit event for every 2xx write",
    bad_error: "every error in the contract's shape",
    unhandled: "no unhandled rejection",
    memory: "memory flat from warm-up to the end (JS heap after GC)",
  };
  for (const [check, name] of Object.entries(names)) {
    const found = problems[check];
    log(`${found.length === 0 ? "ok  " : "FAIL"} ${name}${found.length ? `:\n       ${found.join("\n       ")}` : ""}`);
  }
  return lines;
}

mkdirSync(join(BENCH, "out"), { recursive: true });
armWatchdog(STARTUP_LIMIT_MS, "the start");
let exitCode;
try {
  log((await main()).join("\n"));
  exitCode = Object.values(problems).some((list) => list.length > 0) ? 1 : 0;
} catch (err) {
  log(`\nFAIL the soak ${err.message}`);
  exitCode = 1;
}
clearTimeout(watchdog);
process.exit(exitCode);
