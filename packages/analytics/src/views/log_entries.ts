// log_entries rows from transit log blocks (reference analytics.md §1.4.4). Event layouts come from
// the stream's metadata (member offsets of fixed-size types) and from the named custom readers of the
// dynamically-sized ones, exactly the types upstream's log_entry_from_value accepts.
import { Schema, Utf8, type RecordBatch } from 'apache-arrow';
import type { DependencyMap, UserDefinedType } from '@micromegas/transit';
import { BytesColumn, DictStringColumn, Int32Column, Int64Column, releaseColumns } from '../arrow/builders.ts';
import { ObjectFrames, TimeWriter } from './event_time.ts';
import { makeBatch } from '../arrow/batch.ts';
import { dictBinary, dictUtf8, field, int32, timestampNs, utf8 } from '../arrow/types.ts';
import type { TransitBuffers } from '../block_source.ts';
import type { BlockWithContext } from '../metadata.ts';
import type { ConvertTicks, Nanos } from '../time.ts';
import { JsonbPropertiesColumn, ProcessBlockColumns, jsonbKey, processBlockFields } from './process_columns.ts';
import {
  asObject, DependencyIndex, fail, intMember, memberOffset, pushDynString, pushUtf8, refTypeSize, stringMember, stringProperties, u32At, utf8 as utf8Codec,
} from './transit_reader.ts';

export const LOG_ENTRIES_SCHEMA_HASH = Uint8Array.of(6);

export const logEntriesSchema = new Schema([
  ...processBlockFields(),
  field('time', timestampNs()),
  field('target', dictUtf8()),
  field('level', int32()),
  field('msg', utf8()),
  field('properties', dictBinary()),
  field('process_properties', dictBinary()),
]);

const LEVELS: Record<string, number> = { fatal: 1, error: 2, warning: 3, info: 4, debug: 5, trace: 6 };

const enum Kind {
  Skip,
  Static,
  StringV2,
  StringV1,
  InteropStatic,
  InteropV3,
  InteropV2,
  TaggedInterop,
  TaggedString,
}

interface TypePlan {
  kind: Kind;
  size: number;
  a: number; // per kind: desc / time offsets etc.
  b: number;
  c: number;
  d: number;
  levelSize: number;
}

function planFor(udts: readonly UserDefinedType[]): TypePlan[] {
  const plans: TypePlan[] = [];
  for (const u of udts) {
    const p: TypePlan = { kind: Kind.Skip, size: u.size, a: 0, b: 0, c: 0, d: 0, levelSize: 0 };
    switch (u.name) {
      case 'LogStaticStrEvent':
        if (u.size > 0) Object.assign(p, { kind: Kind.Static, a: memberOffset(u, 'desc', 8), b: memberOffset(u, 'time', 8) });
        break;
      case 'LogStringEventV2':
        p.kind = Kind.StringV2;
        break;
      case 'LogStringEvent':
        p.kind = Kind.StringV1;
        break;
      case 'LogStaticStrInteropEvent':
        if (u.size > 0) {
          const level = u.members.find((m) => m.name === 'level');
          Object.assign(p, {
            kind: Kind.InteropStatic,
            a: memberOffset(u, 'time', 8),
            b: memberOffset(u, 'level'),
            c: memberOffset(u, 'target', 8),
            d: memberOffset(u, 'msg', 8),
            levelSize: level?.size ?? 4,
          });
        }
        break;
      case 'LogStringInteropEventV3':
        Object.assign(p, { kind: Kind.InteropV3, a: refTypeSize(udts, 'StaticStringRef') });
        break;
      case 'LogStringInteropEventV2':
        Object.assign(p, { kind: Kind.InteropV2, a: refTypeSize(udts, 'StringId') });
        break;
      case 'TaggedLogInteropEvent':
        Object.assign(p, { kind: Kind.TaggedInterop, a: refTypeSize(udts, 'StaticStringRef') });
        break;
      case 'TaggedLogString':
        p.kind = Kind.TaggedString;
        break;
    }
    plans.push(p);
  }
  return plans;
}

interface LogDesc {
  level: number;
  targetId: number;
  /** fmt_str as UTF-8 (the message of static events). */
  msg: Uint8Array;
}

