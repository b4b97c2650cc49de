/**
 * IP networks: parsed and canonicalised when an admin saves them, only compared byte by byte per request.
 *
 * One rule runs through this file (contract, "Conditions"): an IPv4-mapped IPv6 address `::ffff:a.b.c.d`
 * (RFC 4291 §2.5.5.2) *is* the IPv4 address a.b.c.d. Client addresses are unmapped when read, and CIDRs inside
 * `::ffff:0:0/96` are stored in their IPv4 form, so an IPv4 block matches a client however it was written.
 * A consequence worth knowing: an IPv6 block never matches a mapped client, even `::/0`.
 */
import ipaddr from "ipaddr.js";
import type { CidrBlock } from "./types";

/** Longest textual address we accept: `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255` (45 characters). */
const MAX_ADDRESS_LENGTH = 45;
/** A prefix length in decimal without leading zeros (RFC 4632 §3.1 writes `/24`, never `/024`). */
const PREFIX_DIGITS = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * The client address from `CF-Connecting-IP`, as 4 bytes (IPv4, including IPv4-mapped IPv6) or 16 bytes (IPv6).
 * A zone id (`fe80::1%eth0`, RFC 4007 §11) names a local interface and says nothing about the network, so it is
 * dropped. Anything else that is not a plain address is null, which the decision treats as a denial.
 */
export function parseClientIp(raw: string | null): Uint8Array | null {
  if (raw === null) return null;
  let text = raw;
  const zone = text.indexOf("%");
  if (zone !== -1) {
    // Zone ids exist only on IPv6 addresses, and an empty one is malformed.
    if (zone === text.length - 1 || !text.slice(0, zone).includes(":")) return null;
    text = text.slice(0, zone);
  }
  const bytes = parseIpLiteral(text);
  if (bytes === null) return null;
  return isIpv4Mapped(bytes) ? bytes.slice(12) : bytes;
}

/** True when the address lies inside the block. An IPv4 address never lies inside an IPv6 block, nor the reverse. */
export function cidrContains(block: CidrBlock, address: Uint8Array): boolean {
  const network = block.bytes;
  if (network.length !== address.length) return false;
  const fullBytes = block.prefix >>> 3;
  for (let i = 0; i < fullBytes; i++) {
    if (network[i] !== address[i]) return false;
  }
  const restBits = block.prefix & 7;
  if (restBits === 0) return true;
  const mask = (0xff << (8 - restBits)) & 0xff;
  return ((network[fullBytes]! ^ address[fullBytes]!) & mask) === 0;
}

/**
 * Write-time: a CIDR (or bare address) in its one stored spelling, or null when it is not one.
 *   "203.0.113.7/24" → "203.0.113.0/24"   host bits zeroed (RFC 4632 §3.1: the prefix names the network)
 *   "2001:DB8::1"    → "2001:db8::1/128"  bare address is a single host; IPv6 text per RFC 5952
 *   "::ffff:1.2.3.4" → "1.2.3.4/32"       mapped addresses become IPv4 (RFC 4291 §2.5.5.2)
 * Rejected: zone ids, prefixes out of range or with leading zeros, legacy IPv4 spellings (`1.2.3`, `0x7f.1`,
 * octal `010.0.0.1`), and the deprecated IPv4-compatible form `::1.2.3.4` (RFC 4291 §2.5.5.1), which ipaddr.js
 * would silently read as a mapped address.
 */
export function canonicalCidr(input: string): string | null {
  if (input.length > MAX_ADDRESS_LENGTH + 4) return null;
  const slash = input.indexOf("/");
  const addressText = slash === -1 ? input : input.slice(0, slash);
  const prefixText = slash === -1 ? null : input.slice(slash + 1);
  if (addressText.includes("%")) return null;
  if (prefixText !== null && !PREFIX_DIGITS.test(prefixText)) return null;

  // Two independent readings must agree: ipaddr.js validates, and our own hot-path parser must read the same
  // bytes, so what is stored is exactly what parseClientIp and cidrContains will compare against.
  let bytes = parseIpLiteral(addressText);
  if (bytes === null || !ipaddr.isValid(addressText)) return null;
  if (!sameBytes(bytes, ipaddr.parse(addressText).toByteArray())) return null;

  const maxPrefix = bytes.length * 8;
  let prefix = prefixText === null ? maxPrefix : Number(prefixText);
  if (prefix > maxPrefix) return null;
  if (prefix >= 96 && isIpv4Mapped(bytes)) {
    bytes = bytes.slice(12);
    prefix -= 96;
  }
  zeroHostBits(bytes, prefix);
  return `${formatAddress(bytes)}/${prefix}`;
}

