// The Arrow types of the view schemas (reference analytics.md §1.4). Timestamps carry no time zone
// in Parquet files so that DuckDB reads them as exact TIMESTAMP_NS; they are UTC nanoseconds.
import { Binary, Dictionary, Field, Float64, Int32, Int64, List, Timestamp, TimeUnit, Uint32, Utf8, Bool, type DataType } from 'apache-arrow';

export const timestampNs = (): Timestamp => new Timestamp(TimeUnit.NANOSECOND);
export const dictUtf8 = (): Dictionary<Utf8, Int32> => new Dictionary(new Utf8(), new Int32());
export const dictBinary = (): Dictionary<Binary, Int32> => new Dictionary(new Binary(), new Int32());
export const utf8 = (): Utf8 => new Utf8();
export const binary = (): Binary => new Binary();
export const int32 = (): Int32 => new Int32();
export const int64 = (): Int64 => new Int64();
export const uint32 = (): Uint32 => new Uint32();
export const float64 = (): Float64 => new Float64();
export const bool = (): Bool => new Bool();
export const utf8List = (itemName = 'tag'): List<Utf8> => new List(new Field(itemName, new Utf8(), false));

export function field(name: string, type: DataType, nullable = false): Field {
  return new Field(name, type, nullable);
}
