/**
 * The usage flush (src/gateway/usage.ts, src/store/usage.ts), driven directly, on the real local D1: a burst of
 * many distinct keys and deployments in one isolate, followed by no other request, is written whole by the burst's
 * own invocation, in at most MAX_STATEMENTS_PER_INVOCATION statements, day rows first; rows are packed into
 * statements up to MAX_ROWS_BYTES exactly; a failed batch is put back and written whole next time.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_STATEMENTS_PER_INVOCATION, UsageRecorder } from "../../src/gateway/usage";
import { newId } from "../../src/secrets/ids";
import { addUsage, MAX_ROWS_BYTES, UsageWrite, type DayUsage, type UsageRow } from "../../src/store/usage";

const INTERVAL_MS = 20;
const DATE = "2026-03-01";
const AT = Date.parse(`${DATE}T12:00:00.000Z`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A project and `n` keys, made directly in D1 (the flush needs nothing else of them). */
async function projectWithKeys(n: number): Promise<{ projectId: string; keyIds: string[] }> {
  const projectId = newId("prj");
  const keyIds = Array.from({ length: n }, () => newId("key"));
  const t = new Date().toISOString();
  await env.DB.batch([
    env.DB.prepare("INSERT INTO projects (id, slug, name, created_at) VALUES (?1, ?1, ?1, ?2)").bind(projectId, t),
    env.DB.prepare(
      `INSERT INTO api_keys (id, project_id, name, start, created_at)
       SELECT value, ?1, 'k', 'ik_live_xxxx', ?2 FROM json_each(?3)`,
    ).bind(projectId, t, JSON.stringify(keyIds)),
  ]);
  return { projectId, keyIds };
}

interface Sent {
  sql: string;
  args: unknown[];
}

/**
 * A D1 that records each batch's statements (SQL and bound arguments) and passes them to the real local D1, or,
 * with `real: false`, answers every batch at once without storing anything. `failing` fails every batch.
 */
function recordingDb({ real }: { real: boolean }) {
  const sent = new WeakMap<object, Sent>();
  const state = {
    /** Every batch sent, in order, whether it failed or not. */
    attempts: [] as Sent[][],
    /** The batches that succeeded. */
    written: [] as Sent[][],
    failing: false,
    db: {
      prepare(sql: string) {
        return {
          bind(...args: unknown[]) {
            const stmt = real ? env.DB.prepare(sql).bind(...args) : {};
            sent.set(stmt, { sql, args });
            return stmt;
          },
        };
      },
      async batch(statements: object[]) {
        const batch = statements.map((s) => sent.get(s)!);
        state.attempts.push(batch);
        await sleep(5);
        if (state.failing) throw new Error("D1 unavailable");
        const results = real ? await env.DB.batch(statements as D1PreparedStatement[]) : statements.map(() => ({}));
        state.written.push(batch);
        return results;
      },
    } as unknown as D1Database,
  };
  return state;
}

const isDays = (s: Sent) => /^\s*INSERT INTO usage_daily/.test(s.sql);
const isKeys = (s: Sent) => /^\s*UPDATE api_keys/.test(s.sql);
const statementCount = (batches: Sent[][]) => batches.reduce((n, batch) => n + batch.length, 0);

/** One request: admitted at `now` (with a key) and ended, in an invocation of its own; tokens: prompt, completion, estimated. */
function request(
  recorder: UsageRecorder,
  db: D1Database,
  projectId: string,
  keyId: string | null,
  deployment: string,
  now: number,
  [promptTokens, completionTokens, estimatedTokens]: [number, number, number],
  intervalMs = INTERVAL_MS,
): ExecutionContext {
  const ctx = createExecutionContext();
  if (keyId !== null) recorder.used(keyId, now);
  recorder.ended(db, ctx, intervalMs, { projectId, deployment, keyId, at: AT, promptTokens, completionTokens, estimatedTokens });
  return ctx;
}