interface PropertySetInfo {
  id: number;
  target: string | undefined;
  level: string | undefined;
}

export interface BuiltRows {
  batch: RecordBatch;
  minTimeNs: Nanos | undefined;
  maxTimeNs: Nanos | undefined;
  rows: number;
  /** Recycles the column buffers; call once nothing reads `batch` any more. */
  release(): void;
}

/** Accumulates the log_entries rows of many blocks into one batch. */
export class LogEntriesBuilder {
  private readonly common = new ProcessBlockColumns();
  private readonly time = new Int64Column();
  private readonly target = new DictStringColumn();
  private readonly level = new Int32Column();
  private readonly msg = new BytesColumn();
  private readonly properties = new JsonbPropertiesColumn();
  private readonly emptyProperties = this.properties.idFor([]);
  private readonly plans = new WeakMap<readonly UserDefinedType[], TypePlan[]>();
  rows = 0;
  /** Events of types log_entries does not know (upstream warns and skips them). */
  skippedEvents = 0;

  /** Sizes the columns for `rows` more rows (e.g. the Σ nb_objects of a partition's blocks). */
  reserveRows(rows: number): void {
    this.common.reserve(rows);
    for (const c of [this.time, this.level, this.target, this.properties]) c.reserve(rows);
  }

  /** Decodes one block's objects into rows. Throws (TransitFormatError etc.) on a corrupt block, adding nothing. */
  addBlock(ctx: BlockWithContext, buffers: TransitBuffers, deps: DependencyMap, convert: ConvertTicks): number {
    const udts = ctx.stream.objectsMetadata;
    let plans = this.plans.get(udts);
    if (!plans) this.plans.set(udts, (plans = planFor(udts)));
    const mark = this.mark();
    const expected = ctx.block.nbObjects;
    this.time.reserve(expected);
    this.level.reserve(expected);
    this.target.reserve(expected);
    this.properties.reserve(expected);
    this.msg.reserve(expected, buffers.objects.length);
    try {
      const n = this.decode(plans, buffers.objects, deps, convert);
      this.common.fill(ctx, n);
      this.rows += n;
      return n;
    } catch (err) {
      this.rollback(mark);
      throw err;
    }
  }

  /** Appends one block's rows decoded elsewhere (OTLP logs); properties are JSONB blobs of any values. */
  addDecodedRows(ctx: BlockWithContext, rows: readonly { time: Nanos; level: number; target: string; msg: string; properties: Uint8Array }[]): number {
    this.reserveRows(rows.length);
    for (const r of rows) {
      this.time.push(r.time);
      this.level.push(r.level);
      this.target.push(r.target);
      this.msg.pushString(r.msg);
      this.properties.pushId(this.properties.id(jsonbKey(r.properties), () => r.properties));
    }
    this.common.fill(ctx, rows.length);
    this.rows += rows.length;
    return rows.length;
  }

