/**
 * ProjectTrust, the rule of src/store/revisions.ts on its own: what a read of a project's revision makes trusted,
 * for how long, and what it makes stale. Times are plain numbers (ms); the lease is 1000.
 */
import { describe, expect, it } from "vitest";
import { ProjectTrust } from "../../src/store/revisions";

const LEASE = 1000;

describe("ProjectTrust", () => {
  it("trusts records at the revision a read saw, from when that read was sent, for one lease", () => {
    const trust = new ProjectTrust(10);
    expect(trust.observe("prj_a", 5, 100, LEASE)).toBe(true);
    expect(trust.trusts("prj_a", 5, 100)).toBe(true);
    expect(trust.trusts("prj_a", 5, 1099)).toBe(true);
    expect(trust.trusts("prj_a", 5, 1100)).toBe(false);
    expect(trust.trusts("prj_a", 4, 500)).toBe(false);
    expect(trust.trusts("prj_b", 5, 500)).toBe(false);
  });

  it("a later read at the same revision renews every record read at it; an earlier one never shortens trust", () => {
    const trust = new ProjectTrust(10);
    trust.observe("prj_a", 5, 100, LEASE);
    expect(trust.observe("prj_a", 5, 900, LEASE)).toBe(true);
    expect(trust.trusts("prj_a", 5, 1800)).toBe(true);
    expect(trust.observe("prj_a", 5, 300, LEASE)).toBe(true);
    expect(trust.trusts("prj_a", 5, 1800)).toBe(true);
  });

  it("a newer revision makes the older records stale at once, whatever time they had left", () => {
    const trust = new ProjectTrust(10);
    trust.observe("prj_a", 5, 100, LEASE);
    expect(trust.observe("prj_a", 6, 200, LEASE)).toBe(true);
    expect(trust.trusts("prj_a", 5, 201)).toBe(false);
    expect(trust.superseded("prj_a", 5)).toBe(true);
    expect(trust.trusts("prj_a", 6, 201)).toBe(true);
  });

  it("a read that saw an older revision than the isolate knows is not cached (it was sent before a newer one)", () => {
    const trust = new ProjectTrust(10);
    trust.observe("prj_a", 6, 200, LEASE);
    expect(trust.observe("prj_a", 5, 150, LEASE)).toBe(false);
    expect(trust.trusts("prj_a", 6, 1000)).toBe(true);
  });

  it("is due for refresh in the last quarter of its trust (the margin grows with a slow store, up to half)", () => {
    const trust = new ProjectTrust(10);
    trust.observe("prj_a", 1, 0, LEASE);
    expect(trust.due("prj_a", 749, LEASE)).toBe(false);
    expect(trust.due("prj_a", 750, LEASE)).toBe(true);
    expect(trust.due("prj_b", 750, LEASE)).toBe(false);
  });

  it("holds at most its capacity of projects, dropping the least recently used", () => {
    const trust = new ProjectTrust(2);
    trust.observe("prj_a", 1, 0, LEASE);
    trust.observe("prj_b", 1, 0, LEASE);
    trust.trusts("prj_a", 1, 10);
    trust.observe("prj_c", 1, 0, LEASE);
    expect(trust.trusts("prj_a", 1, 10)).toBe(true);
    expect(trust.trusts("prj_b", 1, 10)).toBe(false);
    expect(trust.trusts("prj_c", 1, 10)).toBe(true);
  });
});
