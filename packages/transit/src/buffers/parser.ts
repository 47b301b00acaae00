// Metadata-driven decoder of transit buffers (ingestion-protocol §3.4). It reads any upstream stream
// (Rust, Unreal, ours): layouts come only from the stream's UDT metadata; the handful of
// dynamically-sized types are read by name. Corrupt input (buffers or metadata) raises
// TransitFormatError; every loop advances by at least one byte, nesting is bounded and the work of
// nested layouts is budgeted per buffer, so no input can hang, overflow the stack or blow up memory.
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
// Member visits allowed per buffer: real layouts need well under one per byte; metadata whose nested
// members overlap (e.g. ten members of a type that itself has ten such members) would otherwise cost
// exponential time, so its work is capped.
const VISIT_BUDGET_BASE = 1 << 16;
const VISITS_PER_BYTE = 8;
const utf8Lossy = new TextDecoder('utf-8', { fatal: false });
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const utf16Lossy = new TextDecoder('utf-16le', { fatal: false });

function fail(message: string): never {
  throw new TransitFormatError(`transit: ${message}`);
}

/** A bounds-checked view on [start, end) of a buffer; windows of one buffer share its DataView. */
class Window {
  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
    readonly start: number,
    readonly end: number,
  ) {}
  static of(bytes: Uint8Array): Window {
    return new Window(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.length);
  }
  need(at: number, n: number, what: string): void {
    if (!(at >= this.start && n >= 0 && at + n <= this.end)) fail(`${what} out of bounds (${at - this.start}+${n} > ${this.end - this.start})`);
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
    return new Window(this.bytes, this.view, at, at + n);
  }
}

/** Work left for one buffer (member visits), see VISIT_BUDGET_BASE. */
interface Budget {
  left: number;
}

