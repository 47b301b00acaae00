// Histograms (reference analytics.md §2.3, §2.4): a STRUCT value built and merged by aggregate macros
// over DuckDB's own aggregates (DuckDB has no JavaScript aggregate functions), read by scalar macros
// and one JavaScript function (the quantile walk over the bins).
import { ANY, DOUBLE, DuckDBListValue, DuckDBScalarFunction, DuckDBStructValue } from '@duckdb/node-api';

/** The histogram STRUCT's DuckDB type (upstream's Arrow struct, field for field). */
export const HISTOGRAM_TYPE = 'STRUCT(start DOUBLE, "end" DOUBLE, min DOUBLE, max DOUBLE, sum DOUBLE, sum_sq DOUBLE, count UBIGINT, bins UBIGINT[])';

/** f64::MAX / f64::MIN: the min/max of a histogram that holds no value yet. */
const F64_MAX = '1.7976931348623157e308';

// make_histogram: bounds may be runtime expressions but must not vary within a group (upstream checks
// each batch's first row; checking every row is stricter). The bin of v is
// clamp(floor((v - start) / ((end - start) / nb_bins)), 0, nb_bins - 1); NaN lands in bin 0 as Rust's
// saturating float→usize cast does. A group without rows is NULL (upstream: NULL unless the bounds are
// literals, in which case it is an empty histogram — a macro cannot tell literals apart).
const S = 'CAST(hs AS DOUBLE)';
const E = 'CAST(he AS DOUBLE)';
const V = 'CAST(hv AS DOUBLE)';
const BIN = `(${V} - ${S}) / ((${E} - ${S}) / CAST(hn AS DOUBLE))`;
const BIN_INDEX = `CASE WHEN isnan(${BIN}) THEN 0 ELSE CAST(greatest(0, least(CAST(hn AS DOUBLE) - 1, floor(${BIN}))) AS BIGINT) END`;

export const HISTOGRAM_MACROS: readonly string[] = [
  `CREATE MACRO make_histogram(hs, he, hn, hv) AS (CASE
     WHEN count(*) = 0 THEN NULL
     WHEN count(hs) < count(*) THEN error('make_histogram: start argument is null')
     WHEN count(he) < count(*) THEN error('make_histogram: end argument is null')
     WHEN count(hn) < count(*) THEN error('make_histogram: nb_bins argument is null')
     WHEN min(${S}) <> max(${S}) OR min(${E}) <> max(${E}) OR min(hn) <> max(hn)
       THEN error('make_histogram: bounds/bins changed between batches')
     WHEN max(hn) < 1 THEN error('make_histogram: nb_bins must be >= 1, got ' || CAST(max(hn) AS VARCHAR))
     WHEN NOT isfinite(max(${S})) THEN error('make_histogram: start must be finite, got ' || CAST(max(${S}) AS VARCHAR))
     WHEN NOT isfinite(max(${E})) THEN error('make_histogram: end must be finite, got ' || CAST(max(${E}) AS VARCHAR))
     WHEN max(${S}) > max(${E})
       THEN error('make_histogram: start (' || CAST(max(${S}) AS VARCHAR) || ') must be <= end (' || CAST(max(${E}) AS VARCHAR) || ')')
     ELSE CAST(struct_pack(
       start := max(${S}),
       "end" := max(${E}),
       min := coalesce(min(${V}) FILTER (WHERE NOT isnan(${V})), ${F64_MAX}),
       max := coalesce(max(${V}) FILTER (WHERE NOT isnan(${V})), -${F64_MAX}),
       sum := coalesce(sum(${V}), 0),
       sum_sq := coalesce(sum(${V} * ${V}), 0),
       count := count(hv),
       bins := list_transform(range(CAST(max(hn) AS BIGINT)), i -> coalesce((histogram(${BIN_INDEX}) FILTER (WHERE hv IS NOT NULL))[i], 0))
     ) AS ${HISTOGRAM_TYPE}) END)`,
  // Merges histograms of the same start, end and bin count; NULL histograms are skipped, no histogram
  // at all gives NULL.
  `CREATE MACRO sum_histograms(h) AS (CASE
     WHEN count(h) = 0 THEN NULL
     WHEN min(struct_extract(h, 'start')) <> max(struct_extract(h, 'start'))
       OR min(struct_extract(h, 'end')) <> max(struct_extract(h, 'end'))
       OR min(len(struct_extract(h, 'bins'))) <> max(len(struct_extract(h, 'bins')))
       THEN error('Error merging incompatible histograms')
     ELSE CAST(struct_pack(
       start := max(struct_extract(h, 'start')),
       "end" := max(struct_extract(h, 'end')),
       min := min(struct_extract(h, 'min')),
       max := max(struct_extract(h, 'max')),
       sum := sum(struct_extract(h, 'sum')),
       sum_sq := sum(struct_extract(h, 'sum_sq')),
       count := sum(struct_extract(h, 'count')),
       bins := list_reduce(list(struct_extract(h, 'bins')) FILTER (WHERE h IS NOT NULL),
         (a, b) -> list_transform(range(len(a)), i -> CAST(a[i + 1] AS UBIGINT) + CAST(b[i + 1] AS UBIGINT)))
     ) AS ${HISTOGRAM_TYPE}) END)`,
  `CREATE MACRO count_from_histogram(h) AS CAST(struct_extract(h, 'count') AS UBIGINT)`,
  `CREATE MACRO sum_from_histogram(h) AS CAST(struct_extract(h, 'sum') AS DOUBLE)`,
  // Sample variance from the moments: ((sum_sq/n) - mean²) · n/(n-1).
  `CREATE MACRO variance_from_histogram(h) AS (
     (CAST(struct_extract(h, 'sum_sq') AS DOUBLE) / CAST(struct_extract(h, 'count') AS DOUBLE)
       - pow(CAST(struct_extract(h, 'sum') AS DOUBLE) / CAST(struct_extract(h, 'count') AS DOUBLE), 2))
     * (CAST(struct_extract(h, 'count') AS DOUBLE) / (CAST(struct_extract(h, 'count') AS DOUBLE) - 1)))`,
];

