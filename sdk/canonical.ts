/**
 * The forms the API stores values in, rebuilt on the client so a desired value can be compared with what the API reads
 * back without a write (sdk/drift.ts). Each mirrors a normalisation the Worker does on write (docs/api.md,
 * "Conditions"); where the SDK cannot know the API's form, it keeps the value as given, which at worst shows as drift and
 * is written again (never the reverse: a real difference is never hidden).
 */
import type * as api from "./openapi.ts";

/** Two values are the same when their canonical JSON is (the canonical forms below fix key order and list order). */
export const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** A list whose order has no meaning (scopes, allow-lists, a rule's deployments): deduplicated and sorted. */
export const asSet = <T extends string | number>(items: readonly T[]): T[] =>
  [...new Set(items)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** An instant as milliseconds, so `2026-01-01T00:00:00Z` and `2026-01-01T01:00:00+01:00` are one; null stays null. */
export function instant(value: string | null | undefined): number | string | null {
  if (value === null || value === undefined) return null;
  const millis = Date.parse(value);
  return Number.isNaN(millis) ? value : millis;
}

/**
 * Conditions as the API stores them: absent, null, `{}` and an object of all-null members are all "no condition";
 * an empty `ip_deny` is absent; CIDRs in their one spelling; countries upper-case; instants as instants; every list a set
 * (an allow-list or a deny-list means the same in any order).
 */
export function canonicalConditions(conditions: api.Conditions | null | undefined): Record<string, unknown> {
  const c = conditions ?? {};
  const out: Record<string, unknown> = {};
  const list = <T extends string | number>(name: string, items: readonly T[] | null | undefined) => {
    if (items && items.length > 0) out[name] = asSet(items);
  };
  list("ip_allow", c.ip_allow?.map(canonicalCidr));
  list("ip_deny", c.ip_deny?.map(canonicalCidr));
  list("countries", c.countries?.map((country) => country.toUpperCase()));
  list("asns", c.asns);
  list("user_agents", c.user_agents);
  if (c.not_before) out.not_before = instant(c.not_before);
  if (c.not_after) out.not_after = instant(c.not_after);
  list("endpoints", c.endpoints);
  return out;
}

/** An origin URL as the API stores it: parsed and serialised, without a trailing slash. */
export function canonicalUrl(url: string): string {
  try {
    return new URL(url).href.replace(/\/+$/, "");
  } catch {
    return url;
  }
}

/** A certificate fingerprint as stored: lower-case hex without colons. */
export const canonicalFingerprint = (fingerprint: string): string => fingerprint.replaceAll(":", "").toLowerCase();

/**
 * A CIDR (or bare address) in the API's one spelling: `203.0.113.7/24` → `203.0.113.0/24`, `2001:DB8::1` →
 * `2001:db8::1/128`, `::ffff:1.2.3.4` → `1.2.3.4/32`. Anything it cannot read is returned as given (the API refuses it).
 */
export function canonicalCidr(input: string): string {
  const [address = "", prefixText, extra] = input.split("/");
  if (extra !== undefined) return input;
  let bytes = address.includes(":") ? ipv6Bytes(address) : ipv4Bytes(address);
  if (bytes === null) return input;
  let prefix = prefixText === undefined ? bytes.length * 8 : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bytes.length * 8) return input;
  const mapped = bytes.length === 16 && bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped && prefix >= 96) {
    bytes = bytes.slice(12);
    prefix -= 96;
  }
  bytes = bytes.map((byte, i) => byte & ((0xff << (8 - Math.min(8, Math.max(0, prefix - i * 8)))) & 0xff));
  return `${bytes.length === 4 ? bytes.join(".") : formatIpv6(bytes)}/${prefix}`;
}

function ipv4Bytes(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) < 256)) return null;
  return parts.map(Number);
}

/** The WHATWG URL parser reads IPv6 literals (RFC 4291 forms, embedded IPv4 too) and writes them compressed, hex only. */
function ipv6Bytes(text: string): number[] | null {
  let host: string;
  try {
    host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
  const [head = "", tail] = host.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right].map((g) => parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function formatIpv6(bytes: number[]): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  return new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1);
}
