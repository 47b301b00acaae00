// measures rows from transit metrics blocks (reference analytics.md §1.4.5): integer and float
// metrics, tagged or not; integer metrics in "ticks" become seconds like upstream.
import { Schema } from 'apache-arrow';
import type { DependencyMap, UserDefinedType } from '@micromegas/transit';
import { DictStringColumn, Float64Column, Int64Column, releaseColumns } from '../arrow/builders.ts';
import { makeBatch } from '../arrow/batch.ts';
import { dictBinary, dictUtf8, field, float64, timestampNs } from '../arrow/types.ts';
import type { TransitBuffers } from '../block_source.ts';
import type { BlockWithContext } from '../metadata.ts';
import type { ConvertTicks, Nanos } from '../time.ts';
import { ObjectFrames, TimeWriter } from './event_time.ts';
import type { BuiltRows } from './log_entries.ts';
import { JsonbPropertiesColumn, ProcessBlockColumns, jsonbKey, processBlockFields } from './process_columns.ts';
import { asObject, DependencyIndex, f64At, memberOffset, stringMember, stringProperties, u32At } from './transit_reader.ts';

export const MEASURES_SCHEMA_HASH = Uint8Array.of(7);

export const measuresSchema = new Schema([
  ...processBlockFields(),
  field('time', timestampNs()),
  field('target', dictUtf8()),
  field('name', dictUtf8()),
  field('unit', dictUtf8()),
  field('value', float64()),
  field('properties', dictBinary()),
  field('process_properties', dictBinary()),
]);

interface MetricPlan {
  size: number;
  known: boolean;
  integer: boolean;
  desc: number;
  value: number;
  time: number;
  /** Offset of the properties reference, -1 when untagged. */
  props: number;
}

function planFor(udts: readonly UserDefinedType[]): MetricPlan[] {
  return udts.map((u) => {
    const p: MetricPlan = { size: u.size, known: false, integer: false, desc: 0, value: 0, time: 0, props: -1 };
    const tagged = u.name === 'TaggedIntegerMetricEvent' || u.name === 'TaggedFloatMetricEvent';
    if (u.size > 0 && (tagged || u.name === 'IntegerMetricEvent' || u.name === 'FloatMetricEvent')) {
      p.known = true;
      p.integer = u.name.includes('Integer');
      p.desc = memberOffset(u, 'desc', 8);
      p.value = memberOffset(u, 'value', 8);
      p.time = memberOffset(u, 'time', 8);
      if (tagged) p.props = memberOffset(u, 'properties', 8);
    }
    return p;
  });
}

interface MetricDesc {
  targetId: number;
  nameId: number;
  unitId: number;
  ticks: boolean;
}

interface MetricProps {
  id: number;
  target: string | undefined;
  name: string | undefined;
  unit: string | undefined;
}

const SECONDS = 'seconds';

export class MeasuresBuilder {
  private readonly common = new ProcessBlockColumns();
  private readonly time = new Int64Column();
  private readonly target = new DictStringColumn();
  private readonly name = new DictStringColumn();
  private readonly unit = new DictStringColumn();
  private readonly value = new Float64Column();
  private readonly properties = new JsonbPropertiesColumn();
  private readonly emptyProperties = this.properties.idFor([]);
  private readonly secondsId = this.unit.id(SECONDS);
  private readonly plans = new WeakMap<readonly UserDefinedType[], MetricPlan[]>();
  rows = 0;
  skippedEvents = 0;

  reserveRows(rows: number): void {
    this.common.reserve(rows);
    for (const c of [this.time, this.target, this.name, this.unit, this.value, this.properties]) c.reserve(rows);
  }

  addBlock(ctx: BlockWithContext, buffers: TransitBuffers, deps: DependencyMap, convert: ConvertTicks): number {
    const udts = ctx.stream.objectsMetadata;
    let plans = this.plans.get(udts);
    if (!plans) this.plans.set(udts, (plans = planFor(udts)));
    const mark = [this.time.length, this.target.length, this.name.length, this.unit.length, this.value.length, this.properties.indices.length];
    const expected = ctx.block.nbObjects;
    for (const c of [this.time, this.target, this.name, this.unit, this.value, this.properties]) c.reserve(expected);
    try {
      const n = this.decode(plans, buffers.objects, deps, convert);
      this.common.fill(ctx, n);
      this.rows += n;
      return n;
    } catch (err) {
      [this.time.length, this.target.indices.length, this.name.indices.length, this.unit.indices.length, this.value.length, this.properties.indices.length] = mark as [number, number, number, number, number, number];
      throw err;
    }
  }

