// A byte-level CBOR writer for tests, independent of the transit codec under test, so request
// bodies can be shaped like either client: Rust (definite lengths, Rust key order) or Unreal
// (indefinite maps and arrays, its own key order, 64-bit integer heads).

export type Item =
  | { t: 'uint' | 'nint'; v: bigint; wide?: boolean }
  | { t: 'text'; v: string }
  | { t: 'bytes'; v: Uint8Array; chunks?: number }
  | { t: 'array'; v: Item[]; indefinite?: boolean }
  | { t: 'map'; v: [string, Item][]; indefinite?: boolean }
  | { t: 'bool'; v: boolean }
  | { t: 'null' };

export const int = (v: number | bigint, wide = false): Item =>
  BigInt(v) < 0n ? { t: 'nint', v: -1n - BigInt(v), wide } : { t: 'uint', v: BigInt(v), wide };
export const text = (v: string): Item => ({ t: 'text', v });
export const bytes = (v: Uint8Array, chunks?: number): Item => ({ t: 'bytes', v, chunks });
export const array = (v: Item[], indefinite = false): Item => ({ t: 'array', v, indefinite });
export const map = (v: [string, Item][], indefinite = false): Item => ({ t: 'map', v, indefinite });
export const bool = (v: boolean): Item => ({ t: 'bool', v });
export const nul: Item = { t: 'null' };

function head(major: number, n: bigint, wide = false): number[] {
  const m = major << 5;
  if (wide) return [m | 27, ...bigEndian(n, 8)];
  if (n < 24n) return [m | Number(n)];
  if (n < 0x100n) return [m | 24, Number(n)];
  if (n < 0x10000n) return [m | 25, ...bigEndian(n, 2)];
  if (n < 0x100000000n) return [m | 26, ...bigEndian(n, 4)];
  return [m | 27, ...bigEndian(n, 8)];
}

function bigEndian(n: bigint, size: number): number[] {
  const out: number[] = [];
  for (let i = size - 1; i >= 0; i--) out.push(Number((n >> BigInt(8 * i)) & 0xffn));
  return out;
}

type Out = (number | Uint8Array)[];

function write(item: Item, out: Out): void {
  switch (item.t) {
    case 'uint':
      out.push(...head(0, item.v, item.wide));
      return;
    case 'nint':
      out.push(...head(1, item.v, item.wide));
      return;
    case 'text': {
      const b = new TextEncoder().encode(item.v);
      out.push(...head(3, BigInt(b.length)));
      for (const x of b) out.push(x);
      return;
    }
    case 'bytes': {
      if (item.chunks) {
        out.push(0x5f);
        const step = Math.max(1, Math.ceil(item.v.length / item.chunks));
        for (let i = 0; i < item.v.length; i += step) {
          const part = item.v.subarray(i, i + step);
          out.push(...head(2, BigInt(part.length)));
          out.push(part);
        }
        out.push(0xff);
        return;
      }
      out.push(...head(2, BigInt(item.v.length)));
      out.push(item.v);
      return;
    }
    case 'array':
      out.push(...(item.indefinite ? [0x9f] : head(4, BigInt(item.v.length))));
      for (const x of item.v) write(x, out);
      if (item.indefinite) out.push(0xff);
      return;
    case 'map':
      out.push(...(item.indefinite ? [0xbf] : head(5, BigInt(item.v.length))));
      for (const [k, v] of item.v) {
        write(text(k), out);
        write(v, out);
      }
      if (item.indefinite) out.push(0xff);
      return;
    case 'bool':
      out.push(item.v ? 0xf5 : 0xf4);
      return;
    case 'null':
      out.push(0xf6);
      return;
  }
}

export function encode(item: Item): Uint8Array {
  const out: Out = [];
  write(item, out);
  const size = out.reduce<number>((n, x) => n + (typeof x === 'number' ? 1 : x.length), 0);
  const result = new Uint8Array(size);
  let at = 0;
  for (const x of out) {
    if (typeof x === 'number') result[at++] = x;
    else {
      result.set(x, at);
      at += x.length;
    }
  }
  return result;
}
