// A growable byte buffer and a Thrift compact-protocol writer on top of it: all the Parquet footer and
// page headers need (structs, unions, lists, i8/i32/i64, bool, binary). Field ids come from
// parquet-format's parquet.thrift.

const utf8 = new TextEncoder();

export class ByteSink {
  buf: Uint8Array;
  pos = 0;

  constructor(initial = 1 << 16) {
    this.buf = new Uint8Array(initial);
  }

  ensure(extra: number): void {
    const needed = this.pos + extra;
    if (needed <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < needed) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
  }

  byte(v: number): void {
    if (this.pos === this.buf.length) this.ensure(1);
    this.buf[this.pos++] = v;
  }

  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  u32le(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v & 0xff;
    b[p + 1] = (v >>> 8) & 0xff;
    b[p + 2] = (v >>> 16) & 0xff;
    b[p + 3] = (v >>> 24) & 0xff;
    this.pos = p + 4;
  }

  /** Unsigned LEB128 of a non-negative integer below 2^53 (no 32-bit ops, so large sizes stay exact). */
  varint(v: number): void {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** Zigzag varint of a safe integer (thrift i16/i32/i64 share it). */
  zigzag(v: number): void {
    this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  result(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

export const enum CType {
  True = 1,
  False = 2,
  Byte = 3,
  I16 = 4,
  I32 = 5,
  I64 = 6,
  Double = 7,
  Binary = 8,
  List = 9,
  Struct = 12,
}

/** Thrift compact protocol: field headers carry the id delta; nested structs restart the delta at 0. */
export class CompactWriter {
  private last = 0;
  private readonly stack: number[] = [];

  constructor(readonly out: ByteSink) {}

  private header(id: number, type: number): void {
    const delta = id - this.last;
    if (delta > 0 && delta <= 15) this.out.byte((delta << 4) | type);
    else {
      this.out.byte(type);
      this.out.zigzag(id);
    }
    this.last = id;
  }

  i8(id: number, v: number): void {
    this.header(id, CType.Byte);
    this.out.byte(v & 0xff);
  }
  i16(id: number, v: number): void {
    this.header(id, CType.I16);
    this.out.zigzag(v);
  }
  i32(id: number, v: number): void {
    this.header(id, CType.I32);
    this.out.zigzag(v);
  }
  i64(id: number, v: number): void {
    this.header(id, CType.I64);
    this.out.zigzag(v);
  }
  bool(id: number, v: boolean): void {
    this.header(id, v ? CType.True : CType.False);
  }
  binary(id: number, v: Uint8Array): void {
    this.header(id, CType.Binary);
    this.out.varint(v.length);
    this.out.bytes(v);
  }
  string(id: number, v: string): void {
    this.binary(id, utf8.encode(v));
  }
  beginStruct(id: number): void {
    this.header(id, CType.Struct);
    this.stack.push(this.last);
    this.last = 0;
  }
  /** Closes a struct opened by beginStruct or beginElement. */
  endStruct(): void {
    this.out.byte(0);
    this.last = this.stack.pop() ?? 0;
  }
  /** A field holding an empty struct (union members such as StringType or NanoSeconds). */
  emptyStruct(id: number): void {
    this.beginStruct(id);
    this.endStruct();
  }
  list(id: number, elementType: CType, size: number): void {
    this.header(id, CType.List);
    if (size < 15) this.out.byte((size << 4) | elementType);
    else {
      this.out.byte(0xf0 | elementType);
      this.out.varint(size);
    }
  }
  /** Starts a struct that is a list element (no field header). */
  beginElement(): void {
    this.stack.push(this.last);
    this.last = 0;
  }
  listI32(v: number): void {
    this.out.zigzag(v);
  }
  listString(v: string): void {
    const b = utf8.encode(v);
    this.out.varint(b.length);
    this.out.bytes(b);
  }
  /** Ends the top-level struct (page header or file metadata). */
  stop(): void {
    this.out.byte(0);
  }
}

