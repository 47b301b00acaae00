// OTLP histogram points as the histogram STRUCT our SQL functions take (reference analytics.md §2.4:
// uniform bins over [start, end]). OTLP buckets are not uniform, so each point is kept twice:
//
// * exactly, as `edges` (k+1 ascending bucket edges, ±Infinity for the open buckets of explicit
//   histograms) and `counts` (k bucket counts) — nothing is lost;
// * re-binned onto a uniform grid (`histogram` column), so that quantile_from_histogram,
//   variance_from_histogram, count/sum_from_histogram, expand_histogram and sum_histograms work on
//   them unchanged. Each bucket's count is spread evenly over the grid (the same assumption the
//   quantile estimate makes inside a bin), with cumulative rounding so every grid bin holds a whole
//   count and the running total at every grid edge is within ½ of the exact linear interpolation.
//
// The grid depends only on the instrument, never on one point's values, so points of one metric
// share it and sum_histograms can merge them:
// * explicit bounds b0 < … < bm: [b0 − (b1 − b0), bm + (bm − bm−1)] (one bound b: [b − w, b + w],
//   w = max(|b|, 1)), GRID_BINS bins;
// * exponential: [0, 2^⌈log2 hi⌉] for non-negative data (mirrored for negative, symmetric for
//   both), hi = the largest populated bucket edge, GRID_BINS bins; points whose largest edge falls
//   under the same power of two merge.
//
// Accuracy of quantile_from_histogram on the grid vs. the exact bucket interpolation: bins hold
// whole counts, so the two differ by at most one grid bin width, (end − start) / GRID_BINS, plus half
// a count's share of the bucket holding the quantile (bucket width / (2 · bucket count): negligible
// for real counts, 1 unit for 5 values in a 10-wide bucket), as long as the quantile falls inside
// the grid. Values in an open bucket (explicit) lie in [bm, max] or [min, b0] when the
// point reports min/max, otherwise in one extra bucket width; beyond the grid they are clamped into its
// first/last bin (make_histogram does the same). The exact edges/counts stay available for anything
// finer. sum_sq is not sent by OTLP: it is estimated assuming values spread evenly within each
// bucket, so variance_from_histogram is an estimate too (exact sum and count).

export const GRID_BINS = 1024;

export interface ExactBuckets {
  /** k + 1 ascending edges; the first/last may be -Infinity/+Infinity. */
  edges: number[];
  /** k counts. */
  counts: bigint[];
}

export interface HistogramValue {
  start: number;
  end: number;
  min: number;
  max: number;
  sum: number;
  sum_sq: number;
  count: bigint;
  bins: bigint[];
}

export interface PointStats {
  count: bigint;
  sum?: number;
  min?: number;
  max?: number;
}

/** Buckets of an explicit-bounds point: (-inf, b0], (b0, b1], …, (bm, +inf). */
export function explicitBuckets(bounds: readonly number[], counts: readonly bigint[]): ExactBuckets {
  if (counts.length === 0) return { edges: [], counts: [] };
  if (counts.length !== bounds.length + 1) throw new Error(`histogram point has ${counts.length} bucket counts for ${bounds.length} bounds (expected ${bounds.length + 1})`);
  for (let i = 1; i < bounds.length; i++) if (!(bounds[i]! > bounds[i - 1]!)) throw new Error('histogram explicit bounds are not strictly increasing');
  return { edges: [-Infinity, ...bounds, Infinity], counts: [...counts] };
}

export interface ExponentialPoint {
  scale: number;
  zeroCount: bigint;
  zeroThreshold: number;
  positive?: { offset: number; bucketCounts: readonly bigint[] };
  negative?: { offset: number; bucketCounts: readonly bigint[] };
}

/**
 * Buckets of an exponential point, lowest first: negative buckets (−base^(i+1), −base^i], the zero
 * bucket [−t, t], positive buckets (base^i, base^(i+1)], base = 2^(2^−scale). Gaps between the zero
 * bucket and the first populated ones become empty buckets, so the edges are contiguous.
 */
export function exponentialBuckets(p: ExponentialPoint): ExactBuckets {
  if (!Number.isInteger(p.scale) || p.scale < -10 || p.scale > 20) throw new Error(`exponential histogram scale ${p.scale} is out of range [-10, 20]`);
  const edge = (i: number) => 2 ** (i * 2 ** -p.scale);
  const edges: number[] = [];
  const counts: bigint[] = [];
  const neg = p.negative?.bucketCounts ?? [];
  const pos = p.positive?.bucketCounts ?? [];
  const t = Math.abs(p.zeroThreshold) || 0;
  if (neg.length) {
    const off = p.negative!.offset;
    for (let j = neg.length - 1; j >= 0; j--) {
      if (edges.length === 0) edges.push(-edge(off + j + 1));
      edges.push(-edge(off + j));
      counts.push(neg[j]!);
    }
  }
  const zeroLow = -t;
  if (edges.length === 0) edges.push(zeroLow);
  else if (edges[edges.length - 1]! < zeroLow) {
    edges.push(zeroLow);
    counts.push(0n);
  }
  edges.push(t);
  counts.push(p.zeroCount);
  if (pos.length) {
    const off = p.positive!.offset;
    const first = edge(off);
    if (first > t) {
      edges.push(first);
      counts.push(0n);
    }
    for (let j = 0; j < pos.length; j++) {
      edges.push(edge(off + j + 1));
      counts.push(pos[j]!);
    }
  }
  // Drop empty buckets at both ends (the zero bucket when it holds nothing and sits at an end).
  let lo = 0;
  let hi = counts.length;
  while (lo < hi && counts[lo] === 0n) lo++;
  while (hi > lo && counts[hi - 1] === 0n) hi--;
  return { edges: edges.slice(lo, hi + 1), counts: counts.slice(lo, hi) };
}

