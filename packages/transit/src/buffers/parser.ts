// Metadata-driven decoder of transit buffers (ingestion-protocol §3.4). It reads any upstream stream
// (Rust, Unreal, ours): layouts come only from the stream's UDT metadata; the handful of
// dynamically-sized types are read by name. Corrupt input raises TransitFormatError; every loop
// advances by at least one byte and nesting is bounded, so no input can hang or overflow the stack.
import { TransitFormatError } from '../envelope/errors.ts';
import type { UserDefinedType } from '../envelope/types.ts';

/** A decoded value: u8/u32 as number, u64/i64 as bigint, f64 as number, strings, nested objects. */
export type TransitValue = number | bigint | string | Uint8Array | TransitObject;

/** One decoded event or dependency: its type name and its members by name. */
export class TransitObject {
  constructor(
    readonly typeName: string,
    readonly members: Map<string, TransitValue>,
  ) {}

  get(name: string): TransitValue | undefined {
    return this.members.get(name);
  }
}

/** Dependencies of one block by id (dependency ids are 64-bit, hence bigint keys). */
export type DependencyMap = Map<bigint, TransitValue>;

const MAX_NESTING = 16;
const utf8Lossy = new TextDecoder('utf-8', { fatal: false });
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const utf16Lossy = new TextDecoder('utf-16le', { fatal: false });

function fail(message: string): never {
  throw new TransitFormatError(`transit: ${message}`);
}

/** A bounds-checked view on [start, end) of a buffer. */
class Window {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly start: number,
    readonly end: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(at: number, n: number, what: string): void {
    if (at < this.start || at + n > this.end) fail(`${what} out of bounds (${at - this.start}+${n} > ${this.end - this.start})`);
  }
  u8(at: number, what: string): number {
    this.need(at, 1, what);
    return this.bytes[at]!;
  }
  u32(at: number, what: string): number {
    this.need(at, 4, what);
    return this.view.getUint32(at, true);
  }
  u64(at: number, what: string): bigint {
    this.need(at, 8, what);
    return this.view.getBigUint64(at, true);
  }
  i64(at: number, what: string): bigint {
    this.need(at, 8, what);
    return this.view.getBigInt64(at, true);
  }
  f64(at: number, what: string): number {
    this.need(at, 8, what);
    return this.view.getFloat64(at, true);
  }
  sub(at: number, n: number, what: string): Window {
    this.need(at, n, what);
    return new Window(this.bytes, at, at + n);
  }
}

function findUdt(udts: readonly UserDefinedType[], name: string): UserDefinedType {
  for (const u of udts) if (u.name === name) return u;
  return fail(`unknown member type ${JSON.stringify(name)}`);
}

function lookup(deps: DependencyMap, id: bigint, what: string): TransitValue {
  const v = deps.get(id);
  if (v === undefined) fail(`${what} refers to missing dependency 0x${id.toString(16)}`);
  return v;
}

const INTRINSIC_SIZES: Record<string, number> = { u8: 1, uint8: 1, u32: 4, uint32: 4, u64: 8, uint64: 8, i64: 8, int64: 8, f64: 8 };

