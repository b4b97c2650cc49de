/**
 * A small load generator in Node, with h2load.mjs's interface, for `--smoke` on machines without h2load (a fresh
 * CI machine has only what `npm ci` installs). The smoke checks that every target answers with the right status;
 * its latencies are indicative only, which is why full runs insist on h2load (BENCHMARKS.md, "Load generator").
 */
import { readFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { latencySummary } from "./stats.mjs";

export function stopAll() {}

function once(agent, { url, headers = {}, bodyFile }, body) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = httpRequest(url, { agent, method: bodyFile ? "POST" : "GET", headers }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: String(res.statusCode), us: Number(process.hrtime.bigint() - started) / 1000 }));
    });
    req.on("error", () => resolve({ status: "error", us: 0 }));
    req.end(body);
  });
}

async function run(request, { concurrency, duration, requests }) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const body = request.bodyFile ? readFileSync(request.bodyFile) : undefined;
  const deadline = duration ? Date.now() + duration * 1000 : Infinity;
  let remaining = requests ?? Infinity;
  const results = [];
  const started = Date.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < deadline && remaining-- > 0) results.push(await once(agent, request, body));
  }));
  agent.destroy();
  return { results, seconds: (Date.now() - started) / 1000 };
}

export async function warmUp(request, { concurrency, requests }) {
  await run(request, { concurrency, requests: Math.max(requests, concurrency) });
}

export async function measure(request, { concurrency, duration, requests, around = () => {} }) {
  const start = around("start");
  const { results, seconds } = await run(request, { concurrency, duration, requests });
  const end = around("end");
  const statuses = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const answered = results.filter((r) => r.status !== "error");
  const latenciesUs = answered.map((r) => r.us);
  if (latenciesUs.length === 0) throw new Error(`no request to ${request.url} was answered`);
  return {
    rps: results.length / seconds,
    requests: answered.length,
    unanswered: results.length - answered.length,
    statuses,
    ...latencySummary(latenciesUs),
    start,
    end,
  };
}
