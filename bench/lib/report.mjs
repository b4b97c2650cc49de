/**
 * Turns the raw runs into the published figures: per target and concurrency the median over rounds of rps, p50,
 * p99 and CPU per request, and the median of the per-round comparisons with pass-through measured in the same
 * round (so slow drift of the machine cancels out). Also: the goals of issues 5 and 13, the table and the chart's data.
 */
import { median, round } from "./stats.mjs";

const pick = (runs, where) => runs.filter((r) => Object.entries(where).every(([k, v]) => r[k] === v));

export function summarizeHttp(runs, targets, concurrencies) {
  const rows = [];
  for (const concurrency of concurrencies) {
    for (const target of targets) {
      const mine = pick(runs, { target: target.id, concurrency });
      if (mine.length === 0) continue;
      const per = (fn, against) => median(mine.map((r) => {
        const other = pick(runs, { target: against, concurrency, round: r.round })[0];
        return other ? fn(r, other) : NaN;
      }));
      rows.push({
        target: target.id,
        concurrency,
        rounds_measured: mine.length,
        rps: round(median(mine.map((r) => r.rps)), 0),
        p50_ms: round(median(mine.map((r) => r.p50_ms))),
        p99_ms: round(median(mine.map((r) => r.p99_ms))),
        mean_ms: round(median(mine.map((r) => r.mean_ms))),
        // Little's law: with `concurrency` requests always in flight, mean latency = concurrency / throughput.
        // The two agreeing shows the load generator's latencies and throughput describe the same requests.
        littles_law_mean_ms: round(median(mine.map((r) => (concurrency / r.rps) * 1000))),
        cpu_us_per_req: round(median(mine.map((r) => r.cpu_us_per_req)), 1),
        origin_cpu_us_per_req: round(median(mine.map((r) => r.origin_cpu_us_per_req)), 1),
        bench_process_cpu_us_per_req: round(median(mine.map((r) => r.bench_process_cpu_us_per_req)), 1),
        worker_log_lines_per_req: round(median(mine.map((r) => r.worker_log_lines_per_req)), 2),
        unexpected_statuses: mine.reduce((n, r) => n + r.unexpected, 0),
        vs_passthrough: {
          rps_ratio: round(per((r, p) => r.rps / p.rps, "passthrough")),
          p50_added_ms: round(per((r, p) => r.p50_ms - p.p50_ms, "passthrough")),
          p99_added_ms: round(per((r, p) => r.p99_ms - p.p99_ms, "passthrough")),
          cpu_added_us_per_req: round(per((r, p) => r.cpu_us_per_req - p.cpu_us_per_req, "passthrough"), 1),
        },
        vs_origin: {
          rps_ratio: round(per((r, o) => r.rps / o.rps, "origin")),
          p50_added_ms: round(per((r, o) => r.p50_ms - o.p50_ms, "origin")),
        },
        rounds: mine.map(({ target: _t, concurrency: _c, ...rest }) => rest),
      });
    }
  }
  return rows;
}

/** One target against another measured in the same rounds (e.g. the cost of one feature): medians of the per-round differences. */
export function targetDelta(runs, target, against, concurrency) {
  const mine = pick(runs, { target, concurrency });
  const per = (fn) => median(mine.map((r) => {
    const other = pick(runs, { target: against, concurrency, round: r.round })[0];
    return other ? fn(r, other) : NaN;
  }));
  return {
    rounds_measured: mine.length,
    cpu_added_us_per_req: round(per((r, o) => r.cpu_us_per_req - o.cpu_us_per_req), 1),
    p50_added_ms: round(per((r, o) => r.p50_ms - o.p50_ms)),
    rps_ratio: round(per((r, o) => r.rps / o.rps)),
  };
}

