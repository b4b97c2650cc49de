/**
 * Times. On the wire and in D1 they are RFC 3339 UTC strings with milliseconds (`2026-12-31T23:59:59.000Z`); in
 * memory, epoch milliseconds. Every instant a client sends goes through parseTimestamp, so the one rule about what
 * is accepted lives here.
 */

/**
 * The latest instant accepted anywhere (expiries, condition windows). Later instants have five-digit years in UTC
 * (`+010000-…`), which no longer sort as text against four-digit ones, so D1's string comparisons and ours would
 * disagree.
 */
export const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function isoNow(now = Date.now()): string {
  return new Date(now).toISOString();
}

export const DAY_MS = 86_400_000;

/** The UTC day of an instant, `YYYY-MM-DD` (how usage is dated). */
export function utcDate(millis: number): string {
  return isoNow(millis).slice(0, 10);
}

/**
 * A stored time as epoch ms. Throws on one that does not parse: NaN compares false both ways, so an unreadable
 * `expires_at` would never expire — a corrupt row must fail closed (the store turns this into a 503).
 */
export function toMillis(iso: string | null): number | null {
  if (iso === null) return null;
  const millis = Date.parse(iso);
  if (Number.isNaN(millis)) throw new Error("a stored time is not a date");
  return millis;
}

export type Timestamp = { ok: true; millis: number } | { ok: false; message: string };

export const NOT_RFC3339 = "must be an RFC 3339 date-time such as 2026-12-31T23:59:59Z";

/** A client's date-time: RFC 3339 with an explicit offset, at most MAX_TIME_MS once in UTC. */
export function parseTimestamp(text: string): Timestamp {
  const millis = parseRfc3339(text);
  if (millis === null) return { ok: false, message: NOT_RFC3339 };
  if (millis > MAX_TIME_MS) return { ok: false, message: "must be in UTC year 9999 or earlier" };
  return { ok: true, millis };
}

/**
 * RFC 3339 §5.6 `date-time` → epoch ms, or null. Strict: a `T` (either case), seconds required, an explicit offset
 * (`Z` or ±hh:mm), real calendar dates. Leap seconds (`:60`) are refused: JavaScript time has none. Fractions beyond
 * milliseconds are truncated.
 */
export function parseRfc3339(text: string): number | null {
  const m = RFC3339.exec(text);
  if (m === null) return null;
  const [, year, month, day, hour, minute, second, fraction, zone] = m;
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return null;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return null;
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (zone[0] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const millis = Number(((fraction ?? "") + "000").slice(0, 3));
  const utc = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0–99 to 1900–1999.
  utc.setUTCFullYear(y, mo - 1, d);
  utc.setUTCHours(Number(hour), Number(minute), Number(second), millis);
  return utc.getTime() - offsetMinutes * 60_000;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return [31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return leap ? 29 : 28;
}

