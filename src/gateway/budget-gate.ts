/**
 * The budget gate: before a request covered by token budgets is forwarded, every one of them admits it (a hard budget
 * reserves what the request may cost; a soft one checks it is not spent), in parallel, one BudgetCounter each; after
 * the answer, each is settled with the real count. A request one budget refuses is refused (429
 * `insufficient_quota`) and the reservations the others made are released; a counter that fails or does not answer
 * refuses it too (503 `store_unavailable`): never forwarded uncounted. An unbudgeted request never gets here.
 */
import type { BudgetRef } from "../authz/types";
import { counterCall, counterOf } from "../budgets/counters";
import type { Env } from "../env";
import { ApiError } from "../errors";
import { logLine } from "../log";

/** What a request holds in its budgets once admitted: settled exactly once, with the tokens it really cost. */
export interface Admission {
  settle(tokens: number): Promise<void>;
}

/**
 * @param tokens what a hard budget reserves: the most the request's input can be plus the most output it may produce
 * @throws ApiError `insufficient_quota` when a budget refuses; StoreError when a counter fails (fail closed)
 */
export async function admit(env: Env, budgets: readonly BudgetRef[], tokens: number): Promise<Admission> {
  // A reservation's own id, never the request id: a client may send its own x-request-id, and so repeat one.
  const reservationId = crypto.randomUUID();
  const answers = await Promise.allSettled(
    budgets.map(async (budget) => {
      const { id, ...config } = budget;
      const admitted = await counterCall(async () => (await counterOf(env, id).admit(reservationId, tokens, config)).ok, "admit");
      return { budget, admitted };
    }),
  );
  const admitted = answers.filter((a) => a.status === "fulfilled" && a.value.admitted).length;
  const settle = (tokensUsed: number) => settleAll(env, budgets, reservationId, tokensUsed);
  const failed = answers.find((a): a is PromiseRejectedResult => a.status === "rejected");
  if (failed !== undefined || admitted < budgets.length) {
    // What was reserved for a request that will not be forwarded is released at once: everywhere, also where the
    // admit failed or timed out (it may have reserved all the same; settling nothing that was not reserved is free).
    await settle(0);
    if (failed !== undefined) throw failed.reason;
    // OpenAI's SDKs retry a 429 unless told not to; a spent budget does not come back in a second.
    throw new ApiError("insufficient_quota", undefined, null, { headers: { "x-should-retry": "false" } });
  }
  return { settle };
}

async function settleAll(env: Env, budgets: readonly BudgetRef[], reservationId: string, tokens: number): Promise<void> {
  await Promise.all(
    budgets.map(async (budget) => {
      try {
        await counterCall(() => counterOf(env, budget.id).settle(reservationId, tokens), "settle");
      } catch (err) {
        // The reservation stays; its counter's alarm charges it in full when it expires (fail closed).
        logLine({ level: "error", msg: "budget settle failed", budget_id: budget.id, reservation_id: reservationId, tokens, error: String(err) });
      }
    }),
  );
}
