import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";
import { canonicalCidr, cidrContains, compileCidr, parseClientIp } from "../../src/authz/cidr";

const bytes = (...values: number[]) => new Uint8Array(values);
const v6 = (...groups: number[]) => new Uint8Array(groups.flatMap((g) => [g >> 8, g & 0xff]));

describe("parseClientIp", () => {
  it.each([
    ["203.0.113.5", bytes(203, 0, 113, 5)],
    ["0.0.0.0", bytes(0, 0, 0, 0)],
    ["255.255.255.255", bytes(255, 255, 255, 255)],
    ["2001:db8::1", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ["2001:DB8::1", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ["2001:db8:0:0:0:0:0:1", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ["2001:db8:1:2:3:4:5::", v6(0x2001, 0xdb8, 1, 2, 3, 4, 5, 0)],
    ["::2001:db8:1:2:3:4:5", v6(0, 0x2001, 0xdb8, 1, 2, 3, 4, 5)],
    ["::", v6(0, 0, 0, 0, 0, 0, 0, 0)],
    ["::1", v6(0, 0, 0, 0, 0, 0, 0, 1)],
    ["fe80::1%eth0", v6(0xfe80, 0, 0, 0, 0, 0, 0, 1)],
    ["fe80::1%25", v6(0xfe80, 0, 0, 0, 0, 0, 0, 1)],
    // RFC 4291 §2.5.5.2: IPv4-mapped, dotted and hex, compressed and expanded, all count as the IPv4 address.
    ["::ffff:203.0.113.5", bytes(203, 0, 113, 5)],
    ["::FFFF:203.0.113.5", bytes(203, 0, 113, 5)],
    ["::ffff:cb00:7105", bytes(203, 0, 113, 5)],
    ["0:0:0:0:0:ffff:cb00:7105", bytes(203, 0, 113, 5)],
    ["0000:0000:0000:0000:0000:ffff:203.0.113.5", bytes(203, 0, 113, 5)],
    ["::ffff:0.0.0.0", bytes(0, 0, 0, 0)],
    // Not mapped: deprecated IPv4-compatible (RFC 4291 §2.5.5.1) and NAT64 (RFC 6052) stay IPv6.
    ["::203.0.113.5", v6(0, 0, 0, 0, 0, 0, 0xcb00, 0x7105)],
    ["64:ff9b::203.0.113.5", v6(0x64, 0xff9b, 0, 0, 0, 0, 0xcb00, 0x7105)],
    ["::fffe:cb00:7105", v6(0, 0, 0, 0, 0, 0xfffe, 0xcb00, 0x7105)],
  ])("%s", (raw, expected) => {
    expect(parseClientIp(raw)).toEqual(expected);
  });

  it.each([
    [null],
    [""],
    [" 203.0.113.5"],
    ["203.0.113.5 "],
    ["203.0.113"],
    ["203.0.113.5.6"],
    ["203.0.113.256"],
    ["203.0.113.05"],
    ["0x7f.0.0.1"],
    ["127.1"],
    ["2130706433"],
    ["1.2.3.4%eth0"],
    ["fe80::1%"],
    ["1::2::3"],
    [":::1"],
    ["1:2:3:4:5:6:7:8:9"],
    ["1:2:3:4:5:6:7"],
    ["1:2:3:4:5:6:7:8::"],
    ["::1:2:3:4:5:6:7:8"],
    [":1:2:3:4:5:6:7:8"],
    ["1:2:3:4:5:6:7:8:"],
    ["12345::1"],
    ["g::1"],
    ["::ffff:1.2.3"],
    ["::ffff:1.2.3.4:5"],
    ["1.2.3.4::"],
    ["1:2:3:4:5:6:7:1.2.3.4"],
    ["unknown"],
    ["[::1]"],
  ])("rejects %s", (raw) => {
    expect(parseClientIp(raw)).toBeNull();
  });
});

describe("canonicalCidr", () => {
  it.each([
    ["203.0.113.0/24", "203.0.113.0/24"],
    ["203.0.113.7/24", "203.0.113.0/24"],
    ["203.0.113.7", "203.0.113.7/32"],
    ["203.0.113.7/32", "203.0.113.7/32"],
    ["203.0.113.7/31", "203.0.113.6/31"],
    ["203.0.113.7/0", "0.0.0.0/0"],
    ["10.255.255.255/9", "10.128.0.0/9"],
    ["2001:db8::/32", "2001:db8::/32"],
    ["2001:DB8:0:0:0:0:0:0/32", "2001:db8::/32"],
    ["2001:db8:ffff::1/33", "2001:db8:8000::/33"],
    ["2001:db8::1", "2001:db8::1/128"],
    ["2001:db8::1/128", "2001:db8::1/128"],
    ["::/0", "::/0"],
    ["ffff::1/0", "::/0"],
    ["::ffff:1.2.3.4", "1.2.3.4/32"],
    ["::ffff:1.2.3.4/128", "1.2.3.4/32"],
    ["::ffff:1.2.3.4/120", "1.2.3.0/24"],
    ["::ffff:102:304/120", "1.2.3.0/24"],
    ["::ffff:0:0/96", "0.0.0.0/0"],
    // Wider than the mapped range: stays an IPv6 block.
    ["::ffff:1.2.3.4/95", "::fffe:0:0/95"],
    ["::ffff:1.2.3.4/64", "::/64"],
    ["64:ff9b::/96", "64:ff9b::/96"],
  ])("%s → %s", (input, expected) => {
    expect(canonicalCidr(input)).toBe(expected);
  });

  it.each([
    [""],
    ["/24"],
    ["203.0.113.0/"],
    ["203.0.113.0/33"],
    ["203.0.113.0/-1"],
    ["203.0.113.0/024"],
    ["203.0.113.0/24/8"],
    ["203.0.113.0/ 24"],
    [" 203.0.113.0/24"],
    ["203.0.113/24"],
    ["010.0.0.0/8"],
    ["0x0a.0.0.0/8"],
    ["2001:db8::/129"],
    ["fe80::1%eth0/64"],
    ["fe80::1%eth0"],
    ["::1.2.3.4"], // IPv4-compatible (RFC 4291 §2.5.5.1): ipaddr.js would read it as mapped, so we refuse it
    ["not-an-ip"],
    ["2001:db8::/32 "],
    ["a".repeat(200)],
  ])("rejects %j", (input) => {
    expect(canonicalCidr(input)).toBeNull();
  });
});

describe("compileCidr", () => {
  it.each([
    ["203.0.113.0/24", bytes(203, 0, 113, 0), 24],
    ["0.0.0.0/0", bytes(0, 0, 0, 0), 0],
    ["2001:db8::/32", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32],
    ["::1/128", v6(0, 0, 0, 0, 0, 0, 0, 1), 128],
  ])("%s", (canonical, expectedBytes, prefix) => {
    expect(compileCidr(canonical)).toEqual({ bytes: expectedBytes, prefix });
  });

  it.each([["203.0.113.0"], ["203.0.113.0/33"], ["garbage/1"], ["::/129"]])("throws on %s", (stored) => {
    expect(() => compileCidr(stored)).toThrow();
  });
});

describe("cidrContains", () => {
  const contains = (cidr: string, ip: string) => {
    const canonical = canonicalCidr(cidr);
    const address = parseClientIp(ip);
    if (canonical === null || address === null) throw new Error(`bad fixture ${cidr} ${ip}`);
    return cidrContains(compileCidr(canonical), address);
  };

  it.each([
    ["0.0.0.0/0", "203.0.113.5", true],
    ["0.0.0.0/0", "0.0.0.0", true],
    ["0.0.0.0/0", "2001:db8::1", false],
    ["::/0", "2001:db8::1", true],
    ["::/0", "203.0.113.5", false],
    ["::/0", "::ffff:203.0.113.5", false], // mapped counts as IPv4
    ["203.0.113.5/32", "203.0.113.5", true],
    ["203.0.113.5/32", "203.0.113.4", false],
    ["203.0.113.5/32", "::ffff:203.0.113.5", true],
    ["203.0.113.5/32", "::ffff:cb00:7105", true],
    ["::ffff:203.0.113.0/120", "203.0.113.77", true],
    ["203.0.113.4/31", "203.0.113.4", true],
    ["203.0.113.4/31", "203.0.113.5", true],
    ["203.0.113.4/31", "203.0.113.6", false],
    ["203.0.113.4/31", "203.0.113.3", false],
    ["203.0.113.0/24", "203.0.113.255", true],
    ["203.0.113.0/24", "203.0.114.0", false],
    ["203.0.113.0/25", "203.0.113.127", true],
    ["203.0.113.0/25", "203.0.113.128", false],
    ["2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true],
    ["2001:db8::/32", "2001:db9::", false],
    ["2001:db8::/33", "2001:db8:7fff::1", true],
    ["2001:db8::/33", "2001:db8:8000::1", false],
    ["2001:db8::1/128", "2001:0db8:0000:0000:0000:0000:0000:0001", true],
    ["2001:db8::1/128", "2001:db8::2", false],
    ["fe80::/10", "fe80::1%eth0", true],
    ["fe80::/10", "febf::1", true],
    ["fe80::/10", "fec0::1", false],
  ])("%s contains %s: %s", (cidr, ip, expected) => {
    expect(contains(cidr, ip)).toBe(expected);
  });
});

/** Properties: our parser + matcher agree with ipaddr.js's own `match`, given the contract's mapping rule. */
describe("cidrContains agrees with ipaddr.js", () => {
  /** An address that shares the network's first `shared` bits and is random after: about half inside the block. */
  const nearby = (network: number[], shared: number, noise: number[]) =>
    network.map((byte, i) => {
      const keep = Math.min(8, Math.max(0, shared - i * 8));
      const mask = (0xff << (8 - keep)) & 0xff;
      return (byte & mask) | ((noise[i] ?? 0) & ~mask & 0xff);
    });

  const ipv4Case = fc
    .record({
      network: fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }),
      prefix: fc.integer({ min: 0, max: 32 }),
      shared: fc.integer({ min: 0, max: 32 }),
      noise: fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }),
    })
    .map(({ network, prefix, shared, noise }) => ({ network, prefix, address: nearby(network, shared, noise) }));

  const ipv6Case = fc
    .record({
      network: fc.array(fc.nat(255), { minLength: 16, maxLength: 16 }),
      prefix: fc.integer({ min: 0, max: 128 }),
      shared: fc.integer({ min: 0, max: 128 }),
      noise: fc.array(fc.nat(255), { minLength: 16, maxLength: 16 }),
      spelling: fc.constantFrom("compressed", "expanded", "padded", "upper", "zone"),
    })
    .map(({ network, prefix, shared, noise, spelling }) => ({
      network,
      prefix,
      address: nearby(network, shared, noise),
      spelling,
    }));

  const ipv6Text = (address: number[], spelling: string) => {
    const ip = new ipaddr.IPv6(address);
    switch (spelling) {
      case "expanded":
        return ip.toNormalizedString();
      case "padded":
        return ip.parts.map((p) => p.toString(16).padStart(4, "0")).join(":");
      case "upper":
        return ip.toString().toUpperCase();
      case "zone":
        return `${ip.toString()}%eth0`;
      default:
        return ip.toString();
    }
  };

  /** ipaddr.js as the oracle; the only rule added is the contract's: a mapped address or range is IPv4. */
  const oracle = (addressText: string, rangeText: string) => {
    const address = ipaddr.process(addressText);
    let [network, prefix] = ipaddr.parseCIDR(rangeText);
    if (network.kind() === "ipv6" && prefix >= 96 && (network as ipaddr.IPv6).isIPv4MappedAddress()) {
      network = (network as ipaddr.IPv6).toIPv4Address();
      prefix -= 96;
    }
    if (address.kind() !== network.kind()) return false;
    return address.match(network, prefix);
  };

  const ours = (addressText: string, rangeText: string) => {
    const canonical = canonicalCidr(rangeText);
    const address = parseClientIp(addressText);
    expect(canonical).not.toBeNull();
    expect(address).not.toBeNull();
    return cidrContains(compileCidr(canonical!), address!);
  };

  it("IPv4", () => {
    fc.assert(
      fc.property(ipv4Case, ({ network, prefix, address }) => {
        const addressText = address.join(".");
        const rangeText = `${network.join(".")}/${prefix}`;
        expect(ours(addressText, rangeText)).toBe(oracle(addressText, rangeText));
      }),
      { numRuns: 2000 },
    );
  });

  it("IPv6, in every spelling", () => {
    fc.assert(
      fc.property(ipv6Case, ({ network, prefix, address, spelling }) => {
        const addressText = ipv6Text(address, spelling);
        const rangeText = `${new ipaddr.IPv6(network).toString()}/${prefix}`;
        expect(ours(addressText, rangeText)).toBe(oracle(addressText, rangeText));
      }),
      { numRuns: 2000 },
    );
  });

  it("IPv4-mapped addresses and ranges against IPv4 and IPv6 ranges", () => {
    const mappedCase = fc.record({
      v4: ipv4Case,
      addressForm: fc.constantFrom("dotted-v4", "mapped-dotted", "mapped-hex", "mapped-expanded"),
      rangeForm: fc.constantFrom("v4", "mapped"),
      v6Range: fc.record({
        network: fc.array(fc.nat(255), { minLength: 16, maxLength: 16 }),
        prefix: fc.integer({ min: 0, max: 128 }),
      }),
      useV6Range: fc.boolean(),
    });
    fc.assert(
      fc.property(mappedCase, ({ v4, addressForm, rangeForm, v6Range, useV6Range }) => {
        const [a, b, c, d] = v4.address as [number, number, number, number];
        const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
        const addressText = {
          "dotted-v4": `${a}.${b}.${c}.${d}`,
          "mapped-dotted": `::ffff:${a}.${b}.${c}.${d}`,
          "mapped-hex": `::ffff:${hex(a, b)}:${hex(c, d)}`,
          "mapped-expanded": `0:0:0:0:0:ffff:${hex(a, b)}:${hex(c, d)}`,
        }[addressForm];
        const rangeText = useV6Range
          ? `${new ipaddr.IPv6(v6Range.network).toString()}/${v6Range.prefix}`
          : rangeForm === "v4"
            ? `${v4.network.join(".")}/${v4.prefix}`
            : `::ffff:${v4.network.join(".")}/${v4.prefix + 96}`;
        expect(ours(addressText, rangeText)).toBe(oracle(addressText, rangeText));
      }),
      { numRuns: 2000 },
    );
  });

  it("parseClientIp reads what ipaddr.js reads", () => {
    const spelling = fc.constantFrom("compressed", "expanded", "padded", "upper", "zone");
    const anyAddress = fc.oneof(
      fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }).map((b) => b.join(".")),
      fc
        .tuple(fc.array(fc.nat(255), { minLength: 16, maxLength: 16 }), spelling)
        .map(([b, s]) => ipv6Text(b, s)),
    );
    fc.assert(
      fc.property(anyAddress, (text) => {
        expect(parseClientIp(text)).toEqual(new Uint8Array(ipaddr.process(text).toByteArray()));
      }),
      { numRuns: 2000 },
    );
  });
});