export function summarizeStreams(runs, targets) {
  return targets.filter((t) => pick(runs, { target: t.id }).length).map((t) => {
    const mine = pick(runs, { target: t.id });
    const per = (fn, against) => median(mine.map((r) => {
      const other = pick(runs, { target: against, round: r.round })[0];
      return other ? fn(r, other) : NaN;
    }));
    return {
      target: t.id,
      rounds_measured: mine.length,
      ttfc_p50_ms: round(median(mine.map((r) => r.ttfc_p50_ms))),
      ttfc_p99_ms: round(median(mine.map((r) => r.ttfc_p99_ms))),
      gap_p50_ms: round(median(mine.map((r) => r.gap_p50_ms))),
      gap_p99_ms: round(median(mine.map((r) => r.gap_p99_ms))),
      incomplete_streams: mine.reduce((n, r) => n + (r.streams - r.complete), 0),
      vs_passthrough: {
        ttfc_added_ms: round(per((r, p) => r.ttfc_p50_ms - p.ttfc_p50_ms, "stream-passthrough")),
        gap_p50_added_ms: round(per((r, p) => r.gap_p50_ms - p.gap_p50_ms, "stream-passthrough")),
      },
      vs_origin: {
        ttfc_added_ms: round(per((r, o) => r.ttfc_p50_ms - o.ttfc_p50_ms, "stream-origin")),
        gap_p50_added_ms: round(per((r, o) => r.gap_p50_ms - o.gap_p50_ms, "stream-origin")),
      },
      rounds: mine.map(({ target: _t, ...rest }) => rest),
    };
  });
}

/** The goals of issues 5 and 13, each with the figure that decides it. `met: null` when the bench cannot tell. */
export function evaluateGoals(http, streams) {
  const h = (target, c) => http.find((r) => r.target === target && r.concurrency === c);
  const s = (target) => streams.find((r) => r.target === target);
  const goal = (text, value, unit, test, note) => ({
    goal: text,
    measured: value ?? null,
    display: value === null || value === undefined ? "not measured" : `${value}${unit}`,
    met: value === null || value === undefined ? null : test(value),
    ...(note ? { note } : {}),
  });
  const minOf = (...xs) => (xs.some((x) => x === null || x === undefined) ? null : Math.min(...xs));
  const cpuAdded = (c) => h("warm", c)?.vs_passthrough.cpu_added_us_per_req;
  // Issue 13's goals for the warm path; issue 5's for the rest (their warm-path ones, 0.05 ms and 20 µs, superseded).
  return [
    goal("Warm key: throughput ≥ 0.90× pass-through at concurrency 16", h("warm", 16)?.vs_passthrough.rps_ratio, "×", (v) => v >= 0.9),
    goal("Warm key: added p50 ≤ 0.10 ms at concurrency 1", h("warm", 1)?.vs_passthrough.p50_added_ms, " ms", (v) => v <= 0.1),
    goal("Warm key: added CPU ≤ 60 µs per request at concurrency 16", cpuAdded(16), " µs", (v) => v <= 60),
    goal("Warm key: added CPU ≤ 60 µs per request at concurrency 1", cpuAdded(1), " µs", (v) => v <= 60),
    goal("Every decision from D1: exactly one query", null, "", null,
      "not observable from outside the Worker; covered by the query-count tests (issue 5, item 3)"),
    goal("Every decision from D1: added p50 ≤ 1 ms at concurrency 1", h("d1", 1)?.vs_passthrough.p50_added_ms, " ms", (v) => v <= 1),
    goal("Malformed key rejected: no store query", null, "", null, "covered by the query-count tests (issue 5, item 3)"),
    goal("Malformed key rejected: throughput ≥ pass-through (lower of c1, c16)",
      minOf(h("malformed", 1)?.vs_passthrough.rps_ratio, h("malformed", 16)?.vs_passthrough.rps_ratio), "×", (v) => v >= 1),
    goal("Unknown key rejected: throughput ≥ pass-through (lower of c1, c16)",
      minOf(h("unknown", 1)?.vs_passthrough.rps_ratio, h("unknown", 16)?.vs_passthrough.rps_ratio), "×", (v) => v >= 1),
    goal("Streamed chat: first chunk ≤ 0.5 ms after pass-through's", s("stream-keygate")?.vs_passthrough.ttfc_added_ms, " ms", (v) => v <= 0.5),
    goal("Streamed chat: chunk gaps equal the origin's (median gap within ±0.1 ms of origin direct)",
      s("stream-keygate")?.vs_origin.gap_p50_added_ms, " ms", (v) => Math.abs(v) <= 0.1),
    goal("Whole overhead over the origin direct (warm key, p50, concurrency 1) < 0.44 ms",
      h("warm", 1)?.vs_origin.p50_added_ms, " ms", (v) => v < 0.44),
  ];
}

const pad = (s, n, right = false) => (right ? String(s).padStart(n) : String(s).padEnd(n));
const num = (v, d = 3) => (v === null || v === undefined ? "–" : Number(v).toFixed(d));

