/**
 * Where the bench lives and what `npm run bench` was asked: every mode (bench/run.mjs, far-d1.mjs, warm-path.mjs)
 * reads the same command line.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH = join(dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = join(BENCH, "..");
export const OUT = join(BENCH, "out");

const argv = process.argv.slice(2);
export const flag = (name) => argv.includes(`--${name}`);
/** The value after `--name`, as text, or `fallback`. */
export const option = (name, fallback) => (flag(name) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);

/**
 * A mode's results: a full run's into bench/results.json under `key` (every other mode's figures in that file kept)
 * and its tables to bench/out/<name>.md; any other run's (a smoke, a partial one) to bench/out/results.<name>-<mode>.json
 * only. Returns where they went.
 */
export function publishMode({ key, name, result, markdown }) {
  if (result.mode !== "full") {
    const path = join(OUT, `results.${name}-${result.mode}.json`);
    writeFileSync(path, JSON.stringify(result, null, 2) + "\n");
    return path;
  }
  const path = join(BENCH, "results.json");
  const published = existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : {};
  writeFileSync(path, JSON.stringify({ ...published, [key]: result }, null, 2) + "\n");
  writeFileSync(join(OUT, `${name}.md`), markdown);
  return `${path} (${key}) and bench/out/${name}.md`;
}

/** The commit being measured, short. */
export const commitOf = () => execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
