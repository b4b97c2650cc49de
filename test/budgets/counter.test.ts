/**
 * BudgetCounter (src/budgets/counter.ts) through its stub, inside workerd: each test gets its own object by name.
 * Time is moved by writing the object's storage (runInDurableObject), never by waiting.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { BudgetConfig, BudgetCounter } from "../../src/budgets/counter";
import { CHARGED_KEPT_MS, RESERVATION_TTL_MS } from "../../src/budgets/counter";
import { periodStart, resetsAt } from "../../src/budgets/period";

const HARD_TOTAL: BudgetConfig = { limitTokens: 1_000, mode: "hard", period: "total", version: 1 };

function newBudget() {
  return env.BUDGETS.getByName(crypto.randomUUID());
}

async function configured(config: BudgetConfig) {
  const stub = newBudget();
  await stub.configure(config);
  return stub;
}

/** Runs SQL inside the object, as if time had passed (or storage were otherwise than the counter left it). */
function rewrite(stub: DurableObjectStub<BudgetCounter>, query: string, ...bindings: unknown[]) {
  return runInDurableObject(stub, (_, state) => {
    state.storage.sql.exec(query, ...bindings);
  });
}

/**
 * The RPC call's answer as a plain promise. A stub call returns an RpcPromise, which is also a proxy for calling on
 * into its result: `expect(rpcPromise).rejects` reads properties of it, each a pipelined call that rejects in turn,
 * and vitest then reports those as unhandled rejections.
 */
async function answer(call: PromiseLike<unknown>): Promise<unknown> {
  return await call;
}

const iso = (millis: number | null) => (millis === null ? null : new Date(millis).toISOString());

describe("configure and state", () => {
  it("an object that was never configured says so", async () => {
    expect(await newBudget().state()).toMatchObject({ configured: false, spentTokens: 0, reservedTokens: 0 });
  });

  it.each(["day", "month", "total"] as const)("a %s budget starts empty and shows when it resets", async (period) => {
    const before = Date.now();
    const state = await newBudget().configure({ limitTokens: 500, mode: "soft", period, version: 1 });
    expect(state).toEqual({
      configured: true,
      limitTokens: 500,
      mode: "soft",
      period,
      spentTokens: 0,
      reservedTokens: 0,
      resetsAt: iso(resetsAt(before, period)),
    });
    if (state.resetsAt !== null) expect(state.resetsAt).toMatch(/^\d{4}-\d\d-\d\dT00:00:00\.000Z$/);
  });

  it("keeps the spend when the limit or the mode changes, and starts over when the period does", async () => {
    const stub = await configured({ limitTokens: 1_000, mode: "hard", period: "month", version: 1 });
    await stub.settle("r1", 400);
    expect(await stub.configure({ limitTokens: 2_000, mode: "soft", period: "month", version: 1 })).toMatchObject({
      limitTokens: 2_000,
      mode: "soft",
      spentTokens: 400,
    });
    const state = await stub.configure({ limitTokens: 2_000, mode: "soft", period: "day", version: 1 });
    expect(state).toMatchObject({ period: "day", spentTokens: 0, resetsAt: iso(resetsAt(Date.now(), "day")) });
  });

  it("restore() puts back the configuration a failed write replaced, spend kept, unless a newer write came meanwhile", async () => {
    const stub = await configured({ limitTokens: 1_000, mode: "hard", period: "month", version: 1 });
    await stub.settle("r1", 400);
    await stub.configure({ limitTokens: 5_000, mode: "soft", period: "month", version: 2 });
    expect(await stub.restore({ limitTokens: 1_000, mode: "hard", period: "month", version: 1 }, 2)).toMatchObject({
      limitTokens: 1_000,
      mode: "hard",
      spentTokens: 400,
    });
    // Another write (version 3) came after the one that failed (version 2): it stays.
    await stub.configure({ limitTokens: 5_000, mode: "soft", period: "month", version: 2 });
    await stub.configure({ limitTokens: 7_000, mode: "hard", period: "month", version: 3 });
    expect(await stub.restore({ limitTokens: 1_000, mode: "hard", period: "month", version: 1 }, 2)).toMatchObject({ limitTokens: 7_000 });
  });

  it("remove() leaves no budget, no reservation and no alarm, for good: nothing brings it back", async () => {
    const stub = await configured(HARD_TOTAL);
    expect(await stub.admit("r1", 100, HARD_TOTAL)).toEqual({ ok: true });
    await stub.remove();
    expect(await stub.state()).toMatchObject({ configured: false, reservedTokens: 0 });
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull();
    await stub.settle("r1", 100); // in flight when the budget went: charges nothing
    // A request decided from a record read before the delete: admitted, counted nowhere; the budget stays gone.
    expect(await stub.admit("r2", 10, { limitTokens: 50, mode: "hard", period: "total", version: 1 })).toEqual({ ok: true });
    expect(await stub.configure({ ...HARD_TOTAL, version: 2 })).toMatchObject({ configured: false });
    expect(await stub.state()).toMatchObject({ configured: false, spentTokens: 0, reservedTokens: 0 });
  });

  it("an object whose configuration was lost takes the caller's fallback", async () => {
    const stub = newBudget();
    expect(await stub.admit("r1", 10, { limitTokens: 50, mode: "hard", period: "total", version: 1 })).toEqual({ ok: true });
    expect(await stub.state()).toMatchObject({ configured: true, limitTokens: 50, spentTokens: 0, reservedTokens: 10 });
  });

  it("keeps the newest configuration it was given, whatever order they arrive in", async () => {
    const stub = await configured({ ...HARD_TOTAL, limitTokens: 100, version: 20 });
    expect(await stub.configure({ ...HARD_TOTAL, limitTokens: 300, version: 10 })).toMatchObject({ limitTokens: 100 });
    expect(await stub.configure({ ...HARD_TOTAL, limitTokens: 200, version: 30 })).toMatchObject({ limitTokens: 200 });
  });
});