export function formatTables({ http, streams, goals, targets }) {
  const label = (id) => targets.find((t) => t.id === id)?.label ?? id;
  const lines = [];
  for (const c of [...new Set(http.map((r) => r.concurrency))]) {
    lines.push("", `concurrency ${c}`,
      `${pad("target", 26)}${pad("rps", 9, true)}${pad("p50 ms", 9, true)}${pad("p99 ms", 9, true)}${pad("CPU µs", 9, true)}` +
      `${pad("× pt rps", 10, true)}${pad("+p50 ms", 10, true)}${pad("+p99 ms", 10, true)}${pad("+CPU µs", 9, true)}`);
    for (const r of http.filter((x) => x.concurrency === c)) {
      const v = r.vs_passthrough;
      lines.push(`${pad(label(r.target), 26)}${pad(num(r.rps, 0), 9, true)}${pad(num(r.p50_ms), 9, true)}${pad(num(r.p99_ms), 9, true)}` +
        `${pad(num(r.cpu_us_per_req, 1), 9, true)}${pad(num(v.rps_ratio, 2), 10, true)}${pad(num(v.p50_added_ms), 10, true)}` +
        `${pad(num(v.p99_added_ms), 10, true)}${pad(num(v.cpu_added_us_per_req, 1), 9, true)}`);
    }
  }
  if (streams.length) {
    lines.push("", "streamed chat (one stream at a time)",
      `${pad("target", 26)}${pad("1st chunk", 10, true)}${pad("+vs pt", 9, true)}${pad("gap p50", 9, true)}${pad("gap p99", 9, true)}${pad("+gap vs origin", 16, true)}`);
    for (const r of streams) {
      lines.push(`${pad(label(r.target), 26)}${pad(num(r.ttfc_p50_ms), 10, true)}${pad(num(r.vs_passthrough.ttfc_added_ms), 9, true)}` +
        `${pad(num(r.gap_p50_ms), 9, true)}${pad(num(r.gap_p99_ms), 9, true)}${pad(num(r.vs_origin.gap_p50_added_ms), 16, true)}`);
    }
  }
  if (goals) {
    lines.push("", "goals (issues 5 and 13)");
    for (const g of goals) lines.push(`  ${g.met === null ? "  –  " : g.met ? " met " : " NOT "} ${g.goal}: ${g.display}`);
  }
  return lines.join("\n");
}

/** The goals and result tables in BENCHMARKS.md's format, so the document can be refreshed from a run. */
export function formatMarkdown({ http, streams, goals, targets }) {
  const label = (id) => targets.find((t) => t.id === id)?.label ?? id;
  const n = (v, d = 3, sign = false) => (v === null || v === undefined ? "–"
    : `${sign && v > 0 ? "+" : ""}${Number(v).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d })}`.replace("-", "−"));
  const out = [];
  if (goals) {
    out.push("| Goal | Measured | Met |", "|---|---|---|");
    for (const g of goals) out.push(`| ${g.goal} | ${g.note ?? g.display} | ${g.met === null ? "–" : g.met ? "yes" : "no"} |`);
  }
  for (const c of [...new Set(http.map((r) => r.concurrency))]) {
    out.push("", `Concurrency ${c}`, "",
      "| Target | req/s | p50 ms | p99 ms | CPU µs/req | × pt req/s | +p50 ms | +p99 ms | +CPU µs/req |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of http.filter((x) => x.concurrency === c)) {
      const v = r.vs_passthrough;
      out.push(`| ${label(r.target)} | ${n(r.rps, 0)} | ${n(r.p50_ms)} | ${n(r.p99_ms)} | ${n(r.cpu_us_per_req, 0)} | ` +
        `${n(v.rps_ratio, 2)} | ${n(v.p50_added_ms, 3, true)} | ${n(v.p99_added_ms, 3, true)} | ${r.target === "origin" ? "–" : n(v.cpu_added_us_per_req, 0, true)} |`);
    }
  }
  if (streams.length) {
    out.push("", "| Target | first chunk p50 ms | vs pass-through | gap p50 ms | gap p99 ms |", "|---|---:|---:|---:|---:|");
    for (const r of streams) {
      out.push(`| ${label(r.target)} | ${n(r.ttfc_p50_ms)} | ${n(r.vs_passthrough.ttfc_added_ms, 3, true)} | ${n(r.gap_p50_ms)} | ${n(r.gap_p99_ms)} |`);
    }
  }
  return out.join("\n") + "\n";
}
