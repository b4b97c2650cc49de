/**
 * The soak's Worker: keygate's own bundle, unchanged, behind a D1 binding that fails a share of the data plane's
 * decision reads (SOAK_STORE_FAILURE_RATE), the way a D1 outage would. Management queries are not touched, so every
 * write the soak makes is a real one.
 */
import keygate from "./index.js";

/** The data plane's one query (src/store/authorization.ts) is the only one that reads from `(SELECT 1) AS base`. */
const isDecisionRead = (sql) => sql.includes("FROM (SELECT 1) AS base");

function flaky(db, rate) {
  const failing = (statement) =>
    new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") return (...values) => failing(target.bind(...values));
        if (prop === "first" || prop === "all" || prop === "raw" || prop === "run") {
          return (...args) =>
            Math.random() < rate ? Promise.reject(new Error("soak: injected D1 failure")) : target[prop](...args);
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (sql) => (isDecisionRead(sql) ? failing(target.prepare(sql)) : target.prepare(sql));
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

let wrapped = null;

export default {
  fetch(request, env, ctx) {
    // One wrapped env for the isolate, as a deployed Worker sees one env: keygate parses its config once per env.
    wrapped ??= { ...env, DB: flaky(env.DB, Number(env.SOAK_STORE_FAILURE_RATE ?? "0")) };
    return keygate.fetch(request, wrapped, ctx);
  },
};
