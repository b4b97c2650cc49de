/**
 * Reaching budgets' counters (src/budgets/counter.ts): one BudgetCounter Durable Object per budget, named by the
 * budget's id. A counter that throws, or does not answer within STORE_TIMEOUT_MS, is a StoreError like a failing D1
 * (503 `store_unavailable`): a budgeted request is then refused, never let through uncounted (fail closed).
 */
import type { Env } from "../env";
import { STORE_TIMEOUT_MS, withinTimeout } from "../store/authorization";
import { StoreError } from "../store/errors";

/** The budget's counter (no I/O until a method is called). */
export function counterOf(env: Env, budgetId: string) {
  return env.BUDGETS.get(env.BUDGETS.idFromName(budgetId));
}

/** The counter call's answer within STORE_TIMEOUT_MS, or a StoreError. */
export async function counterCall<T>(call: () => PromiseLike<T>, what: string): Promise<T> {
  try {
    return await withinTimeout(Promise.resolve(call()), STORE_TIMEOUT_MS);
  } catch (err) {
    const kind = err instanceof StoreError ? err.kind : "unavailable";
    throw new StoreError(kind, `budget counter: ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