async function storedDays(projectId: string) {
  const rows = await env.DB.prepare(
    `SELECT key_id, deployment, requests, prompt_tokens, completion_tokens, estimated_tokens FROM usage_daily
     WHERE project_id = ?1 AND date = ?2 ORDER BY key_id, deployment`,
  )
    .bind(projectId, DATE)
    .all<Omit<UsageRow, "date">>();
  return rows.results;
}

async function storedKeys(projectId: string) {
  const rows = await env.DB.prepare("SELECT id, request_count, last_used_at FROM api_keys WHERE project_id = ?1 ORDER BY id")
    .bind(projectId)
    .all<{ id: string; request_count: number; last_used_at: string | null }>();
  return rows.results;
}

describe("a burst of many keys, then no other request", () => {
  it("300 keys × 2 deployments (and a key since deleted, and keyless requests) are all in D1 after the burst's own invocation", async () => {
    const { projectId, keyIds } = await projectWithKeys(300);
    const deployments = ["alpha", "beta"];
    const recorder = new UsageRecorder();
    const recording = recordingDb({ real: true });
    const base = Date.now() - 3_600_000;
    const ctxs: ExecutionContext[] = [];
    keyIds.forEach((keyId, i) =>
      deployments.forEach((deployment, d) =>
        ctxs.push(request(recorder, recording.db, projectId, keyId, deployment, base + i * 10 + d, [i, d + 1, i % 3])),
      ),
    );
    const gone = "key_gone";
    ctxs.push(request(recorder, recording.db, projectId, gone, "alpha", base, [1, 1, 1]));
    for (let n = 0; n < 3; n++) ctxs.push(request(recorder, recording.db, projectId, null, "beta", base, [2, 0, 5]));
    await Promise.all(ctxs.map((ctx) => waitOnExecutionContext(ctx)));
    await sleep(200);

    expect(statementCount(recording.attempts)).toBeLessThanOrEqual(MAX_STATEMENTS_PER_INVOCATION);
    const days = await storedDays(projectId);
    expect(days).toHaveLength(300 * 2 + 2);
    const expected = [
      ...keyIds.flatMap((keyId, i) =>
        deployments.map((deployment, d) => ({
          key_id: keyId,
          deployment,
          requests: 1,
          prompt_tokens: i,
          completion_tokens: d + 1,
          estimated_tokens: i % 3,
        })),
      ),
      { key_id: gone, deployment: "alpha", requests: 1, prompt_tokens: 1, completion_tokens: 1, estimated_tokens: 1 },
      { key_id: "", deployment: "beta", requests: 3, prompt_tokens: 6, completion_tokens: 0, estimated_tokens: 15 },
    ];
    const byRow = (r: { key_id: string; deployment: string }) => `${r.key_id}/${r.deployment}`;
    expect([...days].sort((a, b) => byRow(a).localeCompare(byRow(b)))).toEqual(expected.sort((a, b) => byRow(a).localeCompare(byRow(b))));
    expect(await storedKeys(projectId)).toEqual(
      keyIds.map((id, i) => ({ id, request_count: 2, last_used_at: new Date(base + i * 10 + 1).toISOString() })),
    );
  });

  it("one invocation never sends more than MAX_STATEMENTS_PER_INVOCATION; day rows go first, the rest with the next request", async () => {
    // 2,000 keys × 15 deployments with 63-character slugs: more day rows than 45 statements hold.
    const projectId = newId("prj");
    const keyIds = Array.from({ length: 2000 }, () => newId("key"));
    const deployments = Array.from({ length: 15 }, (_, d) => `${String(d).padStart(2, "0")}-${"x".repeat(60)}`);
    const recorder = new UsageRecorder();
    const recording = recordingDb({ real: false });
    // A first request, written at once: the burst's invocation then waits out the interval, and its first round
    // finds the whole burst pending.
    const slow = 1000;
    await waitOnExecutionContext(request(recorder, recording.db, projectId, null, "warm", AT, [0, 0, 0], slow));
    const attemptsBefore = recording.attempts.length;
    const burst: ExecutionContext[] = [];
    for (const [i, keyId] of keyIds.entries()) {
      for (const deployment of deployments) {
        burst.push(request(recorder, recording.db, projectId, keyId, deployment, AT + i, [3, 4, 0], slow));
      }
    }
    await Promise.all(burst.map((ctx) => waitOnExecutionContext(ctx)));
    const first = recording.attempts.slice(attemptsBefore);
    expect(statementCount(first)).toBe(MAX_STATEMENTS_PER_INVOCATION);
    expect(first.flat().every(isDays)).toBe(true);

    // The next request's invocation writes the rest: the remaining day rows, then every key.
    await waitOnExecutionContext(request(recorder, recording.db, projectId, null, "last", AT, [0, 0, 0], slow));
    const second = recording.attempts.slice(attemptsBefore + first.length);
    expect(statementCount(second)).toBeLessThanOrEqual(MAX_STATEMENTS_PER_INVOCATION);
    const kinds = second.flat().map((s) => (isDays(s) ? "days" : isKeys(s) ? "keys" : s.sql));
    expect(kinds.indexOf("keys")).toBeGreaterThan(0);
    expect(kinds.slice(kinds.indexOf("keys")).every((k) => k === "keys")).toBe(true);

    // Every statement within the byte limit, and everything counted exactly once.
    const statements = recording.written.flat();
    for (const s of statements) expect(new TextEncoder().encode(s.args[0] as string).byteLength).toBeLessThanOrEqual(MAX_ROWS_BYTES);
    const dayRows = statements.filter(isDays).flatMap((s) => JSON.parse(s.args[0] as string) as unknown[][]);
    const keyRows = statements.filter(isKeys).flatMap((s) => JSON.parse(s.args[0] as string) as unknown[][]);
    const burstRows = dayRows.filter((row) => row[2] !== "");
    expect(burstRows).toHaveLength(keyIds.length * deployments.length);
    expect(new Set(burstRows.map((row) => `${row[2]}/${row[3]}`)).size).toBe(burstRows.length);
    expect(burstRows.filter((row) => JSON.stringify([row[0], row[1], ...row.slice(4)]) !== JSON.stringify([projectId, DATE, 1, 3, 4, 0]))).toEqual([]);
    expect(keyRows).toEqual(keyIds.map((id, i) => [id, deployments.length, new Date(AT + i).toISOString()]));
  });
});

