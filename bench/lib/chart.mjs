/**
 * A self-contained SVG of the results, readable at a glance: one panel per question, one row per target,
 * horizontal bars per concurrency, the zero (= pass-through) line and the goal lines drawn in.
 */

const WIDTH = 900;
const LABEL_W = 190;
const PLOT_W = WIDTH - LABEL_W - 90;
const BAR_H = 14;
const ROW_GAP = 10;
const SERIES_COLORS = ["#2f6db3", "#e08a1e", "#4a9b5e"];

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (v, unit) => (v === null ? "n/a" : `${Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(unit === "×" ? 2 : 3)}${unit}`);

/** rows: [{label, values: [number|null per series]}]; lines: [{value, label, dashed}] */
function panel({ title, subtitle, series, rows, lines = [], unit, top }) {
  const values = rows.flatMap((r) => r.values).filter((v) => v !== null);
  let lo = Math.min(0, ...values, ...lines.map((l) => l.value));
  let hi = Math.max(0, ...values, ...lines.map((l) => l.value));
  if (hi === lo) hi = lo + 1;
  const pad = (hi - lo) * 0.08;
  lo -= lo < 0 ? pad : 0;
  hi += pad;
  const x = (v) => LABEL_W + ((v - lo) / (hi - lo)) * PLOT_W;
  const rowH = series.length * BAR_H + ROW_GAP;
  const plotTop = top + 46;
  const height = 46 + rows.length * rowH + 22;
  const out = [
    `<text x="12" y="${top + 18}" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="12" y="${top + 34}" font-size="11" fill="#555">${esc(subtitle)}</text>`,
  ];
  series.forEach((name, i) => {
    const lx = WIDTH - 250 + i * 120;
    out.push(`<rect x="${lx}" y="${top + 8}" width="10" height="10" fill="${SERIES_COLORS[i]}"/>`,
      `<text x="${lx + 14}" y="${top + 17}" font-size="11">${esc(name)}</text>`);
  });
  rows.forEach((row, r) => {
    const y0 = plotTop + r * rowH;
    out.push(`<text x="${LABEL_W - 8}" y="${y0 + (series.length * BAR_H) / 2 + 4}" font-size="12" text-anchor="end">${esc(row.label)}</text>`);
    row.values.forEach((v, i) => {
      const y = y0 + i * BAR_H;
      if (v === null) {
        out.push(`<text x="${x(0) + 4}" y="${y + 11}" font-size="10" fill="#999">not measured</text>`);
        return;
      }
      const [a, b] = v >= 0 ? [x(0), x(v)] : [x(v), x(0)];
      // Values sit right of the bar's end, or right of the zero line for a negative bar, never over the labels.
      out.push(`<rect x="${a.toFixed(1)}" y="${y + 1}" width="${Math.max(1, b - a).toFixed(1)}" height="${BAR_H - 2}" fill="${SERIES_COLORS[i]}"/>`,
        `<text x="${(v >= 0 ? b + 4 : x(0) + 4).toFixed(1)}" y="${y + 11}" font-size="10">${fmt(v, unit)}</text>`);
    });
  });
  const bottom = plotTop + rows.length * rowH;
  out.push(`<line x1="${x(0)}" y1="${plotTop - 4}" x2="${x(0)}" y2="${bottom}" stroke="#333"/>`);
  // With two lines, the left one's label goes left of it and the right one's right, so they never overlap.
  [...lines].sort((a, b) => a.value - b.value).forEach((line, i, all) => {
    const lx = x(line.value);
    const [dx, anchor] = all.length === 1 ? [0, "middle"] : i === 0 ? [-4, "end"] : [4, "start"];
    out.push(`<line x1="${lx}" y1="${plotTop - 4}" x2="${lx}" y2="${bottom}" stroke="#c0392b" ${line.dashed ? 'stroke-dasharray="4 3"' : ""}/>`,
      `<text x="${lx + dx}" y="${bottom + 14}" font-size="10" fill="#c0392b" text-anchor="${anchor}">${esc(line.label)}</text>`);
  });
  return { svg: out.join("\n"), height };
}

