/** Budget periods: UTC days and months, pure (src/budgets/period.ts). */
import { describe, expect, it } from "vitest";
import { periodStart, resetsAt } from "../../src/budgets/period";

const at = (iso: string) => Date.parse(iso);
const iso = (millis: number | null) => (millis === null ? null : new Date(millis).toISOString());

describe("day", () => {
  it.each([
    ["2026-03-15T13:45:12.345Z", "2026-03-15T00:00:00.000Z", "2026-03-16T00:00:00.000Z"],
    // Exactly at the boundary: the instant belongs to the period it starts.
    ["2026-03-16T00:00:00.000Z", "2026-03-16T00:00:00.000Z", "2026-03-17T00:00:00.000Z"],
    ["2026-03-15T23:59:59.999Z", "2026-03-15T00:00:00.000Z", "2026-03-16T00:00:00.000Z"],
    ["2026-01-31T12:00:00.000Z", "2026-01-31T00:00:00.000Z", "2026-02-01T00:00:00.000Z"],
    ["2026-12-31T23:00:00.000Z", "2026-12-31T00:00:00.000Z", "2027-01-01T00:00:00.000Z"],
    ["2028-02-28T10:00:00.000Z", "2028-02-28T00:00:00.000Z", "2028-02-29T00:00:00.000Z"],
    ["2028-02-29T10:00:00.000Z", "2028-02-29T00:00:00.000Z", "2028-03-01T00:00:00.000Z"],
    ["2027-02-28T10:00:00.000Z", "2027-02-28T00:00:00.000Z", "2027-03-01T00:00:00.000Z"],
  ])("%s is in [%s, %s)", (now, start, end) => {
    expect(iso(periodStart(at(now), "day"))).toBe(start);
    expect(iso(resetsAt(at(now), "day"))).toBe(end);
  });
});

describe("month", () => {
  it.each([
    ["2026-03-15T13:45:12.345Z", "2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z"],
    ["2026-03-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z"],
    ["2026-03-31T23:59:59.999Z", "2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z"],
    ["2026-01-31T12:00:00.000Z", "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"],
    ["2026-04-30T12:00:00.000Z", "2026-04-01T00:00:00.000Z", "2026-05-01T00:00:00.000Z"],
    ["2026-12-03T08:00:00.000Z", "2026-12-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"],
    ["2026-12-31T23:59:59.999Z", "2026-12-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"],
    ["2027-01-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z", "2027-02-01T00:00:00.000Z"],
    ["2028-02-29T23:59:59.999Z", "2028-02-01T00:00:00.000Z", "2028-03-01T00:00:00.000Z"],
    ["2100-02-28T12:00:00.000Z", "2100-02-01T00:00:00.000Z", "2100-03-01T00:00:00.000Z"],
  ])("%s is in [%s, %s)", (now, start, end) => {
    expect(iso(periodStart(at(now), "month"))).toBe(start);
    expect(iso(resetsAt(at(now), "month"))).toBe(end);
  });
});

describe("total", () => {
  it("has one period that never resets", () => {
    for (const now of [0, at("2026-12-31T23:59:59.999Z"), at("9999-12-31T23:59:59.999Z")]) {
      expect(periodStart(now, "total")).toBe(0);
      expect(resetsAt(now, "total")).toBeNull();
    }
  });
});

it("every instant of a period maps to the same start, and the end is the next period's start", () => {
  for (const period of ["day", "month"] as const) {
    for (let now = at("2027-12-25T00:00:00.000Z"); now < at("2028-03-05T00:00:00.000Z"); now += 7 * 3_600_000 + 1) {
      const start = periodStart(now, period);
      const end = resetsAt(now, period)!;
      expect(start).toBeLessThanOrEqual(now);
      expect(now).toBeLessThan(end);
      expect(periodStart(end - 1, period)).toBe(start);
      expect(periodStart(end, period)).toBe(end);
    }
  }
});
