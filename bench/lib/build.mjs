/**
 * Bundles keygate exactly as `wrangler deploy` would upload it (`--dry-run --outdir`), and reads the few settings
 * of wrangler.toml the harness needs to serve that bundle the same way: compatibility date and flags, and [vars].
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, symlinkSync } from "node:fs";
import { basename, join } from "node:path";

/** A minimal reader for the flat keys used here; wrangler.toml stays the one source of these settings. */
export function readWranglerConfig(root) {
  const text = readFileSync(join(root, "wrangler.toml"), "utf8");
  const top = text.split(/^\[/m)[0];
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(top)?.[1];
  const flagsText = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(top)?.[1] ?? "";
  const flags = [...flagsText.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  const vars = {};
  const varsSection = /^\[vars\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(text)?.[1] ?? "";
  for (const m of varsSection.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"/gm)) vars[m[1]] = m[2];
  if (!date) throw new Error("wrangler.toml has no compatibility_date");
  return { compatibilityDate: date, compatibilityFlags: flags, vars };
}

const BUNDLE_TIMEOUT_MS = 120_000;

/**
 * Runs `wrangler deploy --dry-run --outdir <outdir>` and returns the path of the ES module bundle: keygate's, or with
 * `script` (a path from `root`) another entry bundled with keygate's wrangler.toml (the bench's own Workers).
 * `minify: false` keeps esbuild's `// src/…` module comments, which a CPU profile is attributed by.
 */
export function bundleKeygate(root, outdir, script = null, { minify = true } = {}) {
  // Run wrangler's CLI with this Node (its shebang would pick whatever `node` is first on PATH).
  const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  const result = spawnSync(process.execPath, [wrangler, "deploy", ...(script ? [script] : []), "--dry-run", "--outdir", outdir,
    ...(minify ? [] : ["--minify", "false"])], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
    // A blocking call: a wrangler that never returned would freeze this process, timers and all (the soak's watchdog
    // too), so it is killed after a bound far above its usual few seconds.
    timeout: BUNDLE_TIMEOUT_MS,
  });
  const scriptPath = join(outdir, script ? basename(script).replace(/\.ts$/, ".js") : "index.js");
  if (result.status !== 0 || !existsSync(scriptPath)) {
    const how = result.error?.code === "ETIMEDOUT" ? `killed after ${BUNDLE_TIMEOUT_MS / 1000} s` : `exit ${result.status}`;
    throw new Error(`wrangler deploy --dry-run failed (${how}):\n${result.stdout}\n${result.stderr}`);
  }
  return scriptPath;
}

/**
 * Builds another commit's bundle (a baseline to compare with, in the same run): `build(tree)` runs in a temporary
 * git worktree of `ref` under `scratch` that uses this checkout's node_modules, and the worktree is removed whatever
 * happens. Returns what `build` returns.
 */
export function atCommit(root, ref, scratch, build) {
  const tree = join(scratch, "baseline-src");
  execFileSync("git", ["worktree", "add", "--detach", "--quiet", tree, ref], { cwd: root, stdio: "pipe" });
  try {
    symlinkSync(join(root, "node_modules"), join(tree, "node_modules"), "dir");
    return build(tree);
  } finally {
    execFileSync("git", ["worktree", "remove", "--force", tree], { cwd: root, stdio: "pipe" });
  }
}
