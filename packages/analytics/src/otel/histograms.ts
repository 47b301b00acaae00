// The `histograms` view (ours; upstream drops OTLP histograms): one row per Histogram or
// ExponentialHistogram point of OTLP metrics blocks, global (daemon) and per process (JIT), with the
// measures identity columns, the point's uniform-grid histogram STRUCT — the type make_histogram
// returns, so every histogram function takes it — and its exact buckets (histogram_grid.ts).
import { Field, Float64, List, makeData, Schema, Struct, Uint64, type Data, type RecordBatch } from 'apache-arrow';
import { makeBatch } from '../arrow/batch.ts';
import { DictBinaryColumn, DictStringColumn, Int64Column } from '../arrow/builders.ts';
import { dictBinary, dictUtf8, field, float64, timestampNs } from '../arrow/types.ts';
import type { BlockWithContext } from '../metadata.ts';
import type { Nanos } from '../time.ts';
import { ProcessBlockColumns, jsonbKey, processBlockFields } from '../views/process_columns.ts';
import type { DecodedHistogramRow } from './metrics.ts';

export const HISTOGRAMS_SCHEMA_HASH = Uint8Array.of(1);

const uint64 = () => new Uint64();
const histogramFields = [
  field('start', float64()), field('end', float64()), field('min', float64()), field('max', float64()),
  field('sum', float64()), field('sum_sq', float64()), field('count', uint64()),
  field('bins', new List(new Field('bin', uint64(), false))),
];
const histogramType = new Struct(histogramFields);

export const histogramsSchema = new Schema([
  ...processBlockFields(),
  field('time', timestampNs()),
  field('start_time', timestampNs(), true),
  field('target', dictUtf8()),
  field('name', dictUtf8()),
  field('unit', dictUtf8()),
  field('kind', dictUtf8()),
  field('properties', dictBinary()),
  field('process_properties', dictBinary()),
  field('histogram', histogramType),
  field('edges', new List(new Field('edge', float64(), false))),
  field('counts', new List(new Field('count', uint64(), false))),
]);

function listData(type: List, child: Data, lengths: number[]): Data {
  const offsets = new Int32Array(lengths.length + 1);
  lengths.forEach((n, i) => (offsets[i + 1] = offsets[i]! + n));
  return makeData({ type, length: lengths.length, valueOffsets: offsets, child } as never);
}

const f64 = (values: number[]) => makeData({ type: new Float64(), length: values.length, data: Float64Array.from(values) });
const u64 = (values: bigint[]) => makeData({ type: uint64(), length: values.length, data: BigUint64Array.from(values) } as never);

export function buildHistogramsBatch(blocks: readonly { ctx: BlockWithContext; rows: DecodedHistogramRow[] }[]): { batch: RecordBatch; min: Nanos | undefined; max: Nanos | undefined } {
  const common = new ProcessBlockColumns();
  const time = new Int64Column();
  const startTimes: (Nanos | null)[] = [];
  const target = new DictStringColumn();
  const name = new DictStringColumn();
  const unit = new DictStringColumn();
  const kind = new DictStringColumn();
  const props = new DictBinaryColumn();
  const all: DecodedHistogramRow[] = [];
  for (const { ctx, rows } of blocks) {
    common.fill(ctx, rows.length);
    for (const r of rows) {
      all.push(r);
      time.push(r.time);
      startTimes.push(r.startTime);
      target.push(r.target);
      name.push(r.name);
      unit.push(r.unit);
      kind.push(r.kind);
      props.pushId(props.id(jsonbKey(r.properties), () => r.properties));
    }
  }
  const n = all.length;
  const valid = new Uint8Array(Math.ceil(n / 8));
  let nulls = 0;
  const starts = new BigInt64Array(n);
  startTimes.forEach((s, i) => {
    if (s === null) nulls++;
    else {
      starts[i] = s;
      valid[i >> 3]! |= 1 << (i & 7);
    }
  });
  const h = all.map((r) => r.histogram);
  const histogram = makeData({
    type: histogramType,
    length: n,
    nullCount: 0,
    children: [
      f64(h.map((x) => x.start)), f64(h.map((x) => x.end)), f64(h.map((x) => x.min)), f64(h.map((x) => x.max)),
      f64(h.map((x) => x.sum)), f64(h.map((x) => x.sum_sq)), u64(h.map((x) => x.count)),
      listData(histogramFields[7]!.type as List, u64(h.flatMap((x) => x.bins)), h.map((x) => x.bins.length)),
    ],
  });
  const edgesType = histogramsSchema.fields.at(-2)!.type as List;
  const countsType = histogramsSchema.fields.at(-1)!.type as List;
  const batch = makeBatch(histogramsSchema, [
    ...common.leading(),
    time.finish(timestampNs()),
    makeData({ type: timestampNs(), length: n, data: starts, nullCount: nulls, nullBitmap: nulls ? valid : undefined } as never),
    target.finish(), name.finish(), unit.finish(), kind.finish(), props.finish(), common.processProperties.finish(),
    histogram,
    listData(edgesType, f64(all.flatMap((r) => r.edges)), all.map((r) => r.edges.length)),
    listData(countsType, u64(all.flatMap((r) => r.counts)), all.map((r) => r.counts.length)),
  ]);
  const { min, max } = time.range();
  return { batch, min, max };
}
