/**
 * A V8 CPU profile (`.cpuprofile`, Chrome DevTools Protocol `Profiler.Profile`) summarised: where the samples' leaf
 * frames were (self time), by function and by source file of keygate. Files are found from esbuild's
 * `// src/…` and `// node_modules/…` markers in an unminified bundle: each line of the bundle belongs to the last
 * marker above it.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";

/** The bundle's name and [line (0-based), file] for every module marker in it, in order. */
export function bundleMarkers(bundlePath) {
  const markers = [];
  readFileSync(bundlePath, "utf8").split("\n").forEach((line, i) => {
    const m = /^\/\/ ((?:src|node_modules|bench)\/\S+)$/.exec(line);
    if (m) markers.push([i, m[1]]);
  });
  return { markers, bundleName: basename(bundlePath) };
}

function fileAt(markers, line) {
  let lo = 0, hi = markers.length - 1, found = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (markers[mid][0] <= line) { found = markers[mid][1]; lo = mid + 1; } else hi = mid - 1;
  }
  return found ?? "(bundle prelude)";
}

/** What a frame is: the runtime's own (no url, or workerd's built-in modules), or a function of the bundle at file:line. */
function frameOf(callFrame, markers, bundleName) {
  const name = callFrame.functionName || "(anonymous)";
  if (!callFrame.url) return { name, file: "(runtime: native)", inBundle: false };
  if (!callFrame.url.endsWith(`/${bundleName}`)) return { name, file: `(runtime: ${callFrame.url})`, inBundle: false };
  return { name, file: fileAt(markers, callFrame.lineNumber), inBundle: true };
}

/**
 * Self time of the top `limit` functions and of every source file, each as its `share` of all samples that are not
 * `(idle)`, and with `perRequest` (the requests served while profiling) also in microseconds per request.
 */
export function summarizeProfile(profile, { markers, bundleName }, { limit = 25, perRequest = null } = {}) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const hits = new Map();
  profile.samples.forEach((id, i) => hits.set(id, (hits.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const functions = new Map();
  const files = new Map();
  let total = 0;
  for (const [id, us] of hits) {
    const node = byId.get(id);
    if (node.callFrame.functionName === "(idle)") continue;
    total += us;
    const { name, file, inBundle } = frameOf(node.callFrame, markers, bundleName);
    const key = `${name} · ${file}${inBundle ? `:${node.callFrame.lineNumber + 1}` : ""}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
    files.set(file, (files.get(file) ?? 0) + us);
  }
  const ranked = (map) =>
    [...map].sort((a, b) => b[1] - a[1]).map(([what, us]) => ({
      what,
      share: Math.round((us / total) * 1000) / 1000,
      ...(perRequest ? { us_per_req: Math.round((us / perRequest) * 10) / 10 } : {}),
    }));
  return {
    sampled_ms: Math.round(total / 1000),
    ...(perRequest ? { requests: perRequest, us_per_req: Math.round((total / perRequest) * 10) / 10 } : {}),
    functions: ranked(functions).slice(0, limit),
    files: ranked(files),
  };
}
