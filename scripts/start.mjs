// `npm start`: keygate on this machine, from nothing to ready, in one command.
//   1. .dev.vars with fresh local secrets (only if it does not exist yet)
//   2. the D1 migrations, applied to the local database (.wrangler/state, or --state-dir / KEYGATE_STATE_DIR)
//   3. the demo origin, an OpenAI-compatible stand-in on 127.0.0.1:8788 (skip with --no-origin)
//   4. `wrangler dev` on 127.0.0.1:8787, until Ctrl-C
// Ports: --port / KEYGATE_PORT for keygate, --origin-port / DEMO_ORIGIN_PORT for the demo origin.
// Local state (D1 and the rest of wrangler's persistence): --state-dir / KEYGATE_STATE_DIR, default .wrangler/state.
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { startDemoOrigin } from "./demo-origin.mjs";
import { ensureDevVars } from "./lib/dev-vars.mjs";
import { runWrangler, signalGroup, startWrangler, stopProcessGroup } from "./lib/wrangler.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const HOST = "127.0.0.1";
const DATABASE = "keygate"; // database_name in wrangler.toml
const USAGE = `usage: npm start [-- --port 8787] [--origin-port 8788] [--no-origin] [--state-dir DIR] [--var NAME:VALUE …]
  --port         keygate's port (or env KEYGATE_PORT; default 8787)
  --origin-port  the demo origin's port (or env DEMO_ORIGIN_PORT; default 8788)
  --no-origin    do not start the demo origin
  --state-dir    where the local D1 database and wrangler's other local state live (or env KEYGATE_STATE_DIR;
                 default .wrangler/state); a fresh directory is a fresh, empty keygate
  --var          a variable for keygate, over wrangler.toml and .dev.vars (repeatable), e.g.
                 --var ENDPOINT_HOST_SUFFIX:ai.localhost`;

const step = (message) => console.log(`[start] ${message}`);

/** Everything started so far, so that any exit path can stop it. */
const running = { origin: null, wrangler: null };
let stopping = false;

async function main() {
  const options = readOptions();
  checkNodeVersion();

  const other = (port) => port + 10;
  await assertPortFree(options.port, "keygate (wrangler dev)",
    `KEYGATE_PORT=${other(options.port)} npm start   (or: npm start -- --port ${other(options.port)})`);
  if (options.origin) {
    await assertPortFree(options.originPort, "the demo origin",
      `DEMO_ORIGIN_PORT=${other(options.originPort)} npm start   ` +
        `(or: npm start -- --origin-port ${other(options.originPort)}, or --no-origin)`);
  }

  const devVars = ensureDevVars(join(ROOT, ".dev.vars"));
  if (devVars.created) {
    step("created .dev.vars: a random ADMIN_TOKEN and KEY_PEPPER, ALLOW_PRIVATE_ORIGINS=true (mode 0600, git-ignored)");
  } else {
    step("using the existing .dev.vars");
  }
  if (options.origin && devVars.vars.ALLOW_PRIVATE_ORIGINS !== "true") {
    step("note: .dev.vars does not set ALLOW_PRIVATE_ORIGINS=true, so keygate will refuse http://127.0.0.1 origins " +
      "such as the demo origin");
  }

  // Both wrangler commands get the same --persist-to, so wrangler dev serves the database the migrations went into.
  const persist = options.stateDir ? ["--persist-to", options.stateDir] : [];
  const migrate = ["d1", "migrations", "apply", DATABASE, "--local", ...persist];
  step(`applying D1 migrations to the local database: wrangler ${migrate.join(" ")}`);
  const migration = await runWrangler(ROOT, migrate);
  if (migration.code !== 0) {
    process.stderr.write(migration.output);
    throw new Error(`applying the local D1 migrations failed (wrangler exited with ${migration.code}); see above`);
  }
  // wrangler prints its table of migrations more than once: each name once.
  const applied = [...new Set([...migration.output.matchAll(/│\s*(\S+\.sql)\s*│\s*✅/g)].map((m) => m[1]))];
  step(applied.length ? `local D1: applied ${applied.join(", ")}` : "local D1: already up to date");

  if (options.origin) {
    running.origin = await startDemoOrigin({ host: HOST, port: options.originPort });
    step(`demo origin listening on ${running.origin.url}`);
  }

  step(`starting wrangler dev on http://${HOST}:${options.port} …`);
  const devArgs = ["dev", "--ip", HOST, "--port", String(options.port), "--show-interactive-dev-session=false",
    ...persist, ...options.vars.flatMap((pair) => ["--var", pair])];
  const wrangler = startWrangler(ROOT, devArgs);
  running.wrangler = wrangler;
  wrangler.once("error", (err) => fail(`could not start wrangler dev: ${err.message}`));
  wrangler.once("exit", (code, signal) => {
    running.wrangler = null;
    if (stopping) return;
    const status = code ?? 1;
    step(`wrangler dev exited (${signal ? `signal ${signal}` : `code ${code}`}); stopping`);
    shutdown(status, wrangler.pid);
  });

  if (await waitForHealth(`http://${HOST}:${options.port}/healthz`)) printReady(options, devVars.vars);
}

