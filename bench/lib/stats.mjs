/** Small statistics helpers. `sorted` arrays are ascending. */

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function median(values) {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return null;
  const mid = finite.length >> 1;
  return finite.length % 2 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2;
}

/** Rounds for JSON and tables: keeps three significant decimals for small numbers. */
export function round(value, digits = 3) {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** p50, p99, p99.9, max and mean in milliseconds of per-request latencies in microseconds (sorted in place). */
export function latencySummary(latenciesUs) {
  latenciesUs.sort((a, b) => a - b);
  return {
    p50_ms: percentile(latenciesUs, 50) / 1000,
    p99_ms: percentile(latenciesUs, 99) / 1000,
    p999_ms: percentile(latenciesUs, 99.9) / 1000,
    max_ms: latenciesUs[latenciesUs.length - 1] / 1000,
    mean_ms: latenciesUs.reduce((a, b) => a + b, 0) / latenciesUs.length / 1000,
  };
}
