/**
 * BudgetCounter: one Durable Object per token budget, the single writer that keeps the budget exact under
 * concurrency.
 *
 * Why exact: every public method (an RPC method, called through the stub) reads, checks and writes with the SQLite
 * API, which is synchronous, so a method's check and its write cannot be split by another call; and while a method
 * awaits a storage operation (the alarm calls), the object's input gate delivers no other event
 * (https://developers.cloudflare.com/durable-objects/reference/glossary/, "input gate"). N concurrent admits
 * therefore run one after another, each seeing the reservations of the ones before it.
 *
 * Tables (private to the object; created in the constructor):
 * - budget: at most one row, the configuration (with the version it came with) and the spend of the current period.
 * - removed: one row once the budget is deleted, a tombstone: the object then covers nothing and never takes a
 *   configuration again (budget ids are never reused), so a request decided from a record read before the delete
 *   cannot bring the budget back with its spend at zero.
 * - reservations: hard reservations not yet settled (charged = 0), and for a day those the alarm charged in full
 *   (charged = 1), so a late settle can still correct the full charge.
 *
 * Methods are plain public methods, so the stub can call them; internals are `#private`, which RPC cannot reach
 * (TypeScript's `private` would still be callable through the stub).
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import {
  checkConfig,
  checkReservationId,
  checkTokens,
  type Admission,
  type BudgetConfig,
  type BudgetMode,
  type BudgetPeriod,
  type BudgetState,
} from "./budget";
import { periodStart, resetsAt } from "./period";

export type { Admission, BudgetConfig, BudgetMode, BudgetPeriod, BudgetState } from "./budget";

/**
 * How long a hard reservation waits for its settle before the alarm charges it in full. Longer than any generation
 * keygate expects to forward (the origin timeout is 120 s by default, ORIGIN_TIMEOUT_MS, and a stream's body rarely
 * runs for minutes), so only a request whose Worker died is charged this way; charging in full fails closed.
 */
export const RESERVATION_TTL_MS = 10 * 60_000;

/** How long a reservation charged in full by the alarm stays, so the real count, if it ever arrives, corrects it. */
export const CHARGED_KEPT_MS = 24 * 3_600_000;

/** What state() shows for an object without a budget: `configured: false`, the rest placeholders. */
const NO_BUDGET: BudgetState = {
  configured: false,
  limitTokens: 0,
  mode: "hard",
  period: "total",
  spentTokens: 0,
  reservedTokens: 0,
  resetsAt: null,
};

interface BudgetRow extends Record<string, SqlStorageValue> {
  version: number;
  limit_tokens: number;
  mode: BudgetMode;
  period: BudgetPeriod;
  period_start: number;
  spent: number;
}

interface ReservationRow extends Record<string, SqlStorageValue> {
  tokens: number;
  charged: number;
  charged_period_start: number | null;
}

