/**
 * ProjectTrust, the rule of src/store/revisions.ts on its own: what a read of a project's revision makes trusted, for
 * how long, what the events after a held revision drop, and when the whole project goes. Times are plain numbers
 * (ms); the lease is 1000. Validation runs against a stand-in binding that answers the revisions query.
 */
import { describe, expect, it } from "vitest";
import { changesOf, MAX_EVENTS, ProjectTrust, type ProjectChanges } from "../../src/store/revisions";

const LEASE = 1000;
/** Validation keeps its work alive with waitUntil; here the test awaits it directly. */
const ctx = { waitUntil: () => {} } as unknown as ExecutionContext;

function tracked() {
  const dropped: [string, ProjectChanges][] = [];
  return { trust: new ProjectTrust(10, (id, changes) => dropped.push([id, changes])), dropped };
}

/** A D1 binding whose one query answers these rows (`events` as the statement returns them: a JSON string). */
function answering(rows: { id: string; revision: number; events: [number, string, string][] | null }[]) {
  const seen: unknown[][] = [];
  const db = {
    prepare: () => ({
      bind: (...values: unknown[]) => {
        seen.push(values);
        return { all: async () => ({ results: rows.map((r) => ({ ...r, events: r.events && JSON.stringify(r.events) })) }) };
      },
    }),
  } as unknown as D1Database;
  return { db, seen };
}

describe("ProjectTrust", () => {
  it("trusts records at the revision a read saw, from when that read was sent, for one lease", () => {
    const { trust } = tracked();
    expect(trust.observe("prj_a", 5, 100, LEASE)).toBe("cache");
    expect(trust.trusts("prj_a", 5, 100)).toEqual({ projectId: "prj_a", revision: 5 });
    expect(trust.trusts("prj_a", 5, 1099)).not.toBeNull();
    expect(trust.trusts("prj_a", 5, 1100)).toBeNull();
    expect(trust.trusts("prj_a", 4, 500)).toBeNull();
    expect(trust.renewable("prj_a", 4)).toBe(false); // older than the project's first read: never renewed
    expect(trust.renewable("prj_a", 5)).toBe(true);
    expect(trust.renewable("prj_b", 5)).toBe(false); // not held at all
    expect(trust.trusts("prj_b", 5, 500)).toBeNull();
  });

  it("a later read at the held revision renews every record read at it; an earlier one never shortens trust", () => {
    const { trust } = tracked();
    trust.observe("prj_a", 5, 100, LEASE);
    expect(trust.observe("prj_a", 5, 900, LEASE)).toBe("cache");
    expect(trust.trusts("prj_a", 5, 1800)).not.toBeNull();
    expect(trust.observe("prj_a", 5, 300, LEASE)).toBe("cache");
    expect(trust.trusts("prj_a", 5, 1800)).not.toBeNull();
  });

  it("a full read at another revision is not cached: older may predate a change, newer means validate first", () => {
    const { trust } = tracked();
    trust.observe("prj_a", 6, 200, LEASE);
    expect(trust.observe("prj_a", 5, 150, LEASE)).toBe("skip");
    expect(trust.observe("prj_a", 7, 300, LEASE)).toBe("behind");
    expect(trust.trusts("prj_a", 6, 1000)).toEqual({ projectId: "prj_a", revision: 6 });
  });

  it("is due for refresh in the last quarter of its trust", () => {
    const { trust } = tracked();
    trust.observe("prj_a", 1, 0, LEASE);
    expect(trust.due("prj_a", 749, LEASE)).toBe(false);
    expect(trust.due("prj_a", 750, LEASE)).toBe(true);
    expect(trust.due("prj_b", 750, LEASE)).toBe(false);
  });

  it("a project no request used for a minute is left out of validation and forgotten", async () => {
    const { trust } = tracked();
    const start = Date.now();
    trust.observe("prj_used", 1, start, LEASE);
    trust.observe("prj_idle", 1, start - 61_000, LEASE);
    const { db, seen } = answering([{ id: "prj_used", revision: 1, events: null }]);
    await trust.validate(db, LEASE, start, ctx);
    expect(seen[0]![0]).toBe(JSON.stringify([["prj_used", 1]]));
    expect(trust.renewable("prj_idle", 1)).toBe(false);
  });

  it("holds at most its capacity of projects, dropping the least recently used", () => {
    const trust = new ProjectTrust(2, () => {});
    trust.observe("prj_a", 1, 0, LEASE);
    trust.observe("prj_b", 1, 0, LEASE);
    trust.trusts("prj_a", 1, 10);
    trust.observe("prj_c", 1, 0, LEASE);
    expect(trust.trusts("prj_a", 1, 10)).not.toBeNull();
    expect(trust.trusts("prj_b", 1, 10)).toBeNull();
    expect(trust.trusts("prj_c", 1, 10)).not.toBeNull();
  });
});

