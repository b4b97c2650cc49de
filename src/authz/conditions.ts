/**
 * A key's `conditions` (contract, "Conditions"): validated and canonicalised when an admin writes them,
 * compiled into sets and byte blocks when a record is loaded, and only evaluated per request (decide.ts).
 *
 * Choices where the contract is silent:
 * - `null` for the whole object, or for one field, means "absent" (JSON clients and Terraform send nulls).
 * - An empty allow-list (`ip_allow`, `countries`, `asns`, `user_agents`) is rejected: it would silently deny every
 *   request, which is never what `[]` was meant to say. Omit the field for "no restriction".
 *   An empty `ip_deny` denies nothing, exactly like an absent one, so it is accepted and stored as absent.
 * - Duplicates (after canonicalisation: `1.2.3.4` and `1.2.3.4/32` are one entry) are dropped; order is kept.
 * - Countries are checked for shape (two ASCII letters), not against the current ISO list, which changes and
 *   which Cloudflare extends (`XK`); they are stored upper-case.
 */
import { canonicalCidr, compileCidr } from "./cidr";
import { validateGlob } from "./glob";
import type { CompiledConditions, Conditions } from "./types";

export const MAX_LIST_ENTRIES = 256;
const MAX_ASN = 4294967295; // ASNs are 32-bit (RFC 6793)

export type ConditionsResult = { ok: true; value: Conditions } | { ok: false; param: string; message: string };
type Failure = { ok: false; param: string; message: string };
type Field<T> = { ok: true; value: T | undefined } | Failure;

const FIELDS = ["ip_allow", "ip_deny", "countries", "asns", "user_agents", "not_before", "not_after"] as const;
type FieldName = (typeof FIELDS)[number];

export function canonicalConditions(input: unknown): ConditionsResult {
  if (input === null || input === undefined) return { ok: true, value: {} };
  if (typeof input !== "object" || Array.isArray(input)) {
    return fail("conditions", "must be an object");
  }
  const raw = input as Record<string, unknown>;
  for (const name of Object.keys(raw)) {
    if (!(FIELDS as readonly string[]).includes(name)) {
      return fail(`conditions.${name.slice(0, 64)}`, `is not a known condition (known: ${FIELDS.join(", ")})`);
    }
  }

  const ipAllow = list(raw, "ip_allow", true, canonicalCidrItem);
  if (!ipAllow.ok) return ipAllow;
  const ipDeny = list(raw, "ip_deny", false, canonicalCidrItem);
  if (!ipDeny.ok) return ipDeny;
  const countries = list(raw, "countries", true, canonicalCountry);
  if (!countries.ok) return countries;
  const asns = list(raw, "asns", true, canonicalAsn);
  if (!asns.ok) return asns;
  const userAgents = list(raw, "user_agents", true, canonicalGlob);
  if (!userAgents.ok) return userAgents;
  const notBefore = instant(raw, "not_before");
  if (!notBefore.ok) return notBefore;
  const notAfter = instant(raw, "not_after");
  if (!notAfter.ok) return notAfter;
  if (notBefore.value !== undefined && notAfter.value !== undefined && notBefore.value >= notAfter.value) {
    return fail("conditions.not_after", "must be later than not_before");
  }

  // Fixed key order, absent fields left out: the stored JSON reads the same however it was written.
  const value: Conditions = {};
  if (ipAllow.value) value.ip_allow = ipAllow.value;
  if (ipDeny.value) value.ip_deny = ipDeny.value;
  if (countries.value) value.countries = countries.value;
  if (asns.value) value.asns = asns.value;
  if (userAgents.value) value.user_agents = userAgents.value;
  if (notBefore.value !== undefined) value.not_before = new Date(notBefore.value).toISOString();
  if (notAfter.value !== undefined) value.not_after = new Date(notAfter.value).toISOString();
  return { ok: true, value };
}

