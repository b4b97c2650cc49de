/**
 * The cache against the truth: a random sequence of management writes of every kind (seeded, so a failure replays),
 * with traffic running on a Worker whose records are renewed by validation and dropped by the writes' events; after
 * each write's answer, every (key, deployment) pair is decided by that Worker and by one that reads D1 for every
 * request, and the answers must be the same. A write whose events dropped too little shows up as a difference.
 */
import { describe, expect, it } from "vitest";
import {
  admin,
  call,
  createApplication,
  createApplicationKey,
  createDeployment,
  createKey,
  createPolicy,
  createProject,
  recordingOrigin,
  sleep,
  testWorker,
  withEnv,
} from "../helpers";

const LEASE_MS = 120;
const STEPS = 30;
const { origin } = recordingOrigin();

/** mulberry32: a small seeded generator, so the sequence is the same on every run. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("the cache against the truth", () => {
  it(`after each of ${STEPS} random writes, every key on every deployment is decided as D1 decides it`, async () => {
    const next = random(20261202);
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const project = await createProject();
    const p = project.slug;
    const deployments = [(await createDeployment(p)).slug, (await createDeployment(p)).slug];
    const keys = [
      await createKey(p, [`${p}/${deployments[0]}`]),
      await createKey(p, [`${p}/${deployments[0]}`, `${p}/${deployments[1]}`]),
      await createKey(p, [`${p}/*`]),
    ].map((k) => ({ id: k.id, key: k.key, standalone: true }));
    const app = await createApplication(p);
    const policy = await createPolicy(p, app.id, [{ permission_set: "InferenceFullAccess", deployments: [deployments[0]!] }]);
    const appKey = await createApplicationKey(p, app.id);
    keys.push({ id: appKey.id, key: appKey.key, standalone: false });

    const cached = { worker: testWorker(), env: withEnv({ AUTH_CACHE_LEASE_MS: String(LEASE_MS) }) };
    const truth = { worker: testWorker(), env: withEnv({ AUTH_CACHE_LEASE_MS: "0" }) };
    const control = withEnv({ AUTH_CACHE_LEASE_MS: String(LEASE_MS) });
    const answer = async (on: typeof cached, deployment: string, token: string | null) => {
      const res = await call(`/endpoint/${p}/${deployment}/v1/models`, {
        ...(token ? { token } : {}), origin, env: on.env, worker: on.worker, settle: false, cf: { country: "NL" },
      });
      const text = await res.text();
      return `${res.status} ${res.status === 200 ? "" : (JSON.parse(text) as { error: { code: string } }).error.code}`;
    };
    const tokens = () => [null, ...keys.map((k) => k.key)];

    const writes: (() => [string, string, unknown?])[] = [
      () => ["PATCH", `/keys/${pick(keys).id}`, { conditions: pick([{}, { countries: ["NL"] }, { countries: ["DE"] }]) }],
      () => {
        const key = pick(keys.filter((k) => k.standalone));
        return [pick(["PUT", "DELETE"]), `/deployments/${pick(deployments)}/keys/${key.id}`];
      },
      () => ["POST", "/keys", { name: "made meanwhile", scopes: [`${p}/${deployments[0]}`] }],
      () => ["PATCH", `/deployments/${pick(deployments)}`, { auth_enabled: next() < 0.5 }],
      () => ["PATCH", `/deployments/${pick(deployments)}`, { endpoints: { public: { enabled: next() < 0.6 }, private: { enabled: true } } }],
      () => ["PATCH", "", { suspended: next() < 0.3 }],
      () => ["PATCH", `/policies/${policy.id}`, { rules: [{ permission_set: "InferenceFullAccess", deployments: pick([[deployments[0]], [deployments[1]], ["*"]]) }] }],
      () => ["PATCH", `/keys/${pick(keys).id}`, { name: `renamed ${next()}` }],
      () => ["DELETE", `/keys/${pick(keys).id}`],
    ];

    let running = true;
    const traffic = (async () => {
      while (running) {
        for (const d of deployments) for (const token of tokens()) await answer(cached, d, token);
        // A decision from memory does no I/O: without a timer turn, this loop would starve the write's own wait.
        await sleep(5);
      }
    })();
    const log: string[] = [];
    try {
      for (let step = 0; step < STEPS; step++) {
        const [method, path, body] = pick(writes)();
        const res = await admin(method, `/projects/${p}${path}`, body, undefined, control);
        log.push(`${method} ${path} ${JSON.stringify(body ?? null)} → ${res.status}`);
        if (method === "POST" && res.status === 201) keys.push({ id: res.body.id, key: res.body.key, standalone: true });
        for (const d of deployments) {
          for (const token of tokens()) {
            const [fromCache, fromD1] = [await answer(cached, d, token), await answer(truth, d, token)];
            expect(fromCache, `step ${step}, ${d}, ${token?.slice(0, 12) ?? "no key"}:\n${log.join("\n")}`).toBe(fromD1);
          }
        }
      }
    } finally {
      running = false;
      await traffic;
    }
  }, 60_000);
});