/** Parses one fixed-layout instance of `udt` occupying `w` (§3.4 parsePod). */
function parsePod(udt: UserDefinedType, udts: readonly UserDefinedType[], deps: DependencyMap, w: Window, depth: number): TransitValue {
  if (depth > MAX_NESTING) fail(`type ${udt.name} nests deeper than ${MAX_NESTING} levels`);
  const members = new Map<string, TransitValue>();
  const len = w.end - w.start;
  for (const m of udt.members) {
    if (!(m.offset >= 0 && m.size >= 0 && m.offset + m.size <= len)) fail(`member ${udt.name}.${m.name} (offset ${m.offset}, size ${m.size}) exceeds the ${len}-byte instance`);
    const at = w.start + m.offset;
    const what = `${udt.name}.${m.name}`;
    let value: TransitValue;
    if (m.isReference) {
      if (m.size < 8) fail(`reference member ${what} is smaller than 8 bytes`);
      value = lookup(deps, w.u64(at, what), what);
    } else {
      const intrinsic = INTRINSIC_SIZES[m.typeName];
      if (intrinsic !== undefined && m.size !== intrinsic) fail(`member ${what} of type ${m.typeName} has size ${m.size}`);
      switch (m.typeName) {
        case 'u8':
        case 'uint8':
          value = w.u8(at, what);
          break;
        case 'u32':
        case 'uint32':
          value = w.u32(at, what);
          break;
        case 'u64':
        case 'uint64':
          value = w.u64(at, what);
          break;
        case 'i64':
        case 'int64':
          value = w.i64(at, what);
          break;
        case 'f64':
          value = w.f64(at, what);
          break;
        default: {
          const nested = findUdt(udts, m.typeName);
          value = parsePod(nested, udts, deps, w.sub(at, nested.size, what), depth + 1);
        }
      }
    }
    members.set(m.name, value);
  }
  if (udt.isReference) {
    const id = members.get('id');
    if (id === undefined) fail(`reference type ${udt.name} has no id member`);
    return id;
  }
  return new TransitObject(udt.name, members);
}

/** codec:u8 len:u32 bytes — returns the string and the offset after it. */
function readDynString(w: Window, at: number, what: string): [string, number] {
  const codec = w.u8(at, `${what} codec`);
  const n = w.u32(at + 1, `${what} length`);
  w.need(at + 5, n, `${what} bytes`);
  const bytes = w.bytes.subarray(at + 5, at + 5 + n);
  let text: string;
  switch (codec) {
    case 0: // Ansi: upstream decodes it as lossy UTF-8
    case 2:
      text = utf8Lossy.decode(bytes);
      break;
    case 1:
      if (n % 2 !== 0) fail(`${what}: UTF-16 string of odd length ${n}`);
      text = utf16Lossy.decode(bytes);
      break;
    default:
      return fail(`${what}: unknown string codec ${codec}`);
  }
  return [text, at + 5 + n];
}

function rawUtf8(w: Window, at: number): string {
  return utf8Lossy.decode(w.bytes.subarray(at, w.end));
}

function obj(typeName: string, entries: [string, TransitValue][]): TransitObject {
  return new TransitObject(typeName, new Map(entries));
}

/** Reads a reference-shaped in-place member (StaticStringRef / StringId) whose size comes from the metadata. */
function refUdtValue(udts: readonly UserDefinedType[], name: string, deps: DependencyMap, w: Window, at: number, depth: number): [TransitValue, number] {
  const u = findUdt(udts, name);
  return [parsePod(u, udts, deps, w.sub(at, u.size, name), depth + 1), at + u.size];
}

type CustomReader = (w: Window, udts: readonly UserDefinedType[], deps: DependencyMap) => TransitObject;

