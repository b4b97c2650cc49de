/**
 * The budget gate: before a request covered by token budgets is forwarded, every one of them admits it (a hard budget
 * reserves what the request may cost; a soft one checks it is not spent), in parallel, one BudgetCounter each; after
 * the answer, each is settled with the real count. A request one budget refuses is refused (429
 * `insufficient_quota`) and the reservations the others made are released; a counter that fails or does not answer
 * refuses it too (503 `store_unavailable`): never forwarded uncounted. An unbudgeted request never gets here.
 */
import type { BudgetRef } from "../authz/types";
import type { Admission as CounterAdmission, BudgetState } from "../budgets/budget";
import { counterCall, counterOf } from "../budgets/counters";
import type { Env } from "../env";
import { ApiError } from "../errors";
import { logLine } from "../log";

/** What a request holds in its budgets once admitted: settled exactly once, with the tokens it really cost. */
export interface Admission {
  settle(tokens: number): Promise<void>;
}

/**
 * Why a budget refused, for the log line's `reason`: spent for its period; smaller than what the request may cost, so
 * it can never admit it; not enough left of it; or enough left, but not beside what requests in flight hold.
 */
export type RefusalReason = "budget_spent" | "budget_too_small" | "budget_exceeded" | "budget_reserved";

/** A budget's 429: the client's message says which case it is; the log line also names the budget. */
export class BudgetRefused extends ApiError {
  constructor(
    readonly budgetId: string,
    readonly reason: RefusalReason,
    message: string,
    headers: Record<string, string>,
  ) {
    super("insufficient_quota", message, null, { headers });
  }
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
      const answer: CounterAdmission = await counterCall(async () => await counterOf(env, id).admit(reservationId, tokens, config), "admit");
      return { budget, answer };
    }),
  );
  const settle = (tokensUsed: number) => settleAll(env, budgets, reservationId, tokensUsed);
  const failed = answers.find((a): a is PromiseRejectedResult => a.status === "rejected");
  const [refused] = answers.flatMap((a) => (a.status === "fulfilled" && !a.value.answer.ok ? [{ id: a.value.budget.id, state: a.value.answer.state }] : []));
  // What was reserved for a request that will not be forwarded is released at once: everywhere, also where the admit
  // failed or timed out (it may have reserved all the same; settling nothing that was not reserved is free).
  if (failed !== undefined) {
    await settle(0);
    throw failed.reason;
  }
  if (refused !== undefined) {
    await settle(0);
    throw refusal(refused.id, refused.state, tokens);
  }
  return { settle };
}

function refusal(budgetId: string, state: BudgetState, tokens: number): BudgetRefused {
  const quota = "You exceeded your current quota";
  // OpenAI's SDKs retry a 429 unless told not to: a spent budget does not come back in a second, nor does a limit
  // grow; room that requests in flight hold may.
  const final = { "x-should-retry": "false" };
  if (state.spentTokens >= state.limitTokens) {
    const period = state.period === "total" ? "" : " for its period";
    return new BudgetRefused(budgetId, "budget_spent", `${quota}: a token budget covering this request is spent${period}.`, final);
  }
  const cost = `this request may use up to ${tokens} tokens (its input, at most a token per byte, and its output cap: max_tokens, or the deployment's default)`;
  if (tokens > state.limitTokens) {
    return new BudgetRefused(budgetId, "budget_too_small", `${quota}: ${cost}, more than a token budget covering it allows. Ask for fewer tokens (a lower max_tokens).`, final);
  }
  if (state.spentTokens + tokens <= state.limitTokens) {
    return new BudgetRefused(budgetId, "budget_reserved", `${quota}: ${cost}, more than a token budget covering it has left beside what requests in flight hold. Retry shortly, or ask for fewer tokens.`, {});
  }
  return new BudgetRefused(budgetId, "budget_exceeded", `${quota}: ${cost}, more than is left of a token budget covering it. Ask for fewer tokens (a lower max_tokens).`, final);
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