function readOptions() {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: process.env.KEYGATE_PORT || "8787" },
      "origin-port": { type: "string", default: process.env.DEMO_ORIGIN_PORT || "8788" },
      "no-origin": { type: "boolean", default: false },
      "state-dir": { type: "string" },
      var: { type: "string", multiple: true, default: [] },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const port = parsePort(values.port, "--port / KEYGATE_PORT");
  const originPort = parsePort(values["origin-port"], "--origin-port / DEMO_ORIGIN_PORT");
  const origin = !values["no-origin"];
  if (origin && port === originPort) throw new Error(`keygate and the demo origin cannot both use port ${port}`);
  // Resolved against the caller's directory; wrangler runs in the repository root.
  const dir = values["state-dir"] || process.env.KEYGATE_STATE_DIR;
  const stateDir = dir ? resolve(dir) : undefined;
  for (const pair of values.var) {
    if (!/^[A-Z_][A-Z0-9_]*:/.test(pair)) throw new Error(`--var takes NAME:VALUE, got '${pair}'`);
  }
  return { port, originPort, origin, stateDir, vars: values.var };
}

function parsePort(text, name) {
  const port = Number(text);
  if (Number.isInteger(port) && port >= 1 && port <= 65535) return port;
  throw new Error(`${name} must be a port number (1-65535), not "${text}"`);
}

function checkNodeVersion() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 12)) {
    throw new Error(`wrangler needs Node.js 22.12 or later, and this is ${process.version}. ` +
      "Run `npm start`, which uses the project's own Node (node_modules/.bin/node).");
  }
}

async function assertPortFree(port, what, howToChange) {
  const free = await new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (/** @type {NodeJS.ErrnoException} */ err) => {
      if (err.code === "EADDRINUSE") resolve(false);
      else reject(err);
    });
    probe.listen(port, HOST, () => probe.close(() => resolve(true)));
  });
  if (!free) {
    throw new Error(`port ${port} on ${HOST}, wanted for ${what}, is already in use.\n` +
      `  Stop whatever is listening there, or pick another port:\n    ${howToChange}`);
  }
}

/** Polls until keygate answers, wrangler exits, or we are stopping. True once healthy. */
async function waitForHealth(url) {
  const started = Date.now();
  let warned = false;
  while (running.wrangler && !stopping) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    if (!warned && Date.now() - started > 60_000) {
      warned = true;
      step(`still waiting for ${url} after 60 s; wrangler's output above may say why`);
    }
    await sleep(250);
  }
  return false;
}

function printReady(options, vars) {
  const base = `http://${HOST}:${options.port}`;
  const lines = [
    `keygate is ready at ${base}`,
    "",
    // The names the README's quick start reads, so a run on other ports can paste these first.
    `  export KEYGATE=${base}`,
    ...(running.origin ? [`  export DEMO_ORIGIN=${running.origin.url}`] : []),
    vars.ADMIN_TOKEN
      ? "  root admin token: ADMIN_TOKEN in .dev.vars (the quick start reads it from there)"
      : "  (no ADMIN_TOKEN in .dev.vars: add one to call the admin API with a bearer token)",
    "",
    running.origin
      ? `  demo origin: ${running.origin.url}  (OpenAI-compatible stand-in for a deployment's origin.url)`
      : "  demo origin: not started (--no-origin)",
    `  console:     ${base}/console  (sign in with the ADMIN_TOKEN)`,
    `  next steps:  README.md, "Quick start" (project, deployment, API key, first call)`,
    "  stop:        Ctrl-C",
  ];
  const rule = "─".repeat(72);
  console.log(`\n${rule}\n${lines.join("\n")}\n${rule}\n`);
}

/** Stops what was started (wrangler's whole process group, then the demo origin) and exits with `code`. */
async function shutdown(code, wranglerGroup = running.wrangler?.pid) {
  if (stopping) return;
  stopping = true;
  // The group outlives wrangler when workerd is slow to exit, so stop it even when wrangler is already gone.
  if (wranglerGroup) await stopProcessGroup(wranglerGroup);
  await running.origin?.close();
  process.exit(code);
}

function fail(message) {
  console.error(`[start] error: ${message}`);
  shutdown(1);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (stopping) return; // npm forwards the terminal's Ctrl-C too, so one press can arrive twice
    step(`${signal}: stopping wrangler dev${running.origin ? " and the demo origin" : ""}`);
    shutdown(0);
  });
}
// Last resort (an unexpected crash): never leave a detached wrangler/workerd behind.
process.on("exit", () => {
  try {
    if (running.wrangler?.pid) signalGroup(running.wrangler.pid, "SIGKILL");
  } catch {
    // nothing more we can do while exiting
  }
});

main().catch((err) => fail(err.message));
