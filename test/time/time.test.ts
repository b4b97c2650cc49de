/** Client date-times: one parser, one cap (src/time.ts), used by expiries and condition windows alike. */
import { describe, expect, it } from "vitest";
import { MAX_TIME_MS, parseRfc3339, parseTimestamp } from "../../src/time";

describe("parseRfc3339", () => {
  it.each([
    ["2025-01-01T00:00:00Z", Date.UTC(2025, 0, 1)],
    ["2025-01-01t00:00:00z", Date.UTC(2025, 0, 1)],
    ["2025-01-01T02:30:00+02:30", Date.UTC(2025, 0, 1)],
    ["2024-12-31T23:00:00-01:00", Date.UTC(2025, 0, 1)],
    ["2025-01-01T00:00:00.5Z", Date.UTC(2025, 0, 1, 0, 0, 0, 500)],
    ["2025-01-01T00:00:00.123456789Z", Date.UTC(2025, 0, 1, 0, 0, 0, 123)],
    ["2024-02-29T00:00:00Z", Date.UTC(2024, 1, 29)],
    ["2000-02-29T00:00:00Z", Date.UTC(2000, 1, 29)],
    ["0050-06-01T00:00:00Z", Date.parse("0050-06-01T00:00:00.000Z")],
  ])("%s", (text, expected) => {
    expect(parseRfc3339(text)).toBe(expected);
  });

  it.each([
    ["2025-02-29T00:00:00Z"],
    ["1900-02-29T00:00:00Z"],
    ["2025-04-31T00:00:00Z"],
    ["2025-13-01T00:00:00Z"],
    ["2025-00-01T00:00:00Z"],
    ["2025-01-00T00:00:00Z"],
    ["2025-01-01T24:00:00Z"],
    ["2025-01-01T00:60:00Z"],
    ["2016-12-31T23:59:60Z"],
    ["2025-01-01T00:00:00+24:00"],
    ["2025-01-01 00:00:00Z"],
    ["2025-01-01T00:00Z"],
    ["2025-01-01T00:00:00.Z"],
    ["+2025-01-01T00:00:00Z"],
    ["Wed, 01 Jan 2025 00:00:00 GMT"],
    [""],
  ])("rejects %s", (text) => {
    expect(parseRfc3339(text)).toBeNull();
  });
});

describe("parseTimestamp", () => {
  it("accepts the last millisecond of year 9999 in UTC, however it is written", () => {
    expect(parseTimestamp("9999-12-31T23:59:59.999Z")).toEqual({ ok: true, millis: MAX_TIME_MS });
    expect(parseTimestamp("9999-12-31T23:59:59.999+01:00")).toEqual({ ok: true, millis: MAX_TIME_MS - 3_600_000 });
  });

  it("refuses an instant that is in year 10000 once in UTC (it would be stored as +010000-…)", () => {
    expect(parseTimestamp("9999-12-31T23:59:59-01:00")).toEqual({ ok: false, message: "must be in UTC year 9999 or earlier" });
  });

  it("refuses what is not RFC 3339, saying what is expected", () => {
    expect(parseTimestamp("2026-12-31")).toMatchObject({ ok: false, message: expect.stringMatching(/^must be an RFC 3339/) });
  });
});
