/**
 * Runs h2load (Debian/Ubuntu package `nghttp2-client`) over HTTP/1.1 and reads its results.
 * Throughput comes from h2load's summary; latency percentiles from its per-request log (`--log-file`: start time,
 * status, microseconds until the end of the response), so both describe exactly the same requests.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { latencySummary } from "./stats.mjs";

export const INSTALL_HINT = "h2load is not installed. It comes with nghttp2:\n" +
  "  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y nghttp2-client\n" +
  "  macOS:          brew install nghttp2\n" +
  "  Fedora:         sudo dnf install nghttp2";

/** The h2load binary: `H2LOAD` names another one (a custom build, or a missing one to try the smoke without it). */
const BINARY = process.env.H2LOAD || "h2load";

/** The h2load version string, or null when it is not installed. */
export function h2loadVersion() {
  const r = spawnSync(BINARY, ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

const running = new Set();
/** Stops any h2load still running (used on interrupt). */
export function stopAll() {
  for (const child of running) child.kill("SIGTERM");
}

function h2load(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(BINARY, args, { stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => {
      running.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`h2load exited with ${code}:\n${out}`));
    });
  });
}

function requestArgs({ url, headers = {}, bodyFile }) {
  const args = ["--h1", "-t", "1", "-m", "1"];
  for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}: ${value}`);
  if (bodyFile) args.push("-d", bodyFile);
  return [...args, url];
}

/** A short unmeasured run, so JIT, connection pools and any cache are warm before measuring. */
export async function warmUp(request, { concurrency, requests }) {
  await h2load(["-n", String(Math.max(requests, concurrency)), "-c", String(concurrency), ...requestArgs(request)]);
}

/**
 * One measured run: `duration` seconds (or exactly `requests` requests) at `concurrency` connections, one request
 * in flight per connection. `around("start")` and `around("end")` run right before and after h2load, so CPU can
 * be sampled around exactly the measured requests; their results come back as `start` and `end`.
 */
export async function measure(request, { concurrency, duration, requests, logFile, around = () => {}, slowerThanMs = null }) {
  const amount = duration ? ["-D", String(duration)] : ["-n", String(requests)];
  const start = around("start");
  const out = await h2load([...amount, "-c", String(concurrency), `--log-file=${logFile}`, ...requestArgs(request)]);
  const end = around("end");
  const rps = Number(/finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(out)?.[1]);
  // h2load counts any non-2xx response as "failed"; only errors and timeouts mean a request got no answer.
  const errored = Number(/(\d+) errored/.exec(out)?.[1] ?? 0);
  const timeouts = Number(/(\d+) timeout/.exec(out)?.[1] ?? 0);
  const latenciesUs = [];
  const statuses = {};
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    if (!line) continue;
    const [, status, us] = line.split("\t");
    statuses[status] = (statuses[status] ?? 0) + 1;
    latenciesUs.push(Number(us));
  }
  rmSync(logFile, { force: true });
  if (!Number.isFinite(rps) || latenciesUs.length === 0) throw new Error(`could not read h2load output:\n${out}`);
  return {
    rps,
    requests: latenciesUs.length,
    unanswered: errored + timeouts,
    statuses,
    // How many requests took at least `slowerThanMs` (the far-D1 targets: a request that waited for the store).
    ...(slowerThanMs === null ? {} : { slower: latenciesUs.filter((us) => us >= slowerThanMs * 1000).length }),
    ...latencySummary(latenciesUs),
    start,
    end,
  };
}