describe("hard budgets", () => {
  it("of N concurrent admits, when N−1 fit, exactly one is refused", async () => {
    const n = 25;
    const stub = await configured({ limitTokens: (n - 1) * 100, mode: "hard", period: "day", version: 1 });
    const results = await Promise.all(Array.from({ length: n }, (_, i) => stub.admit(`r${i}`, 100, HARD_TOTAL)));
    const refused = results.filter((result) => !result.ok);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ ok: false, state: { spentTokens: 0, reservedTokens: (n - 1) * 100 } });
    expect(await stub.state()).toMatchObject({ spentTokens: 0, reservedTokens: (n - 1) * 100 });

    await Promise.all(results.map((result, i) => (result.ok ? stub.settle(`r${i}`, 60) : undefined)));
    expect(await stub.state()).toMatchObject({ spentTokens: (n - 1) * 60, reservedTokens: 0 });
  });

  it("a settle below the reservation frees capacity; one above it is still charged", async () => {
    const stub = await configured(HARD_TOTAL);
    expect(await stub.admit("a", 800, HARD_TOTAL)).toEqual({ ok: true });
    expect(await stub.admit("b", 300, HARD_TOTAL)).toMatchObject({ ok: false, state: { reservedTokens: 800 } });
    await stub.settle("a", 200);
    expect(await stub.admit("b", 800, HARD_TOTAL)).toEqual({ ok: true });
    await stub.settle("b", 900);
    expect(await stub.state()).toMatchObject({ spentTokens: 1_100, reservedTokens: 0 });
    expect(await stub.admit("c", 0, HARD_TOTAL)).toMatchObject({ ok: false, state: { spentTokens: 1_100 } });
  });

  it("a spent budget refuses even a request that reserves nothing", async () => {
    const stub = await configured({ ...HARD_TOTAL, limitTokens: 0 });
    expect(await stub.admit("get", 0, HARD_TOTAL)).toMatchObject({ ok: false });
  });

  it("a reservation that fits exactly is admitted", async () => {
    const stub = await configured(HARD_TOTAL);
    expect(await stub.admit("a", 1_000, HARD_TOTAL)).toEqual({ ok: true });
    expect(await stub.admit("b", 1, HARD_TOTAL)).toMatchObject({ ok: false });
  });

  it("a second reservation under the same id is an error, not a second admission", async () => {
    const stub = await configured(HARD_TOTAL);
    await stub.admit("a", 10, HARD_TOTAL);
    await expect(answer(stub.admit("a", 10, HARD_TOTAL))).rejects.toThrow(/already exists/);
    expect(await stub.state()).toMatchObject({ reservedTokens: 10 });
  });
});