describe("validation", () => {
  it("sends every project held with its revision, in one query; an unchanged one is renewed from when it was sent", async () => {
    const { trust } = tracked();
    trust.observe("prj_a", 3, Date.now(), LEASE);
    trust.observe("prj_b", 8, Date.now(), LEASE);
    const { db, seen } = answering([{ id: "prj_a", revision: 3, events: null }, { id: "prj_b", revision: 8, events: null }]);
    const sent = Date.now();
    await trust.validate(db, LEASE, sent, ctx);
    expect(seen).toEqual([[JSON.stringify([["prj_a", 3], ["prj_b", 8]]), MAX_EVENTS]]);
    expect(trust.trusts("prj_a", 3, sent + LEASE - 1)).not.toBeNull();
  });

  it("moves a project past its events, dropping only what they touched; records read before stay trusted", async () => {
    const { trust, dropped } = tracked();
    trust.observe("prj_a", 3, Date.now(), LEASE);
    const events: [number, string, string][] = [[5, "key.revoke", "key_x"], [4, "key.create", "key_new"]];
    await trust.validate(answering([{ id: "prj_a", revision: 5, events }]).db, LEASE, Date.now(), ctx);
    expect(dropped).toEqual([["prj_a", { whole: false, keyIds: new Set(["key_x"]), deploymentIds: new Set(), applicationKeys: false }]]);
    expect(trust.trusts("prj_a", 3, Date.now())).toEqual({ projectId: "prj_a", revision: 5 });
  });

  it("drops the whole project for an event of unknown reach, events missing, too many, or a project gone", async () => {
    const cases: [string, { id: string; revision: number; events: [number, string, string][] | null }[]][] = [
      ["a project-wide event", [{ id: "prj_a", revision: 4, events: [[4, "project.suspend", "prj_a"]] }]],
      ["an event missing", [{ id: "prj_a", revision: 5, events: [[5, "key.revoke", "key_x"]] }]],
      ["too many to list", [{ id: "prj_a", revision: 3 + MAX_EVENTS + 1, events: null }]],
      ["the project deleted", []],
    ];
    for (const [name, rows] of cases) {
      const { trust, dropped } = tracked();
      trust.observe("prj_a", 3, Date.now(), LEASE);
      await trust.validate(answering(rows).db, LEASE, Date.now(), ctx);
      expect(trust.trusts("prj_a", 3, Date.now()), name).toBeNull();
      expect(dropped, name).toEqual([]);
    }
  });
});

describe("changesOf", () => {
  it("maps each action to what it can change", () => {
    const events = (pairs: [string, string][]) => pairs.map(([action, target], i) => ({ revision: i + 1, action, target }));
    expect(changesOf(0, 3, events([["key.create", "k1"], ["token.create", "t"], ["token.revoke", "t"]]))).toEqual({
      whole: false, keyIds: new Set(), deploymentIds: new Set(), applicationKeys: false,
    });
    expect(changesOf(0, 3, events([["key.link", "k1"], ["deployment.update", "d1"], ["policy.update", "p1"]]))).toEqual({
      whole: false, keyIds: new Set(["k1"]), deploymentIds: new Set(["d1"]), applicationKeys: true,
    });
    expect(changesOf(0, 1, events([["project.resume", "prj"]]))?.whole).toBe(true);
    expect(changesOf(0, 1, events([["something.new", "x"]]))?.whole).toBe(true);
  });
});
