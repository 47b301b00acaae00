// Databend JSONB binary format, as written by the Rust `jsonb` crate 0.5.x (upstream pins 0.5.6 in
// rust/Cargo.lock; rust/analytics/src/arrow_properties.rs stores property maps with it). Layout facts from
// the crate's src/core/databend/{constants,jentry,ser,util}.rs:
//   container := header:u32be  jentry:u32be × (1 | n | 2n)  payload bytes
//   header     = type bits (0x80000000 array, 0x40000000 object, 0x20000000 scalar) | n (low 29 bits)
//   jentry     = type bits 0x70000000 (null 0, string 1, number 2, false 3, true 4, container 5,
//                extension 6) << 28 | payload length (low 28 bits); offsets mode (bit 31) is never written
//   object     = n key jentries, n value jentries, the key bytes, then the value payloads
//   number     = tag byte (0x00 zero, 0x10 NaN, 0x20 +inf, 0x30 -inf, 0x40 int, 0x50 uint, 0x60 float,
//                0x70 decimal) + big-endian int of 1/2/4/8 bytes, f64, or decimal value + scale
// Object keys come out of a BTreeMap<String, _>, i.e. sorted by their UTF-8 bytes.

/** Malformed JSONB bytes, or a value that JSONB cannot hold. */
export class JsonbError extends Error {
  constructor(message: string) {
    super(`jsonb: ${message}`);
    this.name = 'JsonbError';
  }
}

const ARRAY = 0x80000000;
const OBJECT = 0x40000000;
const SCALAR = 0x20000000;
const HEADER_TYPE_MASK = 0xe0000000;
const HEADER_LEN_MASK = 0x1fffffff;
const JENTRY_OFFSET_FLAG = 0x80000000;
const JENTRY_TYPE_MASK = 0x70000000;
const JENTRY_LEN_MASK = 0x0fffffff;
const NULL_TAG = 0x00000000;
const STRING_TAG = 0x10000000;
const NUMBER_TAG = 0x20000000;
const FALSE_TAG = 0x30000000;
const TRUE_TAG = 0x40000000;
const CONTAINER_TAG = 0x50000000;
const EXTENSION_TAG = 0x60000000;
const NUM_ZERO = 0x00;
const NUM_NAN = 0x10;
const NUM_INF = 0x20;
const NUM_NEG_INF = 0x30;
const NUM_INT = 0x40;
const NUM_UINT = 0x50;
const NUM_FLOAT = 0x60;
const NUM_DECIMAL = 0x70;
/** Deeper input is refused rather than risking the stack; real property values are flat. */
const MAX_DEPTH = 256;

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

// Encoding ----------------------------------------------------------------------------------------

type Num = { kind: 'int' | 'uint'; value: bigint } | { kind: 'float'; value: number };
type Node =
  | { t: 'null' | 'true' | 'false' }
  | { t: 'string'; bytes: Uint8Array }
  | { t: 'number'; num: Num }
  | { t: 'array'; items: Node[] }
  | { t: 'object'; entries: [Uint8Array, Node][] };

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Keys sorted by UTF-8 bytes, the order of Rust's BTreeMap<String, _>; a repeated key keeps its last value. */
function objectNode(entries: Iterable<[string, unknown]>, depth: number): Node {
  const byKey = new Map<string, unknown>();
  for (const [k, v] of entries) {
    if (typeof k !== 'string') throw new JsonbError(`object keys must be strings, got ${typeof k}`);
    byKey.set(k, v);
  }
  const out: [Uint8Array, Node][] = [];
  for (const [k, v] of byKey) out.push([encoder.encode(k), toNode(v, depth + 1)]);
  out.sort((a, b) => compareBytes(a[0], b[0]));
  return { t: 'object', entries: out };
}

