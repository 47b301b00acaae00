// Arrow field -> Parquet leaf column: physical type, how its values are laid out, which statistics it
// gets, and the LogicalType + legacy ConvertedType annotations (both, so older readers agree).
import { DataType, Type, TimeUnit, type Field } from 'apache-arrow';
import type { CompactWriter } from './sink.ts';

export const enum Physical {
  Boolean = 0,
  Int32 = 1,
  Int64 = 2,
  Float = 4,
  Double = 5,
  ByteArray = 6,
}

const enum Converted {
  Utf8 = 0,
  TimestampMillis = 9,
  TimestampMicros = 10,
  Uint8 = 11,
  Uint16 = 12,
  Uint32 = 13,
}

export type Layout = 'fixed' | 'bool' | 'bytes' | 'dict';
/** How min/max statistics compare values; 'none' writes no min/max. */
export type StatsKind = 'i32' | 'u32' | 'i64' | 'f32' | 'f64' | 'utf8' | 'none';

export interface ColumnPlan {
  name: string;
  optional: boolean;
  physical: Physical;
  layout: Layout;
  /** Bytes per value for 'fixed'. */
  width: number;
  stats: StatsKind;
  /** Int64 columns that may use DELTA_BINARY_PACKED (timestamps). */
  delta: boolean;
  converted?: Converted;
  /** Writes the SchemaElement.logicalType field (id 10), when there is one. */
  logical?: (w: CompactWriter) => void;
}

const stringLogical = (w: CompactWriter): void => {
  w.beginStruct(10);
  w.emptyStruct(1); // STRING
  w.endStruct();
};

function intLogical(bitWidth: number, signed: boolean) {
  return (w: CompactWriter): void => {
    w.beginStruct(10);
    w.beginStruct(10); // INTEGER
    w.i8(1, bitWidth);
    w.bool(2, signed);
    w.endStruct();
    w.endStruct();
  };
}

function timestampLogical(adjustedToUtc: boolean, unitField: number) {
  return (w: CompactWriter): void => {
    w.beginStruct(10);
    w.beginStruct(8); // TIMESTAMP
    w.bool(1, adjustedToUtc);
    w.beginStruct(2); // TimeUnit union
    w.emptyStruct(unitField); // 1 MILLIS, 2 MICROS, 3 NANOS
    w.endStruct();
    w.endStruct();
    w.endStruct();
  };
}

/** The plan for one Arrow field, or undefined when this writer does not handle its type. */
export function planColumn(field: Field): ColumnPlan | undefined {
  const t = field.type as DataType;
  const base = { name: field.name, optional: field.nullable, width: 0, delta: false };
  switch (t.typeId) {
    case Type.Bool:
      return { ...base, physical: Physical.Boolean, layout: 'bool', stats: 'none' };
    case Type.Int: {
      const { bitWidth, isSigned } = t as unknown as { bitWidth: number; isSigned: boolean };
      if (bitWidth === 32 && isSigned) return { ...base, physical: Physical.Int32, layout: 'fixed', width: 4, stats: 'i32' };
      if (bitWidth === 32) return { ...base, physical: Physical.Int32, layout: 'fixed', width: 4, stats: 'u32', converted: Converted.Uint32, logical: intLogical(32, false) };
      if (bitWidth === 64 && isSigned) return { ...base, physical: Physical.Int64, layout: 'fixed', width: 8, stats: 'i64' };
      return undefined; // 8/16-bit would need widening; uint64 needs unsigned statistics
    }
    case Type.Float: {
      const { precision } = t as unknown as { precision: number };
      if (precision === 1) return { ...base, physical: Physical.Float, layout: 'fixed', width: 4, stats: 'f32' };
      if (precision === 2) return { ...base, physical: Physical.Double, layout: 'fixed', width: 8, stats: 'f64' };
      return undefined;
    }
    case Type.Timestamp: {
      const { unit, timezone } = t as unknown as { unit: TimeUnit; timezone: string | null };
      const utc = timezone !== null && timezone !== undefined && timezone !== '';
      const plan: ColumnPlan = { ...base, physical: Physical.Int64, layout: 'fixed', width: 8, stats: 'i64', delta: true };
      if (unit === TimeUnit.NANOSECOND) return { ...plan, logical: timestampLogical(utc, 3) };
      if (unit === TimeUnit.MICROSECOND) return { ...plan, converted: Converted.TimestampMicros, logical: timestampLogical(utc, 2) };
      if (unit === TimeUnit.MILLISECOND) return { ...plan, converted: Converted.TimestampMillis, logical: timestampLogical(utc, 1) };
      return undefined; // seconds have no Parquet timestamp unit
    }
    case Type.Utf8:
      return { ...base, physical: Physical.ByteArray, layout: 'bytes', stats: 'none', converted: Converted.Utf8, logical: stringLogical };
    case Type.Binary:
      return { ...base, physical: Physical.ByteArray, layout: 'bytes', stats: 'none' };
    case Type.Dictionary: {
      const { dictionary, indices } = t as unknown as { dictionary: DataType; indices: { bitWidth: number } };
      if (indices.bitWidth > 32) return undefined;
      if (dictionary.typeId === Type.Utf8) {
        return { ...base, physical: Physical.ByteArray, layout: 'dict', stats: 'utf8', converted: Converted.Utf8, logical: stringLogical };
      }
      if (dictionary.typeId === Type.Binary) return { ...base, physical: Physical.ByteArray, layout: 'dict', stats: 'none' };
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Writes one leaf SchemaElement as a list element. */
export function writeSchemaElement(w: CompactWriter, plan: ColumnPlan): void {
  w.beginElement();
  w.i32(1, plan.physical);
  w.i32(3, plan.optional ? 1 : 0); // OPTIONAL / REQUIRED
  w.string(4, plan.name);
  if (plan.converted !== undefined) w.i32(6, plan.converted);
  plan.logical?.(w);
  w.endStruct();
}