describe("soft budgets", () => {
  it("admit while anything is left, reserve nothing, and charge what settles, past the limit", async () => {
    const soft: BudgetConfig = { limitTokens: 100, mode: "soft", period: "total", version: 1 };
    const stub = await configured(soft);
    expect(await stub.admit("a", 10_000, soft)).toEqual({ ok: true });
    expect(await stub.state()).toMatchObject({ reservedTokens: 0 });
    await stub.settle("a", 90);
    expect(await stub.admit("b", 10_000, soft)).toEqual({ ok: true });
    await stub.settle("b", 50);
    expect(await stub.admit("c", 1, soft)).toMatchObject({ ok: false, state: { spentTokens: 140, reservedTokens: 0 } });
  });
});

describe("periods", () => {
  it.each(["day", "month"] as const)("a %s budget's spend starts over once its period has passed", async (period) => {
    const stub = await configured({ limitTokens: 1_000, mode: "hard", period, version: 1 });
    await stub.settle("a", 1_000);
    expect(await stub.admit("b", 1, HARD_TOTAL)).toMatchObject({ ok: false });
    const now = Date.now();
    const lastPeriod = periodStart(periodStart(now, period) - 1, period);
    await rewrite(stub, "UPDATE budget SET period_start = ?", lastPeriod);
    expect(await stub.state()).toMatchObject({ spentTokens: 0, resetsAt: iso(resetsAt(now, period)) });
    expect(await stub.admit("b", 1_000, HARD_TOTAL)).toEqual({ ok: true });
  });

  it("a reservation made last period still holds capacity, and its settle is charged to this one", async () => {
    const stub = await configured({ limitTokens: 1_000, mode: "hard", period: "day", version: 1 });
    await stub.admit("a", 700, HARD_TOTAL);
    await stub.settle("x", 200);
    await rewrite(stub, "UPDATE budget SET period_start = ?", periodStart(Date.now(), "day") - 86_400_000);
    expect(await stub.state()).toMatchObject({ spentTokens: 0, reservedTokens: 700 });
    expect(await stub.admit("b", 400, HARD_TOTAL)).toMatchObject({ ok: false });
    await stub.settle("a", 500);
    expect(await stub.state()).toMatchObject({ spentTokens: 500, reservedTokens: 0 });
  });

  it("a total budget never resets", async () => {
    const stub = await configured(HARD_TOTAL);
    await stub.settle("a", 300);
    expect(await stub.state()).toMatchObject({ spentTokens: 300, resetsAt: null });
  });
});