export class BudgetCounter extends DurableObject<Env> {
  /**
   * When the alarm is set for, as this object last set or read it (null: none). Kept in memory so an admission does
   * not ask storage for it: the alarm only needs moving when a reservation expires sooner than it, and reservations
   * all live RESERVATION_TTL_MS, so it almost never does. Only this object sets its alarm; the alarm handler clears it.
   */
  #alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Before the first call runs: every method may assume the tables exist, and the alarm time is known.
    ctx.blockConcurrencyWhile(async () => {
      this.#createTables();
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  /**
   * Creates the budget or changes it, unless it holds a newer version already or was removed. Spend is kept when the
   * limit or the mode changes; a new period starts over.
   */
  configure(config: BudgetConfig): BudgetState {
    const checked = checkConfig(config);
    const now = Date.now();
    if (this.#removed()) return { ...NO_BUDGET };
    const current = this.#budget(now);
    if (current === null || current.version <= checked.version) this.#write(checked, now);
    return this.#stateAt(now);
  }

  /**
   * Undoes a configure() whose database write failed: puts `previous` back, spend kept, but only while this object still
   * holds `failedVersion`, the configuration that write brought (a newer write that came meanwhile stays). configure()
   * cannot do it: `previous` is older than what it replaces, and configure() keeps the newest.
   */
  restore(previous: BudgetConfig, failedVersion: number): BudgetState {
    const checked = checkConfig(previous);
    const now = Date.now();
    if (this.#removed()) return { ...NO_BUDGET };
    if (this.#budget(now)?.version === failedVersion) this.#write(checked, now);
    return this.#stateAt(now);
  }

  /** The budget is gone, for good: storage and alarm, then the tombstone. A settle afterwards charges nothing. */
  async remove(): Promise<void> {
    await this.ctx.storage.deleteAll();
    // The object lives on after deleteAll, with no tables: recreate them at once, so the next call finds them.
    this.#createTables();
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO removed (id) VALUES (1)");
    // From compatibility date 2026-02-24 deleteAll removes the alarm too; said again so it holds at any date.
    await this.ctx.storage.deleteAlarm();
    this.#alarmAt = null;
  }

  state(): BudgetState {
    return this.#stateAt(Date.now());
  }

  /**
   * May a request that could use `tokens` go ahead? hard: only if the budget is not spent and the tokens fit beside
   * what is spent and reserved, and then they are reserved. soft: while anything is left (the request may end past
   * the limit). An object without a budget (its configure was lost) takes `fallback`, what the caller's database says
   * the budget is; a removed one covers nothing and admits without counting.
   */
  async admit(reservationId: string, tokens: number, fallback: BudgetConfig): Promise<Admission> {
    const id = checkReservationId(reservationId);
    const amount = checkTokens(tokens);
    const config = checkConfig(fallback);
    if (this.#removed()) return { ok: true };
    const now = Date.now();
    const budget = this.#budget(now) ?? this.#write(config, now);
    if (budget.mode === "soft") {
      return budget.spent < budget.limit_tokens ? { ok: true } : { ok: false, state: this.#stateOf(budget) };
    }
    // `spent < limit` too: a request that reserves nothing (a GET) is refused by a spent budget like any other.
    const fits = budget.spent < budget.limit_tokens && budget.spent + this.#reserved() + amount <= budget.limit_tokens;
    if (!fits) return { ok: false, state: this.#stateOf(budget) };
    if (this.#reservation(id) !== null) throw new Error("a reservation with this id already exists");
    this.ctx.storage.sql.exec(
      "INSERT INTO reservations (reservation_id, tokens, expires_at, charged) VALUES (?, ?, ?, 0)",
      id,
      amount,
      now + RESERVATION_TTL_MS,
    );
    // The reservation is stored; the alarm only bounds how long it may stay unsettled.
    const next = now + RESERVATION_TTL_MS;
    if (this.#alarmAt === null || this.#alarmAt > next) await this.#setAlarm(next);
    return { ok: true };
  }

  /**
   * The real count of a request that ended, charged to the period it ends in. Tokens reserved in an earlier period
   * held capacity until now and are charged now, not then: simple, and never less than was used.
   */
  settle(reservationId: string, tokens: number): void {
    const id = checkReservationId(reservationId);
    const amount = checkTokens(tokens);
    const budget = this.#budget(Date.now());
    if (budget === null) return; // removed: there is no budget left to charge
    const reservation = this.#reservation(id);
    let charge = amount; // pending, or unknown (soft mode, or cleaned up): the real count
    if (reservation !== null && reservation.charged === 1) {
      // The alarm charged the full reservation. In the same period the real count replaces it; in a later one the
      // full charge stayed with that period, and only what the request used beyond it is still owed.
      const extra = amount - reservation.tokens;
      charge = reservation.charged_period_start === budget.period_start ? extra : Math.max(0, extra);
    }
    if (reservation !== null) this.ctx.storage.sql.exec("DELETE FROM reservations WHERE reservation_id = ?", id);
    this.#setSpent(budget.spent + charge);
  }

  /** Charges in full every reservation past its expiry (its Worker died before settling), then re-arms. */
  override async alarm(): Promise<void> {
    // The alarm that fired is spent; it is set again below if there is more to do.
    this.#alarmAt = null;
    const now = Date.now();
    const budget = this.#budget(now);
    if (budget === null) return;
    const sql = this.ctx.storage.sql;
    const due = sql
      .exec<{ n: number }>(
        "SELECT COALESCE(SUM(tokens), 0) AS n FROM reservations WHERE charged = 0 AND expires_at <= ?",
        now,
      )
      .one().n;
    sql.exec(
      "UPDATE reservations SET charged = 1, charged_period_start = ? WHERE charged = 0 AND expires_at <= ?",
      budget.period_start,
      now,
    );
    this.#setSpent(budget.spent + due);
    sql.exec("DELETE FROM reservations WHERE charged = 1 AND expires_at <= ?", now - CHARGED_KEPT_MS);
    const next = this.#nextAlarm();
    if (next !== null) await this.#setAlarm(next);
  }

  async #setAlarm(at: number): Promise<void> {
    await this.ctx.storage.setAlarm(at);
    this.#alarmAt = at;
  }

  #createTables(): void {
    const sql = this.ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS budget (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      version INTEGER NOT NULL,
      limit_tokens INTEGER NOT NULL,
      mode TEXT NOT NULL,
      period TEXT NOT NULL,
      period_start INTEGER NOT NULL,
      spent INTEGER NOT NULL
    )`);
    sql.exec("CREATE TABLE IF NOT EXISTS removed (id INTEGER PRIMARY KEY CHECK (id = 1))");
    sql.exec(`CREATE TABLE IF NOT EXISTS reservations (
      reservation_id TEXT PRIMARY KEY,
      tokens INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      charged INTEGER NOT NULL DEFAULT 0,
      charged_period_start INTEGER
    )`);
    sql.exec("CREATE INDEX IF NOT EXISTS reservations_by_expiry ON reservations (charged, expires_at)");
  }

  /** The budget row, its period rolled first if it has ended (spend starts over); null when there is no budget. */
  #budget(now: number): BudgetRow | null {
    const budget = this.ctx.storage.sql.exec<BudgetRow>("SELECT * FROM budget WHERE id = 1").toArray()[0];
    if (budget === undefined) return null;
    const end = resetsAt(budget.period_start, budget.period);
    if (end !== null && now >= end) {
      budget.period_start = periodStart(now, budget.period);
      budget.spent = 0;
      this.ctx.storage.sql.exec("UPDATE budget SET period_start = ?, spent = 0 WHERE id = 1", budget.period_start);
    }
    return budget;
  }

  #removed(): boolean {
    return this.ctx.storage.sql.exec("SELECT 1 FROM removed").toArray().length > 0;
  }

  #write(config: BudgetConfig, now: number): BudgetRow {
    const current = this.#budget(now);
    const samePeriod = current !== null && current.period === config.period;
    const row: BudgetRow = {
      version: config.version,
      limit_tokens: config.limitTokens,
      mode: config.mode,
      period: config.period,
      period_start: samePeriod ? current.period_start : periodStart(now, config.period),
      spent: samePeriod ? current.spent : 0,
    };
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO budget (id, version, limit_tokens, mode, period, period_start, spent) VALUES (1, ?, ?, ?, ?, ?, ?)",
      row.version,
      row.limit_tokens,
      row.mode,
      row.period,
      row.period_start,
      row.spent,
    );
    return row;
  }

  /** Never below zero (a late settle's correction), never past what a number holds exactly. */
  #setSpent(spent: number): void {
    const bounded = Math.min(Math.max(0, spent), Number.MAX_SAFE_INTEGER);
    this.ctx.storage.sql.exec("UPDATE budget SET spent = ? WHERE id = 1", bounded);
  }

  #reserved(): number {
    return this.ctx.storage.sql
      .exec<{ n: number }>("SELECT COALESCE(SUM(tokens), 0) AS n FROM reservations WHERE charged = 0")
      .one().n;
  }

  #reservation(reservationId: string): ReservationRow | null {
    const rows = this.ctx.storage.sql
      .exec<ReservationRow>(
        "SELECT tokens, charged, charged_period_start FROM reservations WHERE reservation_id = ?",
        reservationId,
      )
      .toArray();
    return rows[0] ?? null;
  }

  /** The next instant the alarm has work: a pending reservation expires, or a charged one may be forgotten. */
  #nextAlarm(): number | null {
    return this.ctx.storage.sql
      .exec<{ at: number | null }>(
        "SELECT MIN(CASE WHEN charged = 0 THEN expires_at ELSE expires_at + ? END) AS at FROM reservations",
        CHARGED_KEPT_MS,
      )
      .one().at;
  }

  #stateAt(now: number): BudgetState {
    const budget = this.#budget(now);
    return budget === null ? { ...NO_BUDGET } : this.#stateOf(budget);
  }

  #stateOf(budget: BudgetRow): BudgetState {
    const end = resetsAt(budget.period_start, budget.period);
    return {
      configured: true,
      limitTokens: budget.limit_tokens,
      mode: budget.mode,
      period: budget.period,
      spentTokens: budget.spent,
      reservedTokens: this.#reserved(),
      resetsAt: end === null ? null : new Date(end).toISOString(),
    };
  }
}
