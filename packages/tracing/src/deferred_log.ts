// Deferred formatting of logs with arguments. Formatting on the calling thread (number to text,
// string concatenation, UTF-8 of the result) costs several times the rest of a log call, so a
// `{}` template whose arguments are all strings and numbers is recorded as a private event holding
// the raw arguments. When its block closes, off the calling thread when compression runs in the
// background, each such event is rewritten into the LogStringEventV2 that eager formatting would have
// produced, byte for byte. The private type never leaves the process: blocks handed to a sink carry
// only upstream's types.
//
// Private event body: desc id u64 · time i64 · argc u8 · argc × (tag u8 · value), where a string
// argument is tag 0 · length u32 · UTF-8 bytes and a number is tag 1 · f64.
import { parseDependencies, TransitObject, TransitFormatError, type UserDefinedType } from '@micromegas/transit';
import { LogObj } from './stream_layouts.ts';

/** The objects-buffer type index of the private event (past any index upstream's layout uses). */
export const DEFERRED_LOG_TYPE = 255;
export const DEFERRED_ARG_STRING = 0;
export const DEFERRED_ARG_NUMBER = 1;

const encoder = new TextEncoder();

class Output {
  bytes: Uint8Array;
  view: DataView;
  len = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  ensure(n: number): void {
    if (this.len + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.len + n, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.len));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
  copy(src: Uint8Array, from: number, to: number): void {
    this.ensure(to - from);
    this.bytes.set(src.subarray(from, to), this.len);
    this.len += to - from;
  }
}

const PLACEHOLDER = encoder.encode('{}');
const SPACE = 0x20;

/**
 * Rewrites every private deferred-log event of a log block's objects buffer into LogStringEventV2;
 * other events are copied unchanged. `dependencies` is the block's (uncompressed) dependencies
 * buffer, where the format strings of the descriptors are found. The text is assembled from UTF-8
 * pieces (template parts encoded once per block, argument bytes copied as recorded) with no string
 * round trip; deferrableArgs() keeps out the arguments for which that could differ from encoding the
 * whole formatted string.
 */
export function expandDeferredLogs(
  stream: { dependenciesMetadata: readonly UserDefinedType[]; objectsMetadata: readonly UserDefinedType[] },
  dependencies: Uint8Array,
  objects: Uint8Array,
): Uint8Array {
  const deps = parseDependencies(stream.dependenciesMetadata, dependencies);
  const templates = new Map<number, Uint8Array[]>();
  const templateOf = (idLo: number, idHi: number): Uint8Array[] => {
    const key = idHi * 4294967296 + idLo;
    let parts = templates.get(key);
    if (parts === undefined) {
      const record = deps.get((BigInt(idHi) << 32n) | BigInt(idLo));
      const fmt = record instanceof TransitObject ? record.get('fmt_str') : undefined;
      if (typeof fmt !== 'string') throw new TransitFormatError(`deferred log: no format string for descriptor ${key}`);
      parts = fmt.split('{}').map((part) => encoder.encode(part));
      templates.set(key, parts);
    }
    return parts;
  };
  const src = new DataView(objects.buffer, objects.byteOffset, objects.byteLength);
  const out = new Output(objects.length + (objects.length >>> 1) + 64);
  const argStart: number[] = [];
  const argEnd: number[] = [];
  const numbers: (string | null)[] = [];
  let p = 0;
  while (p < objects.length) {
    const type = objects[p]!;
    if (type !== DEFERRED_LOG_TYPE) {
      const udt = stream.objectsMetadata[type];
      if (udt === undefined) throw new TransitFormatError(`deferred log: unknown object type ${type}`);
      const end = udt.size > 0 ? p + 1 + udt.size : p + 5 + src.getUint32(p + 1, true);
      out.copy(objects, p, end);
      p = end;
      continue;
    }
    const bodyEnd = p + 5 + src.getUint32(p + 1, true);
    const parts = templateOf(src.getUint32(p + 5, true), src.getUint32(p + 9, true));
    const argc = objects[p + 21]!;
    let q = p + 22;
    let maxText = 0;
    for (const part of parts) maxText += part.length + 2;
    for (let a = 0; a < argc; a++) {
      if (objects[q] === DEFERRED_ARG_NUMBER) {
        const text = String(src.getFloat64(q + 1, true));
        numbers[a] = text;
        maxText += text.length + 1;
        q += 9;
      } else {
        const n = src.getUint32(q + 1, true);
        numbers[a] = null;
        argStart[a] = q + 5;
        argEnd[a] = q + 5 + n;
        maxText += n + 1;
        q += 5 + n;
      }
    }
    // LogStringEventV2: type · size u32 · desc id · time · codec 2 · length u32 · UTF-8
    out.ensure(26 + maxText);
    const o = out.len;
    const b = out.bytes;
    b[o] = LogObj.StringV2;
    put(b, o + 5, objects, p + 5, p + 21); // desc id and time, unchanged
    b[o + 21] = 2;
    let w = o + 26;
    w = put(b, w, parts[0]!, 0, parts[0]!.length);
    let a = 0;
    for (let k = 1; k < parts.length; k++) {
      w = a < argc ? putArg(b, w, objects, a++, numbers, argStart, argEnd) : put(b, w, PLACEHOLDER, 0, 2);
      w = put(b, w, parts[k]!, 0, parts[k]!.length);
    }
    for (; a < argc; a++) {
      b[w++] = SPACE;
      w = putArg(b, w, objects, a, numbers, argStart, argEnd);
    }
    out.view.setUint32(o + 1, w - o - 5, true);
    out.view.setUint32(o + 22, w - o - 26, true);
    out.len = w;
    p = bodyEnd;
  }
  return out.bytes.subarray(0, out.len);
}

/** Copies src[from, to) to b at w; a loop for the short pieces of a message (set() costs more there). */
function put(b: Uint8Array, w: number, src: Uint8Array, from: number, to: number): number {
  if (to - from > 32) {
    b.set(src.subarray(from, to), w);
    return w + to - from;
  }
  for (let i = from; i < to; i++) b[w++] = src[i]!;
  return w;
}

function putArg(b: Uint8Array, w: number, objects: Uint8Array, a: number, numbers: (string | null)[], argStart: number[], argEnd: number[]): number {
  const num = numbers[a];
  if (num === null || num === undefined) return put(b, w, objects, argStart[a]!, argEnd[a]!);
  for (let i = 0; i < num.length; i++) b[w++] = num.charCodeAt(i); // a number's text is ASCII
  return w;
}

const isSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdfff;

/**
 * Strings and numbers only (what the private event stores and renders exactly like eager
 * formatting), at most 255, and no string that starts or ends with half of a surrogate pair: such
 * halves could pair up with a neighbour in the formatted string, which piecewise encoding can't see.
 */
export function deferrableArgs(args: readonly unknown[]): args is (string | number)[] {
  if (args.length > 255) return false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (typeof a === 'number') continue;
    if (typeof a !== 'string') return false;
    if (a.length > 0 && (isSurrogate(a.charCodeAt(0)) || isSurrogate(a.charCodeAt(a.length - 1)))) return false;
  }
  return true;
}

/** A template can be deferred when it has placeholders and no surrogate halves at all. */
export function deferrableTemplate(fmt: string): boolean {
  return fmt.includes('{}') && !/[\ud800-\udfff]/.test(fmt);
}
