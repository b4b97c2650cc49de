/**
 * Budget periods. A "day" budget resets at 00:00 UTC, a "month" budget at 00:00 UTC on the 1st, a "total" budget
 * never. UTC rather than a project's local time: the boundary is the same for every caller and every Cloudflare
 * location, and needs no time zone data in the Worker. Pure: the clock is passed in.
 */
export type BudgetPeriod = "day" | "month" | "total";

export const BUDGET_PERIODS: readonly BudgetPeriod[] = ["day", "month", "total"];

/** The instant (epoch ms) the period containing `now` began; 0 for "total", which has one period since the epoch. */
export function periodStart(now: number, period: BudgetPeriod): number {
  const at = new Date(now);
  switch (period) {
    case "day":
      return Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
    case "month":
      return Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1);
    case "total":
      return 0;
  }
}

/**
 * The instant (epoch ms) the period containing `now` ends and the next begins, or null for "total". Date.UTC carries
 * overflowing days and months over (Jan 32 → Feb 1, month 12 → January of the next year), so month lengths and leap
 * years need no table here.
 */
export function resetsAt(now: number, period: BudgetPeriod): number | null {
  const at = new Date(now);
  switch (period) {
    case "day":
      return Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1);
    case "month":
      return Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1);
    case "total":
      return null;
  }
}