function numberNode(v: number | bigint): Node {
  if (typeof v === 'bigint') {
    if (v >= 0n && v < 1n << 64n) return { t: 'number', num: { kind: 'uint', value: v } };
    if (v < 0n && v >= -(1n << 63n)) return { t: 'number', num: { kind: 'int', value: v } };
    throw new JsonbError(`integer ${v} is outside the 64-bit range`);
  }
  // Like the crate's JSON parser: non-negative integers are UInt64, negative ones Int64, the rest Float64.
  if (Number.isSafeInteger(v) && !Object.is(v, -0)) return { t: 'number', num: { kind: v < 0 ? 'int' : 'uint', value: BigInt(v) } };
  return { t: 'number', num: { kind: 'float', value: v } };
}

function toNode(value: unknown, depth: number): Node {
  if (depth > MAX_DEPTH) throw new JsonbError(`value nests deeper than ${MAX_DEPTH} levels (or is cyclic)`);
  if (value === null) return { t: 'null' };
  switch (typeof value) {
    case 'boolean':
      return { t: value ? 'true' : 'false' };
    case 'number':
    case 'bigint':
      return numberNode(value);
    case 'string':
      return { t: 'string', bytes: encoder.encode(value) };
    case 'object':
      if (Array.isArray(value)) return { t: 'array', items: value.map((v) => toNode(v, depth + 1)) };
      if (value instanceof Map) return objectNode(value, depth);
      return objectNode(Object.entries(value), depth);
    default:
      throw new JsonbError(`cannot encode a value of type ${typeof value}`);
  }
}

function numberBytes(num: Num): number[] {
  if (num.kind === 'float') {
    const v = num.value;
    if (Number.isNaN(v)) return [NUM_NAN];
    if (v === Infinity) return [NUM_INF];
    if (v === -Infinity) return [NUM_NEG_INF];
    const b = new Uint8Array(9);
    b[0] = NUM_FLOAT;
    new DataView(b.buffer).setFloat64(1, v, false);
    return [...b];
  }
  const v = num.value;
  if (v === 0n) return [NUM_ZERO];
  // the smallest of 1, 2, 4 or 8 big-endian bytes that holds the value (two's complement for Int64)
  const widths = [1, 2, 4, 8];
  const width = widths.find((w) =>
    num.kind === 'uint' ? v < 1n << BigInt(8 * w) : v >= -(1n << BigInt(8 * w - 1)) && v < 1n << BigInt(8 * w - 1),
  )!;
  const out = [num.kind === 'uint' ? NUM_UINT : NUM_INT];
  const bits = BigInt.asUintN(8 * width, v);
  for (let i = width - 1; i >= 0; i--) out.push(Number((bits >> BigInt(8 * i)) & 0xffn));
  return out;
}

class Writer {
  bytes: number[] = [];
  u32(v: number): void {
    this.bytes.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  }
  setU32(at: number, v: number): void {
    this.bytes[at] = (v >>> 24) & 0xff;
    this.bytes[at + 1] = (v >>> 16) & 0xff;
    this.bytes[at + 2] = (v >>> 8) & 0xff;
    this.bytes[at + 3] = v & 0xff;
  }
  push(bytes: Uint8Array | number[]): void {
    for (const b of bytes) this.bytes.push(b);
  }
}

function checkLength(n: number): number {
  if (n > JENTRY_LEN_MASK) throw new JsonbError(`payload of ${n} bytes exceeds the 28-bit JEntry length`);
  return n;
}

/** Writes a node's payload and returns its JEntry (the crate's encode_value). */
function writeValue(w: Writer, node: Node): number {
  const start = w.bytes.length;
  switch (node.t) {
    case 'null':
      return NULL_TAG;
    case 'true':
      return TRUE_TAG;
    case 'false':
      return FALSE_TAG;
    case 'string':
      w.push(node.bytes);
      return STRING_TAG | checkLength(node.bytes.length);
    case 'number':
      w.push(numberBytes(node.num));
      return NUMBER_TAG | (w.bytes.length - start);
    default:
      writeContainer(w, node);
      return CONTAINER_TAG | checkLength(w.bytes.length - start);
  }
}

