/**
 * What a token budget is, and the checks its numbers pass before the counter stores or uses them. Pure (no
 * Cloudflare import), so the control plane can share the types. A check throws on nonsense rather than guessing: the
 * caller turns a thrown error into a 503, so a bad number fails closed instead of admitting.
 */
import { BUDGET_PERIODS, type BudgetPeriod } from "./period";

export type { BudgetPeriod };
/** hard: reserve before forwarding, refuse what does not fit. soft: admit while anything is left, charge afterwards. */
export type BudgetMode = "hard" | "soft";
export const BUDGET_MODES: readonly BudgetMode[] = ["hard", "soft"];

export interface BudgetConfig {
  limitTokens: number;
  mode: BudgetMode;
  period: BudgetPeriod;
  /**
   * When the definition was written (epoch ms of the D1 row's updated_at): a counter keeps the newest it was given,
   * so two PATCHes whose configure calls arrive out of order leave the later one in force, as in D1.
   */
  version: number;
}

export interface BudgetState {
  /** false: the object holds no budget (never configured, or removed); the other fields are then placeholders. */
  configured: boolean;
  limitTokens: number;
  mode: BudgetMode;
  period: BudgetPeriod;
  spentTokens: number;
  /** Held by hard reservations not yet settled or charged, whichever period they were made in. */
  reservedTokens: number;
  /** RFC 3339 UTC with milliseconds; null for "total", which never resets. */
  resetsAt: string | null;
}

export type Admission = { ok: true } | { ok: false; state: BudgetState };

/** A token count: a non-negative safe integer (beyond 2^53 numbers lose units, and sums would silently round). */
export function checkTokens(value: unknown, what = "tokens"): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${what} must be a non-negative safe integer`);
  }
  return value;
}

export function checkConfig(config: unknown): BudgetConfig {
  if (typeof config !== "object" || config === null) throw new TypeError("a budget config must be an object");
  const { limitTokens, mode, period, version } = config as Record<string, unknown>;
  if (!BUDGET_MODES.includes(mode as BudgetMode)) throw new TypeError("mode must be hard or soft");
  if (!BUDGET_PERIODS.includes(period as BudgetPeriod)) throw new TypeError("period must be day, month or total");
  const checked = checkTokens(limitTokens, "limitTokens");
  return { limitTokens: checked, mode: mode as BudgetMode, period: period as BudgetPeriod, version: checkTokens(version, "version") };
}

/** A reservation's key: one per admitted request, made by the caller (never the client's request id). */
export function checkReservationId(value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 256) {
    throw new TypeError("a reservation id must be a string of 1 to 256 characters");
  }
  return value;
}