/**
 * Quantile estimate: target = count·q; at the first non-empty bin where the running count reaches the
 * target, interpolate linearly between the bin's edges; `end` if no bin does.
 */
export function estimateQuantile(q: number, start: number, end: number, count: number, bins: readonly number[]): number {
  const target = count * q;
  const width = (end - start) / bins.length;
  let cumulative = 0;
  for (let i = 0; i < bins.length; i++) {
    const n = bins[i]!;
    cumulative += n;
    if (cumulative >= target && n > 0) {
      const before = cumulative - n;
      const ratio = (target - before) / (cumulative - before);
      const lo = start + i * width;
      const hi = start + (i + 1) * width;
      return (1 - ratio) * lo + ratio * hi;
    }
  }
  return end;
}

function field(s: DuckDBStructValue, name: string): unknown {
  if (!Object.hasOwn(s.entries, name)) throw new Error(`not a histogram: no field ${name}`);
  return s.entries[name];
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));

/** quantile_from_histogram(h, q): takes any struct with the histogram's fields. */
export function histogramFunctions(): DuckDBScalarFunction[] {
  return [
    DuckDBScalarFunction.create({
      name: 'quantile_from_histogram',
      returnType: DOUBLE,
      parameterTypes: [ANY, DOUBLE],
      mainFunction: (info, input, output) => {
        const hs = input.getColumnVector(0);
        const qs = input.getColumnVector(1);
        try {
          for (let row = 0; row < input.rowCount; row++) {
            const h = hs.getItem(row);
            const q = qs.getItem(row) as number | null;
            if (h === null || q === null) {
              output.setItem(row, null);
              continue;
            }
            if (!(h instanceof DuckDBStructValue)) throw new Error('the first argument must be a histogram struct');
            const bins = field(h, 'bins');
            if (!(bins instanceof DuckDBListValue)) throw new Error('not a histogram: bins is not a list');
            const value = estimateQuantile(q, num(field(h, 'start')), num(field(h, 'end')), num(field(h, 'count')), bins.items.map(num));
            output.setItem(row, value);
          }
          output.flush();
        } catch (err) {
          info.setError(`quantile_from_histogram: ${(err as Error).message}`);
        }
      },
    }),
  ];
}