function writeContainer(w: Writer, node: Node): void {
  if (node.t === 'array') {
    if (node.items.length > HEADER_LEN_MASK) throw new JsonbError('array too long');
    w.u32(ARRAY | node.items.length);
    let slot = w.bytes.length;
    for (let i = 0; i < node.items.length; i++) w.u32(0);
    for (const item of node.items) {
      w.setU32(slot, writeValue(w, item));
      slot += 4;
    }
  } else if (node.t === 'object') {
    w.u32(OBJECT | node.entries.length);
    let slot = w.bytes.length;
    for (let i = 0; i < 2 * node.entries.length; i++) w.u32(0);
    for (const [key] of node.entries) {
      w.push(key);
      w.setU32(slot, STRING_TAG | checkLength(key.length));
      slot += 4;
    }
    for (const [, value] of node.entries) {
      w.setU32(slot, writeValue(w, value));
      slot += 4;
    }
  } else {
    w.u32(SCALAR);
    const slot = w.bytes.length;
    w.u32(0);
    w.setU32(slot, writeValue(w, node));
  }
}

/** JSONB of a JSON-like value: null, boolean, number, bigint (64-bit), string, array, object or Map. */
export function encodeJsonb(value: unknown): Uint8Array {
  const w = new Writer();
  writeContainer(w, toNode(value, 0));
  return Uint8Array.from(w.bytes);
}

/** JSONB object of string values, keys in byte order: what upstream stores for a properties map. */
export function encodeJsonbStringMap(map: ReadonlyMap<string, string> | Iterable<readonly [string, string]>): Uint8Array {
  const entries: [string, unknown][] = [];
  for (const [k, v] of map) {
    if (typeof v !== 'string') throw new JsonbError(`property ${JSON.stringify(k)} has a non-string value`);
    entries.push([k, v]);
  }
  const w = new Writer();
  writeContainer(w, objectNode(entries, 0));
  return Uint8Array.from(w.bytes);
}

// Decoding ----------------------------------------------------------------------------------------

type Scalar =
  | { t: 'null' | 'true' | 'false' }
  | { t: 'string'; text: string }
  | { t: 'int'; value: bigint }
  | { t: 'float'; value: number };
type DNode = Scalar | { t: 'array'; items: DNode[] } | { t: 'object'; entries: [string, DNode][] };

class Reader {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u32(at: number, end: number, what: string): number {
    if (at + 4 > end) throw new JsonbError(`truncated ${what} at offset ${at}`);
    return this.view.getUint32(at, false);
  }
  text(start: number, end: number): string {
    try {
      return strictUtf8.decode(this.bytes.subarray(start, end));
    } catch {
      throw new JsonbError(`string at offset ${start} is not valid UTF-8`);
    }
  }
  int(start: number, end: number, signed: boolean): bigint {
    const n = end - start;
    if (n !== 1 && n !== 2 && n !== 4 && n !== 8) throw new JsonbError(`integer of ${n} bytes at offset ${start}`);
    let v = 0n;
    for (let i = start; i < end; i++) v = (v << 8n) | BigInt(this.bytes[i]!);
    return signed ? BigInt.asIntN(8 * n, v) : v;
  }
  number(start: number, end: number): Scalar {
    if (start >= end) throw new JsonbError(`empty number at offset ${start}`);
    const tag = this.bytes[start]!;
    const rest = end - start - 1;
    const exactly = (n: number) => {
      if (rest !== n) throw new JsonbError(`number tag 0x${tag.toString(16)} with ${rest} payload bytes at offset ${start}`);
    };
    switch (tag) {
      case NUM_ZERO:
        exactly(0);
        return { t: 'int', value: 0n };
      case NUM_NAN:
        exactly(0);
        return { t: 'float', value: NaN };
      case NUM_INF:
        exactly(0);
        return { t: 'float', value: Infinity };
      case NUM_NEG_INF:
        exactly(0);
        return { t: 'float', value: -Infinity };
      case NUM_INT:
        return { t: 'int', value: this.int(start + 1, end, true) };
      case NUM_UINT:
        return { t: 'int', value: this.int(start + 1, end, false) };
      case NUM_FLOAT:
        exactly(8);
        return { t: 'float', value: this.view.getFloat64(start + 1, false) };
      case NUM_DECIMAL: {
        // value (i64, i128 or i256) then scale u8; 18 and 34 are older layouts with a precision byte
        const layouts: Record<number, [number, number]> = { 9: [8, 9], 17: [16, 17], 18: [16, 18], 33: [32, 33], 34: [32, 34] };
        const layout = layouts[rest];
        if (!layout) throw new JsonbError(`decimal of ${rest} bytes at offset ${start}`);
        let v = 0n;
        for (let i = 0; i < layout[0]; i++) v = (v << 8n) | BigInt(this.bytes[start + 1 + i]!);
        v = BigInt.asIntN(8 * layout[0], v);
        const scale = this.bytes[start + layout[1]]!;
        // the crate (without arbitrary_precision) reads decimals as value / 10^scale in f64
        return { t: 'float', value: Number(v) / 10 ** scale };
      }
      default:
        throw new JsonbError(`unknown number tag 0x${tag.toString(16)} at offset ${start}`);
    }
  }

