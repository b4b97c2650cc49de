/**
 * CPU profiles of keygate (warm key) and of the pass-through control under h2load load, served as the h2load bench
 * serves them (Miniflare, direct sockets, the stand-in origin in its own process), taken through workerd's inspector.
 * Self time is reported in microseconds per request (samples × interval ÷ requests answered while profiling), so the
 * two Workers can be compared function by function: what keygate adds is where its figure exceeds the control's.
 *
 * An attached inspector makes `console.log` dearer (V8 keeps each message, with a stack trace, for the debugger), so
 * keygate's log line weighs more here than it does unprofiled; every other figure is read as it is.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BODY, EDGE_HEADERS, PATH } from "../lib/client.mjs";
import { bundleMarkers, summarizeProfile } from "../lib/cpu-profile.mjs";
import * as h2load from "../lib/h2load.mjs";
import { connectInspector } from "../lib/inspector.mjs";
import { applySeed } from "../lib/seed.mjs";
import { serveWorker } from "../lib/serve.mjs";
import { spawnOrigin } from "../origin.mjs";


/**
 * @param keygatePath keygate's unminified bundle; @param passthroughPath bench/passthrough.js
 * @returns per Worker: requests, sampled ms, the summary in µs per request; and writes `<name>.cpuprofile` to outDir
 */
export async function profileUnderLoad({ mf, wrangler, bindings, seed, root, keygatePath, passthroughPath, scratch, logDir,
  outDir, seconds, concurrency, samplingUs }) {
  const origin = await spawnOrigin({ chunks: 8, chunkMs: 10 });
  writeFileSync(join(scratch, "body.json"), BODY);
  const results = {};
  try {
    const workers = [
      { name: "pass-through", scriptPath: passthroughPath, bindings: { ORIGIN: origin.url }, d1: false },
      { name: "keygate", scriptPath: keygatePath, bindings, d1: true },
    ];
    for (const worker of workers) {
      const server = await serveWorker(mf.Miniflare, mf.convert, { name: `profiled-${worker.name}`, scriptPath: worker.scriptPath,
        compatibilityDate: wrangler.compatibilityDate, compatibilityFlags: wrangler.compatibilityFlags, bindings: worker.bindings,
        d1: worker.d1, logDir, inspect: true });
      const inspector = await connectInspector(server.inspectorUrl);
      try {
        if (worker.d1) await applySeed(server.db, root, { ...seed, originUrl: origin.url });
        const request = { url: server.url + PATH, bodyFile: join(scratch, "body.json"),
          headers: { authorization: `Bearer ${seed.known}`, "content-type": "application/json", ...EDGE_HEADERS } };
        await h2load.warmUp(request, { concurrency, requests: 500 });
        await inspector.send("Profiler.enable");
        await inspector.send("Profiler.setSamplingInterval", { interval: samplingUs });
        await inspector.send("Profiler.start");
        const run = await h2load.measure(request, { concurrency, duration: seconds, logFile: join(scratch, "h2load.log") });
        const { profile } = await inspector.send("Profiler.stop");
        if ((run.statuses[200] ?? 0) !== run.requests) throw new Error(`${worker.name} answered ${JSON.stringify(run.statuses)} under load`);
        writeFileSync(join(outDir, `warm-path.${worker.name}.cpuprofile`), JSON.stringify(profile));
        results[worker.name] = { requests: run.requests, rps: run.rps,
          ...summarizeProfile(profile, bundleMarkers(worker.scriptPath), { perRequest: run.requests }) };
      } finally {
        inspector.close();
        await server.close();
      }
    }
  } finally {
    await origin.close();
  }
  return results;
}
