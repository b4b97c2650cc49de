/**
 * One allowed request's metering, from decision to the end of its answer (docs/usage.md):
 *   admit   after the body is read and before the origin is called: the budgets covering the request admit it (a hard
 *           one reserving the input's bound + max output), and the key's use is noted;
 *   ended   once, when the answer has ended (a stream at its end, a cut or a hang-up included) or the call failed:
 *           the budgets are settled with the real count and the day's usage noted, both in the background.
 * An unbudgeted request makes no call here beyond noting its usage in memory.
 */
import type { BudgetRef, DeploymentRecord } from "../authz/types";
import type { Env } from "../env";
import { logLine } from "../log";
import { ApiError } from "../errors";
import { generates, inputBound, type MeteredRoute, type RequestReading } from "../metering/request";
import { NOT_METERED, type MeteredUsage } from "../metering/usage";
import { admit, type Admission } from "./budget-gate";
import type { UsageRecorder } from "./usage";

/** What a hard budget reserves for the output of a request that names no max_tokens, on a deployment that sets none. */
export const DEFAULT_MAX_TOKENS = 4096;

export interface MeteringContext {
  env: Env;
  ctx: ExecutionContext;
  usage: UsageRecorder;
  flushMs: number;
  requestId: string;
  deployment: DeploymentRecord;
  keyId: string | null;
  budgets: readonly BudgetRef[];
}

export class RequestMetering {
  /** Settles once everything the answer's end set off is done: what the invocation waits for (ctx.waitUntil). */
  readonly finished: Promise<void>;
  private finish!: () => void;
  private admission: Admission | null = null;
  private admitted = false;
  private done = false;

  constructor(
    private readonly context: MeteringContext,
    /** The OpenAI route whose usage is read, or null (any other path: its answer is read as a chat answer would be). */
    readonly route: MeteredRoute | null,
  ) {
    this.finished = new Promise((resolve) => (this.finish = resolve));
  }

  /** Whether budgets cover the request: then its end settles them, after the answer. */
  get budgeted(): boolean {
    return this.context.budgets.length > 0;
  }

  /**
   * Whether the body must be read before forwarding: to ask for stream usage, or to know what a hard budget reserves
   * (a soft one reserves nothing).
   */
  get inspect(): boolean {
    if (this.route === null) return false;
    const streams = this.route === "chat" || this.route === "completions";
    return (streams && this.context.deployment.injectStreamUsage) || this.hard;
  }

  get inject(): boolean {
    return this.context.deployment.injectStreamUsage;
  }

  /** Whether a hard budget covers the request: what it may cost must then be known, and bounded, before it goes. */
  private get hard(): boolean {
    return this.context.budgets.some((budget) => budget.mode === "hard");
  }

  /**
   * Under a hard budget, the output a request that names no cap is held to: written into its body, so the origin
   * cannot generate more than was reserved for it (its own default may be the whole context).
   */
  get capOutput(): number | null {
    return this.hard ? (this.context.deployment.defaultMaxTokens ?? DEFAULT_MAX_TOKENS) : null;
  }

  /**
   * @param reading what the body asks for, when it was read (see `inspect`)
   * @param declaredBytes the body's Content-Length, for a request whose body was not read
   * @throws ApiError `insufficient_quota`, StoreError (a budget counter failed)
   */
  async admit(method: string, reading: RequestReading | null, declaredBytes: number | null): Promise<void> {
    const { env, usage, keyId, budgets } = this.context;
    if (this.hard && this.route !== null) refuseUnbounded(reading);
    if (budgets.length > 0) this.admission = await admit(env, budgets, this.reservation(method, reading, declaredBytes));
    this.admitted = true;
    if (keyId !== null) usage.used(keyId, Date.now());
  }

  /**
   * What a hard budget holds for the request until it is settled: the most its input can be (inputBound), and its most
   * output (the cap, once per answer asked for). A path keygate does not meter may still generate (a server's native route): it holds
   * the default output, and is charged what it reports or an estimate.
   */
  private reservation(method: string, reading: RequestReading | null, declaredBytes: number | null): number {
    const maxOutput = this.context.deployment.defaultMaxTokens ?? DEFAULT_MAX_TOKENS;
    if (reading !== null) {
      const output = this.route === "embeddings" ? 0 : (reading.maxTokens ?? maxOutput) * reading.choices;
      return reading.inputBound + output;
    }
    if (!generates(method)) return 0;
    return inputBound(declaredBytes ?? 0) + maxOutput;
  }

  /** The answer has ended with this usage (zero tokens for a call that failed). Idempotent. */
  ended(counted: MeteredUsage): void {
    if (this.done) return;
    this.done = true;
    const { env, ctx, usage, flushMs, requestId, deployment, keyId } = this.context;
    const tokens = counted.promptTokens + counted.completionTokens + counted.estimatedTokens;
    if (counted.source === "estimated") {
      logLine({
        msg: "usage",
        request_id: requestId,
        key_id: keyId,
        estimated: true,
        reason: counted.reason,
        estimated_tokens: counted.estimatedTokens,
      });
    }
    usage.ended(env.DB, ctx, flushMs, {
      projectId: deployment.projectId,
      deployment: deployment.slug,
      keyId,
      at: Date.now(),
      promptTokens: counted.promptTokens,
      completionTokens: counted.completionTokens,
      estimatedTokens: counted.estimatedTokens,
    });
    const settled = this.admission?.settle(tokens) ?? Promise.resolve();
    void settled.then(this.finish);
  }

  /** The request will not be answered by the origin (refused or failed before an answer): nothing was generated. */
  abandon(): void {
    if (!this.admitted && !this.done) {
      // Never admitted: nothing reserved, and not counted as a request.
      this.done = true;
      this.finish();
      return;
    }
    this.ended(NOT_METERED);
  }
}

/**
 * A request a hard budget covers goes only if what it may cost is known: a body keygate read (not a compressed one),
 * strict JSON, whose caps and answer counts are positive integers. Anything else could make the origin generate more
 * than was reserved (a lenient origin reads `"max_tokens": "50000"` as 50000).
 */
function refuseUnbounded(reading: RequestReading | null): void {
  const budgeted = "A hard token budget covers this request, so what it may cost must be known before it is forwarded";
  if (reading === null) throw new ApiError("invalid_request", `${budgeted}: send the body uncompressed (no Content-Encoding).`);
  if (!reading.bounded && reading.problem !== null) {
    throw new ApiError("invalid_request", `${budgeted}: ${reading.problem.text}.`, reading.problem.field);
  }
}