  private decode(plans: TypePlan[], b: Uint8Array, deps: DependencyMap, convert: ConvertTicks): number {
    const target = this.target;
    const descs = new DependencyIndex<LogDesc>(deps, (v) => {
      const o = asObject(v, 'log descriptor');
      return { level: intMember(o, 'level'), targetId: target.id(stringMember(o, 'target')), msg: utf8Codec.encode(stringMember(o, 'fmt_str')) };
    });
    const strings = new DependencyIndex<string>(deps, (v) => (typeof v === 'string' ? v : fail('string reference does not name a string')));
    const props = new DependencyIndex<PropertySetInfo>(deps, (v) => {
      const o = asObject(v, 'property set');
      const entries = stringProperties(o);
      const get = (k: string) => entries.find((e) => e[0] === k)?.[1];
      return { id: this.properties.idFor(entries), target: get('target'), level: get('level') };
    });
    const time = new TimeWriter(convert, this.time);
    const level = this.level;
    const msg = this.msg;
    const properties = this.properties;
    const empty = this.emptyProperties;
    const frames = new ObjectFrames(b, plans.map((p) => p.size));
    let rows = 0;
    let type: number;
    while ((type = frames.next()) >= 0) {
      const plan = plans[type]!;
      const start = frames.start;
      const end = frames.end;
      const size = end - start;
      switch (plan.kind) {
        case Kind.Static: {
          const d = descs.at(b, start + plan.a, 'LogStaticStrEvent.desc');
          time.push(b, start + plan.b);
          target.pushId(d.targetId);
          level.push(d.level);
          msg.pushRange(d.msg, 0, d.msg.length);
          properties.pushId(empty);
          break;
        }
        case Kind.StringV2:
        case Kind.StringV1: {
          if (size < 16) fail('LogStringEvent is shorter than 16 bytes');
          const d = descs.at(b, start, 'LogStringEvent.desc');
          if (plan.kind === Kind.StringV2) pushDynString(msg, b, start + 16, end, 'LogStringEventV2.msg');
          else pushUtf8(msg, b, start + 16, end);
          time.push(b, start + 8);
          target.pushId(d.targetId);
          level.push(d.level);
          properties.pushId(empty);
          break;
        }
        case Kind.InteropStatic: {
          time.push(b, start + plan.a);
          level.push(plan.levelSize === 1 ? b[start + plan.b]! : u32At(b, start + plan.b));
          target.push(strings.at(b, start + plan.c, 'LogStaticStrInteropEvent.target'));
          msg.pushString(strings.at(b, start + plan.d, 'LogStaticStrInteropEvent.msg'));
          properties.pushId(empty);
          break;
        }
        case Kind.InteropV3:
        case Kind.InteropV2:
        case Kind.TaggedInterop: {
          const levelSize = plan.kind === Kind.InteropV2 ? 4 : 1;
          const targetAt = start + 8 + levelSize;
          let next = targetAt + plan.a;
          if (next > end) fail('log interop event is truncated');
          const targetName = strings.at(b, targetAt, 'log interop target');
          let propsId = empty;
          if (plan.kind === Kind.TaggedInterop) {
            if (next + 8 > end) fail('TaggedLogInteropEvent is truncated');
            propsId = props.at(b, next, 'TaggedLogInteropEvent.properties').id;
            next += 8;
          }
          if (plan.kind === Kind.InteropV2) pushUtf8(msg, b, next, end);
          else pushDynString(msg, b, next, end, 'log interop msg');
          time.push(b, start);
          level.push(levelSize === 1 ? b[start + 8]! : u32At(b, start + 8));
          target.push(targetName);
          properties.pushId(propsId);
          break;
        }
        case Kind.TaggedString: {
          if (size < 24) fail('TaggedLogString is shorter than 24 bytes');
          const d = descs.at(b, start, 'TaggedLogString.desc');
          const p = props.at(b, start + 8, 'TaggedLogString.properties');
          let lvl = d.level;
          if (p.level !== undefined) {
            const parsed = LEVELS[p.level];
            if (parsed === undefined) fail(`TaggedLogString: invalid level property ${JSON.stringify(p.level)}`);
            lvl = parsed;
          }
          pushDynString(msg, b, start + 24, end, 'TaggedLogString.msg');
          time.push(b, start + 16);
          level.push(lvl);
          if (p.target !== undefined) target.push(p.target);
          else target.pushId(d.targetId);
          properties.pushId(p.id);
          break;
        }
        default:
          this.skippedEvents++;
          continue;
      }
      rows++;
    }
    return rows;
  }

  private mark(): number[] {
    return [this.time.length, this.level.length, this.msg.length, this.msg.byteLength, this.target.indices.length, this.properties.indices.length];
  }

  private rollback(m: number[]): void {
    this.time.length = m[0]!;
    this.level.length = m[1]!;
    this.msg.length = m[2]!;
    this.msg.byteLength = m[3]!;
    this.target.indices.length = m[4]!;
    this.properties.indices.length = m[5]!;
  }

  finish(): BuiltRows {
    const batch = makeBatch(logEntriesSchema, [
      ...this.common.leading(),
      this.time.finish(timestampNs()),
      this.target.finish(),
      this.level.finish(),
      this.msg.finish(new Utf8()),
      this.properties.finish(),
      this.common.processProperties.finish(),
    ]);
    const { min, max } = this.time.range();
    const columns = [...this.common.columns(), this.time, this.target, this.level, this.msg, this.properties];
    return { batch, minTimeNs: min, maxTimeNs: max, rows: this.rows, release: () => releaseColumns(columns) };
  }
}

