// Builds the dependencies buffer of a block: strings and descriptors referenced by its events,
// each emitted once (de-duplicated by a per-extraction stamp) and before anything referring to it.
import { StringCodec } from '@micromegas/transit';
import type { StringEntry } from './strings.ts';

/** Something events refer to by id, written into the dependencies buffer when a block closes. */
export interface Dependency {
  /** Stamp of the block that last recorded a reference to it (hot-path de-duplication). */
  seen: number;
  /** Stamp of the extraction that last emitted it (exact de-duplication). */
  emitted: number;
  emit(w: DepsWriter): void;
}

export class DepsWriter {
  bytes = new Uint8Array(4096);
  view = new DataView(this.bytes.buffer);
  len = 0;
  stamp = 0;
  staticStringType = 0;
  stringDependencyType = -1;

  reset(stamp: number, staticStringType: number, stringDependencyType: number): void {
    this.len = 0;
    this.stamp = stamp;
    this.staticStringType = staticStringType;
    this.stringDependencyType = stringDependencyType;
  }

  ensure(n: number): void {
    if (this.len + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.len + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.bytes.subarray(0, this.len));
    this.bytes = bigger;
    this.view = new DataView(bigger.buffer);
  }

  u8(v: number): void {
    this.bytes[this.len++] = v;
  }
  u32(v: number): void {
    this.view.setUint32(this.len, v, true);
    this.len += 4;
  }
  id(lo: number, hi: number): void {
    this.view.setUint32(this.len, lo, true);
    this.view.setUint32(this.len + 4, hi, true);
    this.len += 8;
  }
  raw(bytes: Uint8Array): void {
    this.bytes.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** A string as `StaticString` (id + UTF-8 to the end of the body). */
  staticString(s: StringEntry): void {
    if (s.emitted === this.stamp) return;
    s.emitted = this.stamp;
    this.ensure(13 + s.utf8.length);
    this.u8(this.staticStringType);
    this.u32(8 + s.utf8.length);
    this.id(s.idLo, s.idHi);
    this.raw(s.utf8);
  }

  /** A string as `StaticStringDependency` (id + DynString), the form property sets use upstream. */
  stringDependency(s: StringEntry): void {
    if (s.emitted === this.stamp) return;
    if (this.stringDependencyType < 0) return this.staticString(s);
    s.emitted = this.stamp;
    this.ensure(18 + s.utf8.length);
    this.u8(this.stringDependencyType);
    this.u32(13 + s.utf8.length);
    this.id(s.idLo, s.idHi);
    this.u8(StringCodec.Utf8);
    this.u32(s.utf8.length);
    this.raw(s.utf8);
  }

  /** Start of a fixed-size record of `size` bytes with type `type`. */
  record(type: number, size: number): void {
    this.ensure(1 + size);
    this.u8(type);
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.len);
  }
}
