/**
 * Serves a Worker bundle with Miniflare's Node API: one workerd process per Worker, and a direct socket
 * (`unsafeDirectSockets`) bound to the Worker itself, so the load generator talks to the Worker the way Cloudflare's
 * front line does: no `wrangler dev` proxy, no Node hop, and not even Miniflare's own entry Worker, which re-creates
 * every request with a full `cf` object and tripled the CPU of a hello-world Worker (about 410 µs a request against
 * 120 µs direct, on this machine).
 *
 * What stays of Miniflare in the path, equally for keygate and the pass-through control: the outbound interceptor
 * Worker that every `fetch()` to the origin passes through, and D1 served by a Durable Object in the same workerd.
 *
 * Miniflare is loaded from wrangler's own dependency tree (wrangler is a devDependency; Miniflare is not), so the
 * bench runs the same Miniflare and workerd that `wrangler dev` and `wrangler deploy --dry-run` use.
 *
 * Request logging (`logRequests`) is turned off: when on, Miniflare posts a log line for every request from
 * workerd to a Node loopback server, which would cost more than what is being measured.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

export function resolveMiniflare(root) {
  const fromRoot = createRequire(join(root, "package.json"));
  const fromWrangler = createRequire(fromRoot.resolve("wrangler/package.json"));
  const entry = fromWrangler.resolve("miniflare");
  const pkgDir = join(dirname(entry), "..", "..");
  const version = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")).version;
  const workerdPkg = createRequire(join(pkgDir, "package.json")).resolve("workerd/package.json");
  const workerdVersion = JSON.parse(readFileSync(workerdPkg, "utf8")).version;
  return { entry, version, workerdVersion };
}

/** Pids of this process's direct children whose command is `workerd` (read from /proc). */
export function workerdChildren() {
  const pids = new Set();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
      if (m && m[1] === "workerd" && Number(m[2]) === process.pid) pids.add(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

let clockTicks;
/** CPU time (user + system, all threads) a process has used so far, in microseconds, from /proc/<pid>/stat. */
export function cpuTimeUs(pid) {
  clockTicks ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command: state is field 3; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks;
}

/**
 * Starts one Worker. `d1: true` binds an empty local D1 database as DB; `durableObjects` binds Durable Object classes
 * the bundle exports (`{ BUDGETS: "BudgetCounter" }`), SQLite-backed as in wrangler.toml. Returns its URL, the workerd pid, the
 * D1 binding (for seeding from Node) and close(). Instances are started one at a time, so the workerd child that
 * appears during start-up is this instance's. `onLog` sees every line the Worker writes (the soak checks them all).
 */
export async function serveWorker(Miniflare, convert, { name, scriptPath, modules, modulesRoot, compatibilityDate,
  compatibilityFlags, bindings, d1 = false, durableObjects, logDir, onLog, inspect = false, serviceBindings }) {
  const before = workerdChildren();
  // The Worker's console output: counted, and the last lines kept for bench/out/logs/<name>.log. Writing every
  // line to disk would add a syscall per request to this process, which already pays for Miniflare reading and
  // parsing each line off workerd's stdout (see BENCHMARKS.md, "What the harness costs").
  let lines = 0;
  const tail = [];
  const mf = new Miniflare(convert({
    name,
    // `modules`: an explicit module list (a wrapper Worker importing the bundle); else the one bundle file.
    ...(modules ? { modules, modulesRoot } : { modules: true, scriptPath }),
    compatibilityDate,
    compatibilityFlags,
    bindings,
    ...(serviceBindings ? { serviceBindings } : {}),
    ...(d1 ? { d1Databases: { DB: `bench-${name}` } } : {}),
    ...(durableObjects ? { durableObjects: Object.fromEntries(Object.entries(durableObjects)
      .map(([binding, className]) => [binding, { className, useSQLite: true }])) } : {}),
    host: "127.0.0.1",
    port: 0,
    logRequests: false,
    enableDevRegistry: false,
    unsafeRegisterWorker: false,
    telemetry: { enabled: false },
    handleStructuredLogs: (entry) => {
      lines++;
      onLog?.(entry);
      tail.push(`${entry.level} ${entry.message}`);
      if (tail.length > 200) tail.shift();
    },
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    // `inspect`: workerd's V8 inspector on a free port, for the soak's heap readings (it costs a little per request).
    ...(inspect ? { inspectorPort: 0 } : {}),
  }));
  let url, pid, db, inspectorUrl;
  try {
    await mf.ready;
    url = (await mf.unsafeGetDirectURL(name)).href.replace(/\/$/, "");
    const started = [...workerdChildren()].filter((p) => !before.has(p));
    if (started.length !== 1) throw new Error(`expected one new workerd process for ${name}, found ${started.length}`);
    pid = started[0];
    db = d1 ? await mf.getD1Database("DB") : undefined;
    if (inspect) inspectorUrl = `ws://${(await mf.getInspectorURL()).host}/core:user:${name}`;
  } catch (err) {
    await mf.dispose().catch(() => {});
    throw err;
  }
  return {
    name,
    url,
    pid,
    db,
    inspectorUrl,
    logLines: () => lines,
    close: async () => {
      await mf.dispose();
      writeFileSync(join(logDir, `${name}.log`), `${lines} lines in all; the last ${tail.length}:\n${tail.join("\n")}\n`);
    },
  };
}

export async function loadMiniflare(root) {
  const info = resolveMiniflare(root);
  const mod = await import(pathToFileURL(info.entry).href);
  return { ...info, Miniflare: mod.Miniflare, convert: mod.convertV4MiniflareOptions };
}