const pow2Ceil = (x: number) => (x <= 0 ? 1 : 2 ** Math.ceil(Math.log2(x)));

/** The grid of an explicit-bounds instrument. */
export function explicitGrid(bounds: readonly number[]): [number, number] {
  if (bounds.length === 0) return [-1, 1];
  const b0 = bounds[0]!;
  const bm = bounds[bounds.length - 1]!;
  if (bounds.length === 1) {
    const w = Math.max(Math.abs(b0), 1);
    return [b0 - w, b0 + w];
  }
  return [b0 - (bounds[1]! - b0), bm + (bm - bounds[bounds.length - 2]!)];
}

/** The grid of an exponential point, from its populated edge range. */
export function exponentialGrid(b: ExactBuckets): [number, number] {
  if (b.edges.length < 2) return [0, 1];
  const lo = b.edges[0]!;
  const hi = b.edges[b.edges.length - 1]!;
  if (lo >= 0) return [0, pow2Ceil(hi)];
  if (hi <= 0) return [-pow2Ceil(-lo), 0];
  const p = pow2Ceil(Math.max(-lo, hi));
  return [-p, p];
}

/** Finite edges: open ends replaced by the point's min/max when known, else by one neighbour width. */
function finiteEdges(b: ExactBuckets, stats: PointStats): number[] {
  const e = [...b.edges];
  const k = e.length - 1;
  if (e[0] === -Infinity) {
    const next = e[1]!;
    const w = k >= 2 && Number.isFinite(e[2]) ? e[2]! - next : Math.max(Math.abs(next), 1);
    e[0] = stats.min !== undefined && Number.isFinite(stats.min) && stats.min <= next ? stats.min : next - w;
  }
  if (e[k] === Infinity) {
    const prev = e[k - 1]!;
    const w = k >= 2 && Number.isFinite(e[k - 2]) ? prev - e[k - 2]! : Math.max(Math.abs(prev), 1);
    e[k] = stats.max !== undefined && Number.isFinite(stats.max) && stats.max >= prev ? stats.max : prev + w;
  }
  return e;
}

/**
 * Re-bins exact buckets onto [start, end] in `nbBins` uniform bins. The exact CDF (linear inside
 * each bucket) is sampled at every grid edge and rounded; bin counts are the differences, so they
 * add up to the total count exactly. Mass outside the grid lands in the first/last bin.
 */
export function toUniformHistogram(b: ExactBuckets, stats: PointStats, grid: [number, number], nbBins = GRID_BINS): HistogramValue {
  const [start, end] = grid;
  const bins: bigint[] = new Array(nbBins).fill(0n);
  const total = b.counts.reduce((s, c) => s + c, 0n);
  let sumSq = 0;
  let estSum = 0;
  if (b.counts.length > 0 && total > 0n) {
    const e = finiteEdges(b, stats);
    const counts = b.counts.map(Number);
    // Cumulative count at x (linear within buckets).
    const cdf = (x: number): number => {
      let acc = 0;
      for (let i = 0; i < counts.length; i++) {
        const lo = e[i]!;
        const hi = e[i + 1]!;
        if (x >= hi) acc += counts[i]!;
        else {
          if (x > lo) acc += (counts[i]! * (x - lo)) / (hi - lo);
          break;
        }
      }
      return acc;
    };
    const width = (end - start) / nbBins;
    let prev = 0n;
    for (let i = 0; i < nbBins; i++) {
      const cum = i === nbBins - 1 ? total : BigInt(Math.min(Math.round(cdf(start + (i + 1) * width)), Number(total)));
      bins[i] = cum > prev ? cum - prev : 0n;
      if (cum > prev) prev = cum;
    }
    for (let i = 0; i < counts.length; i++) {
      const lo = e[i]!;
      const hi = e[i + 1]!;
      // E[x²] of a uniform value on [lo, hi].
      sumSq += (counts[i]! * (lo * lo + lo * hi + hi * hi)) / 3;
      estSum += (counts[i]! * (lo + hi)) / 2;
    }
  }
  const count = stats.count > 0n ? stats.count : total;
  const sum = stats.sum ?? estSum;
  // Keep the bucket-estimated spread around the exact mean: variance = (sum_sq − sum²/n)/(n − 1).
  const n = Number(total);
  if (n > 0) sumSq = sumSq - (estSum * estSum) / n + (sum * sum) / n;
  return {
    start,
    end,
    min: stats.min ?? (total > 0n ? finiteEdges(b, stats)[0]! : Number.MAX_VALUE),
    max: stats.max ?? (total > 0n ? finiteEdges(b, stats).at(-1)! : -Number.MAX_VALUE),
    sum,
    sum_sq: sumSq,
    count,
    bins,
  };
}

/** The exact quantile by linear interpolation inside the bucket reaching count·q (what the grid approximates). */
export function exactQuantile(b: ExactBuckets, stats: PointStats, q: number): number {
  const e = finiteEdges(b, stats);
  const total = b.counts.reduce((s, c) => s + Number(c), 0);
  const target = total * q;
  let acc = 0;
  for (let i = 0; i < b.counts.length; i++) {
    const n = Number(b.counts[i]!);
    if (n > 0 && acc + n >= target) return e[i]! + ((target - acc) / n) * (e[i + 1]! - e[i]!);
    acc += n;
  }
  return e[e.length - 1] ?? NaN;
}