describe("rows packed into statements", () => {
  /**
   * The most day rows one statement holds, their JSON array exactly MAX_ROWS_BYTES long: rows of one length (a day
   * row is the JSON array [project, date, key, deployment, requests, prompt, completion, estimated]; ASCII, so its
   * characters are its bytes), as many as fit, then the bytes left spread over them a character of slug each.
   */
  function fullStatement(projectId: string): DayUsage[] {
    const row = (i: number): DayUsage => ({
      projectId,
      date: DATE,
      keyId: `key_${String(i).padStart(26, "0")}`,
      deployment: "d",
      requests: 1,
      promptTokens: 1000 + i,
      completionTokens: 0,
      estimatedTokens: 0,
    });
    const json = (rows: DayUsage[]) =>
      JSON.stringify(rows.map((r) => [r.projectId, r.date, r.keyId, r.deployment, r.requests, r.promptTokens, r.completionTokens, r.estimatedTokens]));
    const length = json([row(0)]).length - 2;
    const n = Math.floor((MAX_ROWS_BYTES - 1) / (length + 1));
    const rows = Array.from({ length: n }, (_, i) => row(i));
    for (let i = 0; json(rows).length < MAX_ROWS_BYTES; i++) rows[i]!.deployment += "d";
    expect(json(rows).length).toBe(MAX_ROWS_BYTES);
    return rows;
  }

  it("exactly MAX_ROWS_BYTES of rows is one statement, one row more is two; the real D1 takes both", async () => {
    const projectId = newId("prj");
    const full = fullStatement(projectId);
    const one = recordingDb({ real: true });
    const write = new UsageWrite(1);
    for (const row of full) expect(write.addDay(row)).toBe(true);
    expect(write.statements).toBe(1);
    await addUsage(one.db, write);
    expect(one.written).toHaveLength(1);
    expect(one.written[0]).toHaveLength(1);
    expect(new TextEncoder().encode(one.written[0]![0]!.args[0] as string).byteLength).toBe(MAX_ROWS_BYTES);

    const extra = { ...full[0]!, keyId: "key_extra", deployment: "e" };
    const two = recordingDb({ real: true });
    const second = new UsageWrite(2);
    for (const row of [...full, extra]) expect(second.addDay(row)).toBe(true);
    expect(second.statements).toBe(2);
    await addUsage(two.db, second);
    expect(two.written[0]!.map((s) => (JSON.parse(s.args[0] as string) as unknown[]).length)).toEqual([full.length, 1]);

    // With one statement left the extra row is refused, and with it every key use after it.
    const capped = new UsageWrite(1);
    for (const row of full) capped.addDay(row);
    expect(capped.addDay(extra)).toBe(false);
    expect(capped.addKey({ keyId: "key_a", count: 1, lastUsedAt: new Date(AT).toISOString() })).toBe(false);
    expect(capped.statements).toBe(1);

    const days = await storedDays(projectId);
    expect(days).toHaveLength(full.length + 1);
    expect(days.reduce((n, r) => n + r.requests, 0)).toBe(2 * full.length + 1);
    expect(days.reduce((n, r) => n + r.prompt_tokens, 0)).toBe(full.reduce((n, r) => n + 2 * r.promptTokens, 0) + extra.promptTokens);
  });

  it("key uses are packed the same way, after the day rows", async () => {
    const { projectId, keyIds } = await projectWithKeys(1500);
    const write = new UsageWrite(3);
    const at = new Date(AT).toISOString();
    const day: DayUsage = {
      projectId,
      date: DATE,
      keyId: "",
      deployment: "d",
      requests: 1,
      promptTokens: 0,
      completionTokens: 0,
      estimatedTokens: 0,
    };
    expect(write.addDay(day)).toBe(true);
    for (const keyId of keyIds) expect(write.addKey({ keyId, count: 2, lastUsedAt: at })).toBe(true);
    // A key row here is 63 bytes: 1,500 of them take two statements, after the day rows' one.
    expect(write.statements).toBe(3);
    const recording = recordingDb({ real: true });
    await addUsage(recording.db, write);
    expect(recording.written[0]!.map((s) => (isDays(s) ? "days" : "keys"))).toEqual(["days", "keys", "keys"]);
    expect((await storedKeys(projectId)).every((k) => k.request_count === 2 && k.last_used_at === at)).toBe(true);
  });
});