  /** Appends one block's rows decoded elsewhere (OTLP metrics); properties are JSONB blobs of any values. */
  addDecodedRows(ctx: BlockWithContext, rows: readonly { time: Nanos; target: string; name: string; unit: string; value: number; properties: Uint8Array }[]): number {
    this.reserveRows(rows.length);
    for (const r of rows) {
      this.time.push(r.time);
      this.target.push(r.target);
      this.name.push(r.name);
      this.unit.push(r.unit);
      this.value.push(r.value);
      this.properties.pushId(this.properties.id(jsonbKey(r.properties), () => r.properties));
    }
    this.common.fill(ctx, rows.length);
    this.rows += rows.length;
    return rows.length;
  }

  private decode(plans: MetricPlan[], b: Uint8Array, deps: DependencyMap, convert: ConvertTicks): number {
    const descs = new DependencyIndex<MetricDesc>(deps, (v) => {
      const o = asObject(v, 'metric descriptor');
      const unit = stringMember(o, 'unit');
      return { targetId: this.target.id(stringMember(o, 'target')), nameId: this.name.id(stringMember(o, 'name')), unitId: this.unit.id(unit), ticks: unit === 'ticks' };
    });
    const props = new DependencyIndex<MetricProps>(deps, (v) => {
      const entries = stringProperties(asObject(v, 'property set'));
      const get = (k: string) => entries.find((e) => e[0] === k)?.[1];
      return { id: this.properties.idFor(entries), target: get('target'), name: get('name'), unit: get('unit') };
    });
    const time = new TimeWriter(convert, this.time);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const frames = new ObjectFrames(b, plans.map((p) => p.size));
    let rows = 0;
    let type: number;
    while ((type = frames.next()) >= 0) {
      const p = plans[type]!;
      if (!p.known) {
        this.skippedEvents++;
        continue;
      }
      const start = frames.start;
      const d = descs.at(b, start + p.desc, 'metric desc');
      let unitId = d.unitId;
      let ticks = d.ticks;
      if (p.props >= 0) {
        const pr = props.at(b, start + p.props, 'metric properties');
        if (pr.target !== undefined) this.target.push(pr.target);
        else this.target.pushId(d.targetId);
        if (pr.name !== undefined) this.name.push(pr.name);
        else this.name.pushId(d.nameId);
        if (pr.unit !== undefined) {
          unitId = this.unit.id(pr.unit);
          ticks = pr.unit === 'ticks';
        }
        this.properties.pushId(pr.id);
      } else {
        this.target.pushId(d.targetId);
        this.name.pushId(d.nameId);
        this.properties.pushId(this.emptyProperties);
      }
      let value: number;
      if (p.integer) {
        const lo = u32At(b, start + p.value);
        const hi = u32At(b, start + p.value + 4);
        if (ticks) {
          // Upstream reinterprets the u64 as i64 before converting ticks to milliseconds.
          const signed = (hi | 0) * 4294967296 + lo;
          value = convert.deltaTicksToMs(signed) / 1000;
          unitId = this.secondsId;
        } else value = hi * 4294967296 + lo;
      } else value = f64At(view, start + p.value);
      this.unit.pushId(unitId);
      this.value.push(value);
      time.push(b, start + p.time);
      rows++;
    }
    return rows;
  }

  finish(): BuiltRows {
    const batch = makeBatch(measuresSchema, [
      ...this.common.leading(),
      this.time.finish(timestampNs()),
      this.target.finish(),
      this.name.finish(),
      this.unit.finish(),
      this.value.finish(),
      this.properties.finish(),
      this.common.processProperties.finish(),
    ]);
    const { min, max } = this.time.range();
    const columns = [...this.common.columns(), this.time, this.target, this.name, this.unit, this.value, this.properties];
    return { batch, minTimeNs: min, maxTimeNs: max, rows: this.rows, release: () => releaseColumns(columns) };
  }
}