// Dynamically-sized object bodies (§3.5).
const customObjectReaders: Record<string, CustomReader> = {
  LogStringEventV2(w, _udts, deps) {
    const desc = lookup(deps, w.u64(w.start, 'LogStringEventV2.desc'), 'LogStringEventV2.desc');
    const time = w.i64(w.start + 8, 'LogStringEventV2.time');
    const [msg] = readDynString(w, w.start + 16, 'LogStringEventV2.msg');
    return obj('LogStringEventV2', [['time', time], ['msg', msg], ['desc', desc]]);
  },
  LogStringEvent(w, _udts, deps) {
    const desc = lookup(deps, w.u64(w.start, 'LogStringEvent.desc'), 'LogStringEvent.desc');
    const time = w.i64(w.start + 8, 'LogStringEvent.time');
    w.need(w.start + 16, 0, 'LogStringEvent.msg');
    return obj('LogStringEvent', [['time', time], ['msg', rawUtf8(w, w.start + 16)], ['desc', desc]]);
  },
  LogStringInteropEventV3(w, udts, deps) {
    const time = w.i64(w.start, 'LogStringInteropEventV3.time');
    const level = w.u8(w.start + 8, 'LogStringInteropEventV3.level');
    const [target, next] = refUdtValue(udts, 'StaticStringRef', deps, w, w.start + 9, 0);
    const [msg] = readDynString(w, next, 'LogStringInteropEventV3.msg');
    return obj('LogStringInteropEventV3', [['time', time], ['level', level], ['target', target], ['msg', msg]]);
  },
  LogStringInteropEventV2(w, udts, deps) {
    const time = w.i64(w.start, 'LogStringInteropEventV2.time');
    const level = w.u32(w.start + 8, 'LogStringInteropEventV2.level');
    const [target, next] = refUdtValue(udts, 'StringId', deps, w, w.start + 12, 0);
    w.need(next, 0, 'LogStringInteropEventV2.msg');
    return obj('LogStringInteropEventV2', [['time', time], ['level', level], ['target', target], ['msg', rawUtf8(w, next)]]);
  },
  TaggedLogString(w, _udts, deps) {
    const desc = lookup(deps, w.u64(w.start, 'TaggedLogString.desc'), 'TaggedLogString.desc');
    const properties = lookup(deps, w.u64(w.start + 8, 'TaggedLogString.properties'), 'TaggedLogString.properties');
    const time = w.i64(w.start + 16, 'TaggedLogString.time');
    const [msg] = readDynString(w, w.start + 24, 'TaggedLogString.msg');
    return obj('TaggedLogString', [['time', time], ['desc', desc], ['properties', properties], ['msg', msg]]);
  },
  TaggedLogInteropEvent(w, udts, deps) {
    const time = w.i64(w.start, 'TaggedLogInteropEvent.time');
    const level = w.u8(w.start + 8, 'TaggedLogInteropEvent.level');
    const [target, next] = refUdtValue(udts, 'StaticStringRef', deps, w, w.start + 9, 0);
    const properties = lookup(deps, w.u64(next, 'TaggedLogInteropEvent.properties'), 'TaggedLogInteropEvent.properties');
    const [msg] = readDynString(w, next + 8, 'TaggedLogInteropEvent.msg');
    return obj('TaggedLogInteropEvent', [['time', time], ['level', level], ['target', target], ['properties', properties], ['msg', msg]]);
  },
  ImageEvent(w) {
    const time = w.i64(w.start, 'ImageEvent.time');
    const [name, afterName] = readDynString(w, w.start + 8, 'ImageEvent.name');
    const [format, afterFormat] = readDynString(w, afterName, 'ImageEvent.format');
    const n = w.u32(afterFormat, 'ImageEvent.len');
    w.need(afterFormat + 4, n, 'ImageEvent.data');
    const data = w.bytes.slice(afterFormat + 4, afterFormat + 4 + n);
    return obj('ImageEvent', [['time', time], ['name', name], ['format', format], ['data', data]]);
  },
};

function readPropertySet(w: Window, udts: readonly UserDefinedType[], deps: DependencyMap): [bigint, TransitObject] {
  const id = w.u64(w.start, 'PropertySetDependency.id');
  const count = w.u32(w.start + 8, 'PropertySetDependency.count');
  const property = findUdt(udts, 'Property');
  if (property.size <= 0) fail('Property type has no size');
  if (count * property.size > w.end - w.start - 12) fail(`PropertySetDependency declares ${count} properties but holds ${w.end - w.start - 12} bytes`);
  const members = new Map<string, TransitValue>();
  for (let i = 0; i < count; i++) {
    const p = parsePod(property, udts, deps, w.sub(w.start + 12 + i * property.size, property.size, 'Property'), 1);
    if (!(p instanceof TransitObject)) fail('Property is not an object');
    const name = p.get('name');
    const value = p.get('value');
    if (typeof name !== 'string' || typeof value !== 'string') fail('Property name and value must be strings');
    members.set(name, value);
  }
  return [id, new TransitObject('property_set', members)];
}

