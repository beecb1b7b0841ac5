/** Percentiles and summaries of latency samples. */

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of already sorted values (NaN for none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(values: readonly number[]): Summary {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    count: v.length,
    p50: r(percentile(v, 50)),
    p99: r(percentile(v, 99)),
    max: r(v.length ? v[v.length - 1]! : NaN),
    mean: r(v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN),
  };
}

export const round = (x: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