/**
 * A stored (canonical) CIDR as bytes and prefix. Throws on anything else: a row that fails here is corrupt, and
 * a block that silently matched nothing would turn an `ip_deny` into an allow — better a 500 than fail open.
 */
export function compileCidr(canonical: string): CidrBlock {
  const slash = canonical.indexOf("/");
  const bytes = slash === -1 ? null : parseIpLiteral(canonical.slice(0, slash));
  const prefixText = slash === -1 ? "" : canonical.slice(slash + 1);
  if (bytes === null || !PREFIX_DIGITS.test(prefixText) || Number(prefixText) > bytes.length * 8) {
    throw new Error("stored CIDR is not canonical");
  }
  return { bytes, prefix: Number(prefixText) };
}

/** RFC 4291 §2.5.5.2: `0:0:0:0:0:ffff::/96`, i.e. 80 zero bits, 16 one bits, then the IPv4 address. */
function isIpv4Mapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

function zeroHostBits(bytes: Uint8Array, prefix: number): void {
  for (let i = 0; i < bytes.length; i++) {
    const kept = Math.min(8, Math.max(0, prefix - i * 8));
    bytes[i] = bytes[i]! & ((0xff << (8 - kept)) & 0xff);
  }
}

function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  return new ipaddr.IPv6(Array.from(bytes)).toRFC5952String();
}

function sameBytes(a: Uint8Array, b: number[]): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * A plain IPv4 (dotted decimal) or IPv6 (RFC 4291 §2.2) address as its raw 4 or 16 bytes, without unmapping.
 * Hand-written rather than a regex so the hot path does one pass over at most 45 characters.
 */
function parseIpLiteral(text: string): Uint8Array | null {
  if (text.length === 0 || text.length > MAX_ADDRESS_LENGTH) return null;
  if (!text.includes(":")) {
    const bytes = new Uint8Array(4);
    return parseDottedQuad(text, bytes, 0) ? bytes : null;
  }
  return parseIpv6(text);
}

/**
 * Dotted decimal only: four parts 0–255, no leading zeros (`010` is octal to some parsers, decimal to others;
 * inet_pton rejects it, and so do we). Writes into `out` at `offset`.
 */
function parseDottedQuad(text: string, out: Uint8Array, offset: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; // a virtual "." ends the last part
    if (c === 46) {
      if (digits === 0 || part === 4) return false;
      out[offset + part] = value;
      part++;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return false; // leading zero
      value = value * 10 + (c - 48);
      digits++;
      if (value > 255) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

/**
 * RFC 4291 §2.2: eight groups of 1–4 hex digits; one `::` may stand for one or more zero groups; the last two
 * groups may be written as a dotted IPv4 address (form 3, as in `::ffff:203.0.113.5`).
 */
function parseIpv6(text: string): Uint8Array | null {
  const gap = text.indexOf("::");
  if (gap !== -1 && text.indexOf("::", gap + 1) !== -1) return null; // at most one "::" (and no ":::")
  const head = gap === -1 ? text : text.slice(0, gap);
  const tail = gap === -1 ? "" : text.slice(gap + 2);

  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === "" ? [] : tail.split(":");
  const groups = gap === -1 ? headGroups : tailGroups;

  // A trailing dotted quad fills the last two groups.
  const bytes = new Uint8Array(16);
  const last = groups[groups.length - 1];
  const hasDottedTail = last !== undefined && last.includes(".");
  if (hasDottedTail) {
    if (!parseDottedQuad(last, bytes, 12)) return null;
    groups.pop();
  }
  const hexGroupsAvailable = hasDottedTail ? 6 : 8;
  const written = headGroups.length + tailGroups.length;
  if (gap === -1 ? written !== hexGroupsAvailable : written >= hexGroupsAvailable) return null;

  for (let i = 0; i < headGroups.length; i++) {
    if (!writeHexGroup(headGroups[i]!, bytes, i * 2)) return null;
  }
  if (gap !== -1) {
    // The dotted quad, if any, was already taken off the tail: what is left sits just before it.
    const start = hexGroupsAvailable - tailGroups.length;
    for (let i = 0; i < tailGroups.length; i++) {
      if (!writeHexGroup(tailGroups[i]!, bytes, (start + i) * 2)) return null;
    }
  }
  return bytes;
}

function writeHexGroup(group: string, out: Uint8Array, offset: number): boolean {
  if (group.length === 0 || group.length > 4) return false;
  let value = 0;
  for (let i = 0; i < group.length; i++) {
    const digit = hexValue(group.charCodeAt(i));
    if (digit < 0) return false;
    value = (value << 4) | digit;
  }
  out[offset] = value >>> 8;
  out[offset + 1] = value & 0xff;
  return true;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}