/** Stored conditions → what the hot path evaluates. Throws on a corrupt stored CIDR (see compileCidr). */
export function compileConditions(c: Conditions): CompiledConditions {
  return {
    ipAllow: c.ip_allow ? c.ip_allow.map(compileCidr) : null,
    ipDeny: c.ip_deny ? c.ip_deny.map(compileCidr) : null,
    countries: c.countries ? new Set(c.countries) : null,
    asns: c.asns ? new Set(c.asns) : null,
    userAgents: c.user_agents ? [...c.user_agents] : null,
    notBefore: c.not_before === undefined ? null : storedInstant(c.not_before),
    notAfter: c.not_after === undefined ? null : storedInstant(c.not_after),
  };
}

/** NaN would compare false both ways and let every request through the window: a corrupt row must throw. */
function storedInstant(iso: string): number {
  const millis = Date.parse(iso);
  if (Number.isNaN(millis)) throw new Error("stored condition time is not a date");
  return millis;
}

/**
 * Strict RFC 3339 `date-time` (§5.6) to epoch milliseconds, or null. `Date.parse` alone is too lenient: V8 reads
 * `2024-02-30` as March 1st and accepts many non-RFC shapes. Fractions beyond milliseconds are truncated; leap
 * seconds (`:60`) are rejected, as JavaScript time cannot represent them.
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

/** One list field: absent/null → undefined; otherwise every item canonicalised (a string result is an error). */
function list<T>(
  raw: Record<string, unknown>,
  name: FieldName,
  isAllowList: boolean,
  canonical: (item: unknown) => { value: T } | string,
): Field<T[]> {
  const value = raw[name];
  if (value === undefined || value === null) return { ok: true, value: undefined };
  const param = `conditions.${name}`;
  if (!Array.isArray(value)) return fail(param, "must be an array");
  if (value.length > MAX_LIST_ENTRIES) return fail(param, `must have at most ${MAX_LIST_ENTRIES} entries`);
  if (value.length === 0) {
    if (!isAllowList) return { ok: true, value: undefined };
    return fail(param, "must not be empty (an empty list would deny every request; omit it for no restriction)");
  }
  const seen = new Set<T>();
  for (const [i, item] of value.entries()) {
    const result = canonical(item);
    if (typeof result === "string") return fail(`${param}[${i}]`, result);
    seen.add(result.value);
  }
  return { ok: true, value: [...seen] };
}

function instant(raw: Record<string, unknown>, name: FieldName): Field<number> {
  const value = raw[name];
  if (value === undefined || value === null) return { ok: true, value: undefined };
  const millis = typeof value === "string" ? parseRfc3339(value) : null;
  if (millis === null) return fail(`conditions.${name}`, "must be an RFC 3339 date-time, e.g. 2025-01-31T00:00:00Z");
  return { ok: true, value: millis };
}

function canonicalCidrItem(item: unknown): { value: string } | string {
  if (typeof item !== "string") return "must be a string";
  const cidr = canonicalCidr(item);
  if (cidr === null) return "must be an IPv4 or IPv6 address or CIDR (e.g. 203.0.113.0/24, 2001:db8::/32)";
  return { value: cidr };
}

function canonicalCountry(item: unknown): { value: string } | string {
  if (typeof item !== "string" || !/^[A-Za-z]{2}$/.test(item)) return "must be an ISO 3166-1 alpha-2 code";
  return { value: item.toUpperCase() };
}

function canonicalAsn(item: unknown): { value: number } | string {
  if (typeof item !== "number" || !Number.isInteger(item) || item < 1 || item > MAX_ASN) {
    return `must be an integer from 1 to ${MAX_ASN}`;
  }
  return { value: item };
}

function canonicalGlob(item: unknown): { value: string } | string {
  if (typeof item !== "string") return "must be a string";
  return validateGlob(item) ?? { value: item };
}

/** `message` is a predicate on `param` ("must be …"), without a final period, for the caller to phrase. */
function fail(param: string, message: string): Failure {
  return { ok: false, param, message };
}
