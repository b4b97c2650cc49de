/**
 * Microbenchmark of the Keygate-Assertion's signature (src/gateway/assertion.ts): what one JWT costs, signed with
 * jose's SignJWT or with WebCrypto directly (the JWS header encoded once per key, the payload and signature per
 * token; base64url by hand with btoa, or "+b64" with the runtime's native Uint8Array.prototype.toBase64 where it has
 * one), for ES256 and EdDSA (Ed25519); and, as the floor, WebCrypto's signature alone with nothing encoded.
 *
 *   npx node bench/assertion-sign.mjs [--n 10000]
 *
 * Two runtimes: this Node process (OpenSSL), timed with process.cpuUsage(); and workerd (BoringSSL, the runtime
 * keygate runs in), served by Miniflare as in the main bench, timed by the workerd process's CPU time from
 * /proc, so the figure includes only what the Worker did (and the one request carrying the loop). Each figure is the
 * median of 5 runs of `n` signatures one after another (an `await` each, as the data plane does), after a warm-up,
 * the runs of all cases interleaved.
 *
 * The claims and the encoding are the Worker's (the same shape and size); bench/assertion-sign-worker.mjs holds the
 * code that runs in both runtimes.
 */
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { mkdirSync, readdirSync } from "node:fs";
import { exportJWK, generateKeyPair } from "jose";
import { loadMiniflare, cpuTimeUs, serveWorker } from "./lib/serve.mjs";
import { readWranglerConfig } from "./lib/build.mjs";
import { run as runInProcess } from "./assertion-sign-worker.mjs";

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, "..");
const argv = process.argv.slice(2);
const N = argv.includes("--n") ? Number(argv[argv.indexOf("--n") + 1]) : 10_000;
const RUNS = 5;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const keys = {};
for (const [alg, options] of [["ES256", {}], ["EdDSA", { crv: "Ed25519" }]]) {
  const { privateKey } = await generateKeyPair(alg, { ...options, extractable: true });
  keys[alg] = { ...(await exportJWK(privateKey)), alg };
}
const CASES = ["jose", "webcrypto", "webcrypto+b64", "sign only"].flatMap((impl) => ["ES256", "EdDSA"].map((alg) => ({ impl, alg })));

/** CPU µs per token of one run of `n` tokens in this Node process. */
async function inNode({ impl, alg }, n) {
  const before = process.cpuUsage();
  await runInProcess({ impl, jwk: keys[alg], n });
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

/** The same in workerd: its whole process's CPU time, around one request that signs `n` tokens. */
async function inWorkerd(server, { impl, alg }, n) {
  const before = cpuTimeUs(server.pid);
  const res = await fetch(`${server.url}/run`, { method: "POST", body: JSON.stringify({ impl, jwk: keys[alg], n }) });
  if (!res.ok) throw new Error(`workerd: ${res.status} ${await res.text()}`);
  await res.json();
  return (cpuTimeUs(server.pid) - before) / n;
}

function joseModules() {
  const dir = join(ROOT, "node_modules", "jose", "dist", "webapi");
  return readdirSync(dir, { recursive: true }).filter((f) => f.endsWith(".js")).map((f) => join(dir, f));
}

const wrangler = readWranglerConfig(ROOT);
const mf = await loadMiniflare(ROOT);
mkdirSync(join(BENCH, "out", "logs"), { recursive: true });
const server = await serveWorker(mf.Miniflare, mf.convert, {
  name: "assertion-sign",
  // The worker and every module of jose's web build it imports, named by their path under the repo.
  modules: [join(BENCH, "assertion-sign-worker.mjs"), ...joseModules()].map((path) => ({ type: "ESModule", path })),
  modulesRoot: ROOT,
  compatibilityDate: wrangler.compatibilityDate,
  compatibilityFlags: wrangler.compatibilityFlags,
  bindings: {},
  logDir: join(BENCH, "out", "logs"),
});
try {
  console.log(`Keygate-Assertion signing, ${N} tokens × ${RUNS} runs, median CPU µs per token (${cpus()[0]?.model}, ` +
    `Node ${process.version}, workerd ${mf.workerdVersion})`);
  console.log(`${"implementation".padEnd(16)}${"alg".padEnd(8)}${"Node".padStart(10)}${"workerd".padStart(10)}`);
  // A warm-up of each case (imports the keys, compiles the code), then interleaved runs, so a change in the machine's
  // load falls on every case alike.
  for (const c of CASES) {
    await inNode(c, Math.min(N, 500));
    await inWorkerd(server, c, Math.min(N, 500));
  }
  const figures = CASES.map(() => ({ node: [], workerd: [] }));
  for (let r = 0; r < RUNS; r++) {
    for (const [i, c] of CASES.entries()) {
      figures[i].node.push(await inNode(c, N));
      figures[i].workerd.push(await inWorkerd(server, c, N));
    }
  }
  for (const [i, c] of CASES.entries()) {
    const { node, workerd } = figures[i];
    console.log(`${c.impl.padEnd(16)}${c.alg.padEnd(8)}${median(node).toFixed(1).padStart(10)}${median(workerd).toFixed(1).padStart(10)}`);
  }
} finally {
  await server.close();
}
