/**
 * The far-away D1 of `npm run bench -- --far-d1`: keygate's own bundle, unchanged, behind a D1 binding on which every
 * statement takes an extra BENCH_D1_LATENCY_MS — half before it reaches the database, half on the way back, as a
 * round trip to a primary in another region would — and which counts what the Worker asked of it. This wrapper is
 * the bench's; keygate's code paths are the production ones.
 *
 * GET /__bench/d1 answers the counts so far: `decision_reads` (the data plane's one full read, src/store/authorization.ts:
 * each is a request that waited for D1), `reads` (every SELECT, those included: revision checks are the rest),
 * `writes` (anything else, a batch counted once), `in_flight` (statements sent and not yet answered).
 */
import keygate from "./index.js";

const counts = { decision_reads: 0, reads: 0, writes: 0, in_flight: 0 };
/** The data plane's full read is the only statement that reads from `(SELECT 1) AS base`. */
const isDecisionRead = (sql) => sql.includes("FROM (SELECT 1) AS base");
const sleep = (ms) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

/** `run()` after half the latency, the answer handed back after the other half. */
async function far(latencyMs, kinds, run) {
  for (const kind of kinds) counts[kind] += 1;
  counts.in_flight += 1;
  try {
    await sleep(latencyMs / 2);
    const answer = await run();
    await sleep(latencyMs / 2);
    return answer;
  } finally {
    counts.in_flight -= 1;
  }
}

function farAway(db, latencyMs) {
  // The binding's own statement behind each wrapper: a batch must be handed the real ones.
  const real = new WeakMap();
  const statement = (stmt, kinds) => {
    const wrapped = new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind") return (...values) => statement(target.bind(...values), kinds);
        if (prop === "first" || prop === "all" || prop === "raw" || prop === "run") {
          return (...args) => far(latencyMs, kinds, () => target[prop](...args));
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    real.set(wrapped, stmt);
    return wrapped;
  };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") {
        return (sql) => {
          const kinds = !/^\s*SELECT\b/i.test(sql) ? ["writes"] : isDecisionRead(sql) ? ["reads", "decision_reads"] : ["reads"];
          return statement(target.prepare(sql), kinds);
        };
      }
      if (prop === "batch") {
        return (statements) => far(latencyMs, ["writes"], () => target.batch(statements.map((s) => real.get(s) ?? s)));
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

let wrapped = null;

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__bench/d1") return Response.json(counts);
    // One wrapped env for the isolate, as a deployed Worker sees one env: keygate parses its config once per env.
    wrapped ??= { ...env, DB: farAway(env.DB, Number(env.BENCH_D1_LATENCY_MS ?? "0")) };
    return keygate.fetch(request, wrapped, ctx);
  },
};