function typeAt(udts: readonly UserDefinedType[], index: number, which: string): UserDefinedType {
  const u = udts[index];
  if (u === undefined) fail(`${which} type index ${index} is not in the stream metadata (${udts.length} types)`);
  return u;
}

/** Walks a buffer's framing; calls `visit` with each object's type and body window. */
function walk(udts: readonly UserDefinedType[], bytes: Uint8Array, which: string, visit: (udt: UserDefinedType, body: Window) => void): void {
  const all = new Window(bytes, 0, bytes.length);
  let off = 0;
  while (off < bytes.length) {
    const udt = typeAt(udts, bytes[off]!, which);
    off += 1;
    let size = udt.size;
    if (size === 0) {
      size = all.u32(off, `${which} ${udt.name} size prefix`);
      off += 4;
    }
    if (size > bytes.length - off) fail(`${which} ${udt.name} of ${size} bytes at offset ${off} runs past the end (${bytes.length})`);
    visit(udt, new Window(bytes, off, off + size));
    off += size;
  }
}

/** Builds the id → value map of a dependencies buffer (§3.4 readDependencies). */
export function parseDependencies(udts: readonly UserDefinedType[], bytes: Uint8Array): DependencyMap {
  const deps: DependencyMap = new Map();
  walk(udts, bytes, 'dependency', (udt, w) => {
    let id: bigint;
    let value: TransitValue;
    switch (udt.name) {
      case 'StaticString': {
        id = w.u64(w.start, 'StaticString.id');
        try {
          value = utf8Strict.decode(w.bytes.subarray(w.start + 8, w.end));
        } catch {
          fail(`StaticString 0x${id.toString(16)} is not valid UTF-8`);
        }
        break;
      }
      case 'StaticStringDependency':
        id = w.u64(w.start, 'StaticStringDependency.id');
        value = readDynString(w, w.start + 8, 'StaticStringDependency')[0];
        break;
      case 'PropertySetDependency':
        [id, value] = readPropertySet(w, udts, deps);
        break;
      default: {
        if (udt.size === 0) fail(`invalid user-defined type ${udt.name} in dependencies (dynamic size, no reader)`);
        value = parsePod(udt, udts, deps, w, 0);
        const idValue = value instanceof TransitObject ? value.get('id') : undefined;
        if (typeof idValue !== 'bigint') fail(`dependency ${udt.name} has no u64/i64 id member`);
        id = BigInt.asUintN(64, idValue);
      }
    }
    if (deps.has(id)) fail(`duplicate dependency id 0x${id.toString(16)} (${udt.name})`);
    deps.set(id, value);
  });
  return deps;
}

/** Decodes every object of an objects buffer, in order (§3.4 parseObjects). */
export function parseObjects(udts: readonly UserDefinedType[], deps: DependencyMap, bytes: Uint8Array): TransitValue[] {
  const out: TransitValue[] = [];
  walk(udts, bytes, 'object', (udt, w) => {
    if (udt.size === 0) {
      const reader = customObjectReaders[udt.name];
      // Unknown dynamic types are skipped as empty objects, like upstream; their size prefix makes that safe.
      out.push(reader ? reader(w, udts, deps) : new TransitObject(udt.name, new Map()));
    } else {
      out.push(parsePod(udt, udts, deps, w, 0));
    }
  });
  return out;
}

/** Decodes one block's two uncompressed transit buffers with its stream's metadata. */
export function parseBlockObjects(
  dependenciesMetadata: readonly UserDefinedType[],
  objectsMetadata: readonly UserDefinedType[],
  dependencies: Uint8Array,
  objects: Uint8Array,
): TransitValue[] {
  return parseObjects(objectsMetadata, parseDependencies(dependenciesMetadata, dependencies), objects);
}
