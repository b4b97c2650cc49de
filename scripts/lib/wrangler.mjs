// Running the project's own wrangler (node_modules/wrangler) from Node scripts, with the Node that runs the script,
// so `node scripts/…` never picks up an older `node` from PATH through wrangler's `#!/usr/bin/env node` shim.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** The wrangler CLI entry point installed in `root`. */
export function wranglerEntry(root) {
  const entry = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  if (!existsSync(entry)) throw new Error("wrangler is not installed here; run `npm install` first");
  return entry;
}

/**
 * Runs a short wrangler command to completion, capturing its output.
 * Non-interactive on purpose: stdin is closed and CI=true, so wrangler takes the default instead of asking
 * ("About to apply N migration(s) … continue?" is asked even with --local when a terminal is attached).
 * @returns {Promise<{ code: number, output: string }>}
 */
export function runWrangler(root, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wranglerEntry(root), ...args], {
      cwd: root,
      env: { ...process.env, CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

/**
 * Starts a long-running wrangler command (wrangler dev) in its own process group, output passed through.
 * Its own group lets us stop wrangler together with the workerd it spawns, and keeps the terminal's Ctrl-C for us:
 * we decide the order of shutdown.
 */
export function startWrangler(root, args) {
  return spawn(process.execPath, [wranglerEntry(root), ...args], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "inherit", "inherit"],
  });
}

/** Sends `signal` to every process in the group led by `pid`; false when the group is gone. */
export function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    if (err.code === "ESRCH") return false;
    throw err;
  }
}

/** SIGTERM to the whole group, then SIGKILL to whatever is still there after `graceMs`. */
export async function stopProcessGroup(pid, graceMs = 5000) {
  if (!signalGroup(pid, "SIGTERM")) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(100);
    if (!signalGroup(pid, 0)) return;
  }
  signalGroup(pid, "SIGKILL");
}