describe("the alarm", () => {
  it("is set for the earliest expiry when a hard budget reserves", async () => {
    const stub = await configured(HARD_TOTAL);
    const before = Date.now();
    await stub.admit("a", 10, HARD_TOTAL);
    const alarm = await runInDurableObject(stub, (_, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThanOrEqual(before + RESERVATION_TTL_MS);
    expect(alarm).toBeLessThanOrEqual(Date.now() + RESERVATION_TTL_MS);
  });

  it("charges an expired reservation in full, and a late settle corrects the charge", async () => {
    const stub = await configured(HARD_TOTAL);
    await stub.admit("died", 600, HARD_TOTAL);
    await stub.admit("alive", 100, HARD_TOTAL);
    await rewrite(stub, "UPDATE reservations SET expires_at = ? WHERE reservation_id = 'died'", Date.now() - 1);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.state()).toMatchObject({ spentTokens: 600, reservedTokens: 100 });
    // Re-armed for the reservation still pending.
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now());

    await stub.settle("died", 250);
    expect(await stub.state()).toMatchObject({ spentTokens: 250, reservedTokens: 100 });
    // The correction happens once: the row is gone, so a repeated settle is a new charge.
    await stub.settle("alive", 100);
    expect(await stub.state()).toMatchObject({ spentTokens: 350, reservedTokens: 0 });
  });

  it("a late settle after the period changed charges only what the request used beyond the full charge", async () => {
    const stub = await configured({ limitTokens: 1_000, mode: "hard", period: "day", version: 1 });
    await stub.admit("small", 300, HARD_TOTAL);
    await stub.admit("large", 300, HARD_TOTAL);
    await rewrite(stub, "UPDATE reservations SET expires_at = ?", Date.now() - 1);
    await runDurableObjectAlarm(stub);
    expect(await stub.state()).toMatchObject({ spentTokens: 600, reservedTokens: 0 });
    await rewrite(stub, "UPDATE budget SET period_start = period_start - 86400000");
    await rewrite(stub, "UPDATE reservations SET charged_period_start = charged_period_start - 86400000");
    await stub.settle("small", 100);
    expect(await stub.state()).toMatchObject({ spentTokens: 0 });
    await stub.settle("large", 450);
    expect(await stub.state()).toMatchObject({ spentTokens: 150 });
  });

  it("forgets charged reservations after a day", async () => {
    const stub = await configured(HARD_TOTAL);
    await stub.admit("a", 100, HARD_TOTAL);
    await rewrite(stub, "UPDATE reservations SET expires_at = ?", Date.now() - CHARGED_KEPT_MS - 1);
    await runDurableObjectAlarm(stub);
    const rows = await runInDurableObject(stub, (_, state) => state.storage.sql.exec("SELECT * FROM reservations").toArray());
    expect(rows).toEqual([]);
    expect(await stub.state()).toMatchObject({ spentTokens: 100 });
    expect(await runDurableObjectAlarm(stub)).toBe(false);
  });
});

describe("nonsense numbers throw (the caller fails closed)", () => {
  const bad = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1, "10", null];

  it.each(bad)("limitTokens %s", async (limit) => {
    const config = { limitTokens: limit, mode: "hard", period: "day", version: 1 } as unknown as BudgetConfig;
    await expect(answer(newBudget().configure(config))).rejects.toThrow(/limitTokens/);
    await expect(answer(newBudget().admit("a", 1, config))).rejects.toThrow(/limitTokens/);
  });

  it.each(bad)("tokens %s", async (tokens) => {
    const stub = await configured(HARD_TOTAL);
    await expect(answer(stub.admit("a", tokens as number, HARD_TOTAL))).rejects.toThrow(/tokens/);
    await expect(answer(stub.settle("a", tokens as number))).rejects.toThrow(/tokens/);
    expect(await stub.state()).toMatchObject({ spentTokens: 0, reservedTokens: 0 });
  });

  it("mode, period and reservation id", async () => {
    const stub = newBudget();
    await expect(answer(stub.configure({ ...HARD_TOTAL, mode: "strict" } as unknown as BudgetConfig))).rejects.toThrow(/mode/);
    await expect(answer(stub.configure({ ...HARD_TOTAL, period: "week" } as unknown as BudgetConfig))).rejects.toThrow(/period/);
    await expect(answer(stub.admit("", 1, HARD_TOTAL))).rejects.toThrow(/reservation id/);
    expect(await stub.state()).toMatchObject({ configured: false });
  });
});
