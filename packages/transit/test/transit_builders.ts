// Hand-building transit buffers byte by byte, the way the upstream producers lay them out, and turning
// decoded values into plain data for exact comparisons. Shared by the buffers_* tests.
import { TransitObject, type TransitValue, type UserDefinedType } from '@micromegas/transit';

/** Little-endian byte writer. */
export class Bytes {
  private readonly out: number[] = [];
  get length(): number {
    return this.out.length;
  }
  u8(v: number): this {
    this.out.push(v & 0xff);
    return this;
  }
  u32(v: number): this {
    for (let i = 0; i < 4; i++) this.out.push((v >>> (8 * i)) & 0xff);
    return this;
  }
  u64(v: bigint): this {
    const x = BigInt.asUintN(64, v);
    for (let i = 0n; i < 8n; i++) this.out.push(Number((x >> (8n * i)) & 0xffn));
    return this;
  }
  f64(v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    return this.raw(b);
  }
  raw(bytes: Uint8Array | readonly number[]): this {
    for (const b of bytes) this.out.push(b);
    return this;
  }
  /** DynString: codec u8, byte length u32, bytes. */
  dyn(codec: number, bytes: Uint8Array): this {
    return this.u8(codec).u32(bytes.length).raw(bytes);
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const utf16 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf16le'));
export const latin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

/**
 * A fixed-size struct image: fields written at their offsets, padding filled with 0xAA so that a
 * decoder reading padding (or a wrong offset) gets visibly wrong values.
 */
export class Struct {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(size).fill(0xaa);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(at: number, v: number): this {
    this.view.setUint8(at, v);
    return this;
  }
  u32(at: number, v: number): this {
    this.view.setUint32(at, v, true);
    return this;
  }
  u64(at: number, v: bigint): this {
    this.view.setBigUint64(at, BigInt.asUintN(64, v), true);
    return this;
  }
  f64(at: number, v: number): this {
    this.view.setFloat64(at, v, true);
    return this;
  }
  /** A 16-byte string reference (upstream StringId / StaticStringRef): ptr u64, byte length u32, codec u8, padding. */
  strRef(at: number, id: bigint, len: number, codec: number): this {
    this.u64(at, id).u32(at + 8, len);
    return codec < 0 ? this : this.u8(at + 12, codec);
  }
}

/** Frames objects into a transit buffer (§3.1): index byte, then the static body or u32 size + dynamic body. */
export class Queue {
  private readonly out = new Bytes();
  constructor(private readonly udts: readonly UserDefinedType[]) {}
  private index(name: string): number {
    const i = this.udts.findIndex((u) => u.name === name);
    if (i < 0) throw new Error(`no type ${name}`);
    return i;
  }
  pod(name: string, fill: (s: Struct) => void): this {
    const i = this.index(name);
    const s = new Struct(this.udts[i]!.size);
    fill(s);
    this.out.u8(i).raw(s.bytes);
    return this;
  }
  custom(name: string, body: Bytes | Uint8Array): this {
    const bytes = body instanceof Bytes ? body.finish() : body;
    this.out.u8(this.index(name)).u32(bytes.length).raw(bytes);
    return this;
  }
  finish(): Uint8Array {
    return this.out.finish();
  }
}

/** Plain form of a decoded value: objects become { $type, ...members }, bytes become arrays. */
export function plain(value: TransitValue | undefined): unknown {
  if (value instanceof TransitObject) {
    const out: Record<string, unknown> = { $type: value.typeName };
    for (const [k, v] of value.members) out[k] = plain(v);
    return out;
  }
  if (value instanceof Uint8Array) return [...value];
  return value;
}

/** Deterministic PRNG (mulberry32) for the fuzz tests. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