  /** The JEntry-described value occupying [start, end). */
  value(jentry: number, start: number, end: number, depth: number): DNode {
    switch (jentry & JENTRY_TYPE_MASK) {
      case NULL_TAG:
      case TRUE_TAG:
      case FALSE_TAG: {
        if (end !== start) throw new JsonbError(`null/boolean entry with a ${end - start}-byte payload at offset ${start}`);
        const type = jentry & JENTRY_TYPE_MASK;
        return { t: type === NULL_TAG ? 'null' : type === TRUE_TAG ? 'true' : 'false' };
      }
      case STRING_TAG:
        return { t: 'string', text: this.text(start, end) };
      case NUMBER_TAG:
        return this.number(start, end);
      case CONTAINER_TAG:
        return this.container(start, end, depth + 1);
      case EXTENSION_TAG:
        throw new JsonbError(`extension values (binary, date, timestamp, interval) are not supported (offset ${start})`);
      default:
        throw new JsonbError(`unknown entry type 0x${((jentry & JENTRY_TYPE_MASK) >>> 28).toString(16)} at offset ${start}`);
    }
  }

  jentry(at: number, end: number): number {
    const j = this.u32(at, end, 'entry');
    if (j & JENTRY_OFFSET_FLAG) throw new JsonbError(`entry at offset ${at} uses the offset mode, which no writer produces`);
    return j;
  }

  /** A container occupying exactly [start, end). */
  container(start: number, end: number, depth: number): DNode {
    if (depth > MAX_DEPTH) throw new JsonbError(`containers nest deeper than ${MAX_DEPTH} levels`);
    const header = this.u32(start, end, 'header');
    const type = (header & HEADER_TYPE_MASK) >>> 0;
    const n = header & HEADER_LEN_MASK;
    const entries = type === OBJECT ? 2 * n : type === ARRAY ? n : 1;
    if (type !== OBJECT && type !== ARRAY && type !== SCALAR) throw new JsonbError(`unknown container header 0x${header.toString(16)} at offset ${start}`);
    if (entries * 4 > end - start - 4) throw new JsonbError(`container at offset ${start} declares ${n} entries but has ${end - start} bytes`);
    let payload = start + 4 + entries * 4;
    const next = (i: number): [number, number, number] => {
      const j = this.jentry(start + 4 + 4 * i, end);
      const len = j & JENTRY_LEN_MASK;
      if (len > end - payload) throw new JsonbError(`entry ${i} of the container at offset ${start} runs past its end`);
      const at = payload;
      payload += len;
      return [j, at, payload];
    };
    let node: DNode;
    if (type === SCALAR) {
      const [j, a, b] = next(0);
      if ((j & JENTRY_TYPE_MASK) === CONTAINER_TAG) throw new JsonbError(`scalar container at offset ${start} holds a container`);
      node = this.value(j, a, b, depth);
    } else if (type === ARRAY) {
      const items: DNode[] = [];
      for (let i = 0; i < n; i++) items.push(this.value(...next(i), depth));
      node = { t: 'array', items };
    } else {
      const keys: string[] = [];
      for (let i = 0; i < n; i++) {
        const [j, a, b] = next(i);
        if ((j & JENTRY_TYPE_MASK) !== STRING_TAG) throw new JsonbError(`object key ${i} at offset ${start} is not a string`);
        keys.push(this.text(a, b));
      }
      const pairs: [string, DNode][] = [];
      for (let i = 0; i < n; i++) pairs.push([keys[i]!, this.value(...next(n + i), depth)]);
      node = { t: 'object', entries: pairs };
    }
    if (payload !== end) throw new JsonbError(`${end - payload} unexpected trailing bytes after the container at offset ${start}`);
    return node;
  }
}