function budgetFor(bytes: Uint8Array): Budget {
  return { left: VISIT_BUDGET_BASE + VISITS_PER_BYTE * bytes.length };
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

// Metadata comes from the producer, so it is as untrusted as the buffers. Checked once per list and
// remembered per list object (lists are immutable once decoded from a stream).
const checkedLists = new WeakSet<readonly UserDefinedType[]>();

function checkMetadata(udts: readonly UserDefinedType[], which: string): void {
  if (checkedLists.has(udts)) return;
  if (!Array.isArray(udts)) fail(`${which} metadata is not a list`);
  for (const u of udts) {
    if (typeof u !== 'object' || u === null || typeof u.name !== 'string' || !isCount(u.size) || !Array.isArray(u.members)) {
      fail(`${which} metadata has a malformed type`);
    }
    for (const m of u.members) {
      if (typeof m !== 'object' || m === null || typeof m.name !== 'string' || typeof m.typeName !== 'string' || !isCount(m.offset) || !isCount(m.size)) {
        fail(`${which} metadata type ${u.name} has a malformed member`);
      }
    }
  }
  checkedLists.add(udts);
}

// First type of each name, per metadata list (nested members are looked up by name for every object).
const nameIndexes = new WeakMap<readonly UserDefinedType[], Map<string, UserDefinedType>>();

function findUdt(udts: readonly UserDefinedType[], name: string): UserDefinedType {
  let index = nameIndexes.get(udts);
  if (index === undefined) {
    index = new Map();
    for (const u of udts) if (!index.has(u.name)) index.set(u.name, u);
    nameIndexes.set(udts, index);
  }
  const u = index.get(name);
  if (u === undefined) fail(`unknown member type ${JSON.stringify(name)}`);
  return u;
}

function lookup(deps: DependencyMap, id: bigint, what: string): TransitValue {
  const v = deps.get(id);
  if (v === undefined) fail(`${what} refers to missing dependency 0x${id.toString(16)}`);
  return v;
}

const INTRINSIC_SIZES: Record<string, number> = { u8: 1, uint8: 1, u32: 4, uint32: 4, u64: 8, uint64: 8, i64: 8, int64: 8, f64: 8 };
/** What parsing one buffer needs besides the bytes: its metadata, the dependencies so far, its work budget. */
interface Ctx {
  udts: readonly UserDefinedType[];
  deps: DependencyMap;
  budget: Budget;
}

/** Parses one fixed-layout instance of `udt` occupying `w` (§3.4 parsePod). */
function parsePod(udt: UserDefinedType, ctx: Ctx, w: Window, depth: number): TransitValue {
  if (depth > MAX_NESTING) fail(`type ${udt.name} nests deeper than ${MAX_NESTING} levels`);
  ctx.budget.left -= udt.members.length + 1;
  if (ctx.budget.left < 0) fail(`type ${udt.name}: nested layouts cost more work than the buffer allows`);
  const members = new Map<string, TransitValue>();
  const len = w.end - w.start;
  for (const m of udt.members) {
    if (m.offset + m.size > len) fail(`member ${udt.name}.${m.name} (offset ${m.offset}, size ${m.size}) exceeds the ${len}-byte instance`);
    const at = w.start + m.offset;
    const what = `${udt.name}.${m.name}`;
    let value: TransitValue;
    if (m.isReference) {
      if (m.size < 8) fail(`reference member ${what} is smaller than 8 bytes`);
      value = lookup(ctx.deps, w.u64(at, what), what);
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
          const nested = findUdt(ctx.udts, m.typeName);
          value = parsePod(nested, ctx, w.sub(at, nested.size, what), depth + 1);
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
    case 0: // Ansi (Latin-1/Windows-1252 in Unreal): upstream decodes it as lossy UTF-8, so do we
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
function refUdtValue(ctx: Ctx, name: string, w: Window, at: number): [TransitValue, number] {
  const u = findUdt(ctx.udts, name);
  return [parsePod(u, ctx, w.sub(at, u.size, name), 1), at + u.size];
}

type CustomReader = (w: Window, ctx: Ctx) => TransitObject;

// Dynamically-sized object bodies (§3.5), the same set upstream's rust/tracing/src/parsing.rs reads.
const customObjectReaders: Record<string, CustomReader> = {
  LogStringEventV2(w, ctx) {
    const desc = lookup(ctx.deps, w.u64(w.start, 'LogStringEventV2.desc'), 'LogStringEventV2.desc');
    const time = w.i64(w.start + 8, 'LogStringEventV2.time');
    const [msg] = readDynString(w, w.start + 16, 'LogStringEventV2.msg');
    return obj('LogStringEventV2', [['time', time], ['msg', msg], ['desc', desc]]);
  },
  LogStringEvent(w, ctx) {
    const desc = lookup(ctx.deps, w.u64(w.start, 'LogStringEvent.desc'), 'LogStringEvent.desc');
    const time = w.i64(w.start + 8, 'LogStringEvent.time');
    return obj('LogStringEvent', [['time', time], ['msg', rawUtf8(w, w.start + 16)], ['desc', desc]]);
  },
  LogStringInteropEventV3(w, ctx) {
    const time = w.i64(w.start, 'LogStringInteropEventV3.time');
    const level = w.u8(w.start + 8, 'LogStringInteropEventV3.level');
    const [target, next] = refUdtValue(ctx, 'StaticStringRef', w, w.start + 9);
    const [msg] = readDynString(w, next, 'LogStringInteropEventV3.msg');
    return obj('LogStringInteropEventV3', [['time', time], ['level', level], ['target', target], ['msg', msg]]);
  },
  LogStringInteropEventV2(w, ctx) {
    const time = w.i64(w.start, 'LogStringInteropEventV2.time');
    const level = w.u32(w.start + 8, 'LogStringInteropEventV2.level');
    const [target, next] = refUdtValue(ctx, 'StringId', w, w.start + 12);
    return obj('LogStringInteropEventV2', [['time', time], ['level', level], ['target', target], ['msg', rawUtf8(w, next)]]);
  },
  TaggedLogString(w, ctx) {
    const desc = lookup(ctx.deps, w.u64(w.start, 'TaggedLogString.desc'), 'TaggedLogString.desc');
    const properties = lookup(ctx.deps, w.u64(w.start + 8, 'TaggedLogString.properties'), 'TaggedLogString.properties');
    const time = w.i64(w.start + 16, 'TaggedLogString.time');
    const [msg] = readDynString(w, w.start + 24, 'TaggedLogString.msg');
    return obj('TaggedLogString', [['time', time], ['desc', desc], ['properties', properties], ['msg', msg]]);
  },
  TaggedLogInteropEvent(w, ctx) {
    const time = w.i64(w.start, 'TaggedLogInteropEvent.time');
    const level = w.u8(w.start + 8, 'TaggedLogInteropEvent.level');
    const [target, next] = refUdtValue(ctx, 'StaticStringRef', w, w.start + 9);
    const properties = lookup(ctx.deps, w.u64(next, 'TaggedLogInteropEvent.properties'), 'TaggedLogInteropEvent.properties');
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

function readPropertySet(w: Window, ctx: Ctx): [bigint, TransitObject] {
  const id = w.u64(w.start, 'PropertySetDependency.id');
  const count = w.u32(w.start + 8, 'PropertySetDependency.count');
  const property = findUdt(ctx.udts, 'Property');
  if (property.size <= 0) fail('Property type has no size');
  if (count * property.size > w.end - w.start - 12) fail(`PropertySetDependency declares ${count} properties but holds ${w.end - w.start - 12} bytes`);
  const members = new Map<string, TransitValue>();
  for (let i = 0; i < count; i++) {
    const p = parsePod(property, ctx, w.sub(w.start + 12 + i * property.size, property.size, 'Property'), 1);
    if (!(p instanceof TransitObject)) fail('Property is not an object');
    const name = p.get('name');
    const value = p.get('value');
    if (typeof name !== 'string' || typeof value !== 'string') fail('Property name and value must be strings');
    members.set(name, value);
  }
  return [id, new TransitObject('property_set', members)];
}

/** Called for each object of a buffer: its type index and type, and its body's byte range [start, end). */
export type ObjectVisitor = (typeIndex: number, udt: UserDefinedType, start: number, end: number) => void;

/** The framing walk shared by every reader (§3.1): type byte, u32 size prefix when the type's size is 0. */
function walkBuffer(udts: readonly UserDefinedType[], bytes: Uint8Array, which: string, visit: ObjectVisitor): void {
  checkMetadata(udts, which);
  const length = bytes.length;
  let off = 0;
  while (off < length) {
    const typeIndex = bytes[off]!;
    const udt = udts[typeIndex];
    if (udt === undefined) fail(`${which} type index ${typeIndex} is not in the stream metadata (${udts.length} types)`);
    off += 1;
    let size = udt.size;
    if (size === 0) {
      if (off + 4 > length) fail(`${which} ${udt.name} size prefix out of bounds (${off}+4 > ${length})`);
      size = (bytes[off]! | (bytes[off + 1]! << 8) | (bytes[off + 2]! << 16) | (bytes[off + 3]! << 24)) >>> 0;
      off += 4;
    }
    if (size > length - off) fail(`${which} ${udt.name} of ${size} bytes at offset ${off} runs past the end (${length})`);
    visit(typeIndex, udt, off, off + size);
    off += size;
  }
}

/**
 * Walks an objects buffer's framing without decoding bodies: `visit` gets each object's type and body
 * range. Same checks and TransitFormatError as parseObjects for the framing; bodies are not checked.
 */
export function walkObjects(udts: readonly UserDefinedType[], bytes: Uint8Array, visit: ObjectVisitor): void {
  walkBuffer(udts, bytes, 'object', visit);
}

/** Builds the id → value map of a dependencies buffer (§3.4 readDependencies). */
export function parseDependencies(udts: readonly UserDefinedType[], bytes: Uint8Array): DependencyMap {
  const deps: DependencyMap = new Map();
  const ctx: Ctx = { udts, deps, budget: budgetFor(bytes) };
  const all = Window.of(bytes);
  walkBuffer(udts, bytes, 'dependency', (_index, udt, start, end) => {
    const w = new Window(bytes, all.view, start, end);
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
        [id, value] = readPropertySet(w, ctx);
        break;
      default: {
        if (udt.size === 0) fail(`invalid user-defined type ${udt.name} in dependencies (dynamic size, no reader)`);
        value = parsePod(udt, ctx, w, 0);
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
  const ctx: Ctx = { udts, deps, budget: budgetFor(bytes) };
  const all = Window.of(bytes);
  walkBuffer(udts, bytes, 'object', (_index, udt, start, end) => {
    const w = new Window(bytes, all.view, start, end);
    if (udt.size === 0) {
      const reader = customObjectReaders[udt.name];
      // Unknown dynamic types are skipped as empty objects, like upstream; their size prefix makes that safe.
      out.push(reader ? reader(w, ctx) : new TransitObject(udt.name, new Map()));
    } else {
      out.push(parsePod(udt, ctx, w, 0));
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