/** panels: [{title, subtitle, series, rows, lines, unit}]; footer: one line of provenance. */
export function renderChart({ title, panels, footer }) {
  let top = 40;
  const parts = [];
  for (const p of panels) {
    const { svg, height } = panel({ ...p, top });
    parts.push(svg);
    top += height + 16;
  }
  const height = top + 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
<text x="12" y="26" font-size="18" font-weight="bold">${esc(title)}</text>
${parts.join("\n")}
<text x="12" y="${height - 10}" font-size="10" fill="#777">${esc(footer)}</text>
</svg>
`;
}

/** The bench's chart: what keygate adds over the pass-through control, per target. */
export function chartPanels(results, httpTargets, streamTargets) {
  const row = (target, c) => results.http.find((r) => r.target === target && r.concurrency === c);
  const cs = results.config.concurrencies;
  const compared = httpTargets.filter((t) => t.id !== "passthrough");
  const v = results.versions;
  const panels = [
    {
      title: "Added p50 latency vs pass-through, concurrency 1 (lower is better)",
      subtitle: "median over rounds of (target p50 − pass-through p50 in the same round); origin direct is below zero",
      series: ["concurrency 1"],
      unit: " ms",
      rows: compared.map((t) => ({ label: t.label, values: [row(t.id, 1)?.vs_passthrough.p50_added_ms ?? null] })),
      lines: [{ value: 0.05, label: "warm goal 0.05", dashed: true }],
    },
    {
      title: "Throughput vs pass-through (higher is better)",
      subtitle: "median over rounds of (target req/s ÷ pass-through req/s in the same round); origin direct: " +
        cs.map((c) => `${row("origin", c)?.vs_passthrough.rps_ratio?.toFixed(1) ?? "–"}× at c${c}`).join(", ") + ", off this scale",
      series: cs.map((c) => `concurrency ${c}`),
      unit: "×",
      rows: compared.filter((t) => t.id !== "origin")
        .map((t) => ({ label: t.label, values: cs.map((c) => row(t.id, c)?.vs_passthrough.rps_ratio ?? null) })),
      lines: [{ value: 1, label: "pass-through" }, { value: 0.9, label: "warm goal 0.9", dashed: true }],
    },
    {
      title: "Added workerd CPU per request vs pass-through (lower is better)",
      subtitle: "utime+stime of the serving workerd process per request, minus pass-through's in the same round",
      series: cs.map((c) => `concurrency ${c}`),
      unit: " µs",
      rows: compared.filter((t) => t.id !== "origin")
        .map((t) => ({ label: t.label, values: cs.map((c) => row(t.id, c)?.vs_passthrough.cpu_added_us_per_req ?? null) })),
      lines: [{ value: 20, label: "warm goal 20 µs", dashed: true }],
    },
  ];
  if (results.streams.length) {
    const s = (id) => results.streams.find((r) => r.target === id);
    panels.push({
      title: "Streamed chat vs pass-through (lower is better)",
      subtitle: `first SSE chunk and median gap between chunks (origin sends one every ${results.config.stream.chunk_interval_ms} ms)`,
      series: ["first chunk", "median gap"],
      unit: " ms",
      rows: streamTargets.filter((t) => t.id !== "stream-passthrough").map((t) => ({
        label: t.label,
        values: [s(t.id)?.vs_passthrough.ttfc_added_ms ?? null, s(t.id)?.vs_passthrough.gap_p50_added_ms ?? null],
      })),
      lines: [{ value: 1, label: "first-chunk goal 1 ms", dashed: true }],
    });
  }
  return {
    title: `keygate: cost over a pass-through Worker (${results.mode} run)`,
    panels,
    footer: `${results.date} · ${results.machine.cpu} × ${results.machine.cores} · workerd ${v.workerd} · ` +
      `${results.config.rounds} interleaved round(s) of ${results.config.duration_s} s · keygate ${v.keygate_commit ?? "?"}` +
      (results.not_working.length ? ` · not measured: ${results.not_working.join(", ")}` : ""),
  };
}