function parse(bytes: Uint8Array): DNode {
  if (!(bytes instanceof Uint8Array)) throw new JsonbError('expected bytes');
  return new Reader(bytes).container(0, bytes.length, 0);
}

function setKey(o: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty so that a "__proto__" key is data, not a prototype change
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function toValue(node: DNode): unknown {
  switch (node.t) {
    case 'null':
      return null;
    case 'true':
      return true;
    case 'false':
      return false;
    case 'string':
      return node.text;
    case 'int':
      return node.value >= BigInt(Number.MIN_SAFE_INTEGER) && node.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(node.value) : node.value;
    case 'float':
      return node.value;
    case 'array':
      return node.items.map(toValue);
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const [k, v] of node.entries) setKey(o, k, toValue(v));
      return o;
    }
  }
}

/**
 * The value JSONB bytes hold. Objects become plain objects (in stored order, except that JavaScript lists
 * integer-like keys first; a repeated key keeps its last value), integers become numbers, or bigints
 * beyond ±(2^53 − 1), floats and decimals become numbers. Throws JsonbError on malformed input.
 */
export function decodeJsonb(bytes: Uint8Array): unknown {
  return toValue(parse(bytes));
}

/**
 * serde_json's float text (zmij, serde_json ≥ 1.0.14x, as upstream locks 1.0.150): shortest round-trip
 * digits, positional when the decimal exponent is in −5..=15 (always with a fraction, "1.0"), otherwise
 * d.ddde±x; non-finite values become null.
 */
export function formatJsonFloat(v: number): string {
  if (!Number.isFinite(v)) return 'null';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const [mantissa, exp] = v.toExponential().split('e') as [string, string];
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace('-', '').replace('.', '');
  const e = Number(exp);
  const n = digits.length;
  if (e >= -5 && e <= 15) {
    if (n - 1 <= e) return `${sign}${digits}${'0'.repeat(e - (n - 1))}.0`;
    if (e >= 0) return `${sign}${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
    return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  }
  return `${sign}${digits[0]}${n > 1 ? `.${digits.slice(1)}` : ''}e${e < 0 ? '-' : '+'}${Math.abs(e)}`;
}

function writeJson(node: DNode, out: string[]): void {
  switch (node.t) {
    case 'null':
    case 'true':
    case 'false':
      out.push(node.t);
      return;
    case 'string':
      out.push(JSON.stringify(node.text)); // same escapes as serde_json for well-formed text
      return;
    case 'int':
      out.push(node.value.toString());
      return;
    case 'float':
      out.push(formatJsonFloat(node.value));
      return;
    case 'array':
      out.push('[');
      node.items.forEach((item, i) => {
        if (i > 0) out.push(',');
        writeJson(item, out);
      });
      out.push(']');
      return;
    case 'object':
      out.push('{');
      node.entries.forEach(([k, v], i) => {
        out.push(i > 0 ? ',' : '', JSON.stringify(k), ':');
        writeJson(v, out);
      });
      out.push('}');
  }
}

/** Compact JSON text of JSONB bytes, like the crate's RawJsonb::to_string (stored key order, exact integers). */
export function jsonbToJson(bytes: Uint8Array): string {
  const out: string[] = [];
  writeJson(parse(bytes), out);
  return out.join('');
}