describe("a failed batch", () => {
  it("is put back and written whole by the next invocation", async () => {
    const { projectId, keyIds } = await projectWithKeys(100);
    const recorder = new UsageRecorder();
    const recording = recordingDb({ real: true });
    recording.failing = true;
    const base = Date.now() - 3_600_000;
    const ctxs = keyIds.map((keyId, i) => request(recorder, recording.db, projectId, keyId, "alpha", base + i, [i, 1, 0]));
    await Promise.all(ctxs.map((ctx) => waitOnExecutionContext(ctx)));
    expect(recording.attempts.length).toBeGreaterThan(0);
    expect(recording.written).toHaveLength(0);
    expect(await storedDays(projectId)).toEqual([]);

    recording.failing = false;
    await waitOnExecutionContext(request(recorder, recording.db, projectId, keyIds[0]!, "beta", base, [0, 0, 0]));
    expect(recording.written).toHaveLength(1);
    const days = await storedDays(projectId);
    expect(days).toHaveLength(101);
    expect(days.filter((r) => r.deployment === "alpha").map((r) => [r.key_id, r.requests, r.prompt_tokens])).toEqual(
      keyIds.map((keyId, i) => [keyId, 1, i]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    expect(await storedKeys(projectId)).toEqual(
      keyIds.map((id, i) => ({ id, request_count: i === 0 ? 2 : 1, last_used_at: new Date(base + i).toISOString() })),
    );
  });
});
