// Column chunk encoders: read Arrow Data buffers (values, valueOffsets, dictionary) directly and emit
// pages through a ChunkWriter. A chunk covers one row group and may span several record batches.
import type { Data, Vector } from 'apache-arrow';
import { allPresentLevels, BitAppender, bitWidthFor, encodeRuns, MAX_RLE_BIT_WIDTH, Runs } from './encodings.ts';
import { ChunkWriter, Encoding, PageType } from './pages.ts';
import type { ColumnPlan } from './schema.ts';
import { ByteSink } from './sink.ts';
import { FixedStats, Utf8Stats, type ChunkStats } from './stats.ts';
import { deltaEncodeInt64, deltaEncodeLengths } from './delta.ts';

/** Rows [from, from + count) of one batch's column. */
export interface Segment {
  data: Data;
  from: number;
  count: number;
}

export interface ChunkOptions {
  pageSize: number;
  lz4: boolean;
  deltaTimestamps: boolean;
  deltaLengths: boolean;
}

export interface ChunkResult {
  writer: ChunkWriter;
  numValues: number;
  stats: ChunkStats | undefined;
}

/** Shared scratch for page bodies that cannot be a view of the Arrow buffers. */
const scratch = new ByteSink(1 << 20);

function totalRows(segs: readonly Segment[]): number {
  let n = 0;
  for (const s of segs) n += s.count;
  return n;
}

/** Calls fn for the parts of the segments that cover chunk rows [a, b). */
function forRange(segs: readonly Segment[], a: number, b: number, fn: (data: Data, from: number, count: number) => void): void {
  let base = 0;
  for (const s of segs) {
    const lo = Math.max(a, base);
    const hi = Math.min(b, base + s.count);
    if (lo < hi) fn(s.data, s.from + lo - base, hi - lo);
    base += s.count;
    if (base >= b) break;
  }
}

function fixedBytes(data: Data, from: number, count: number, width: number): Uint8Array {
  const v = data.values as unknown as ArrayBufferView;
  return new Uint8Array(v.buffer, v.byteOffset + from * width, count * width);
}

function beginBody(plan: ColumnPlan, rows: number): void {
  scratch.pos = 0;
  if (plan.optional) allPresentLevels(rows, scratch);
}

function writeFixed(plan: ColumnPlan, segs: readonly Segment[], w: ChunkWriter, opts: ChunkOptions): ChunkStats {
  const n = totalRows(segs);
  const stats = new FixedStats(plan.stats);
  for (const s of segs) stats.add(s.data, s.from, s.count);
  if (plan.delta && opts.deltaTimestamps) {
    // One delta page per chunk: the encoding is compact, so even 128 Ki rows stay well under a few MiB.
    beginBody(plan, n);
    if (deltaEncodeInt64(segs, n, scratch)) {
      w.page(PageType.Data, scratch.result(), n, Encoding.DeltaBinaryPacked);
      return stats;
    }
  }
  const pageRows = Math.max(1, Math.floor(opts.pageSize / plan.width));
  for (let a = 0; a < n || (a === 0 && n === 0); a += pageRows) {
    const b = Math.min(n, a + pageRows);
    const first = segs[0];
    if (!plan.optional && segs.length === 1 && first) {
      w.page(PageType.Data, fixedBytes(first.data, first.from + a, b - a, plan.width), b - a, Encoding.Plain);
    } else {
      beginBody(plan, b - a);
      forRange(segs, a, b, (data, from, count) => scratch.bytes(fixedBytes(data, from, count, plan.width)));
      w.page(PageType.Data, scratch.result(), b - a, Encoding.Plain);
    }
    if (n === 0) break;
  }
  return stats;
}

function writeBool(plan: ColumnPlan, segs: readonly Segment[], w: ChunkWriter, opts: ChunkOptions): void {
  const n = totalRows(segs);
  const pageRows = opts.pageSize * 8;
  for (let a = 0; a < n || (a === 0 && n === 0); a += pageRows) {
    const b = Math.min(n, a + pageRows);
    beginBody(plan, b - a);
    const bits = new BitAppender(scratch);
    forRange(segs, a, b, (data, from, count) => bits.append(data.values as Uint8Array, data.offset + from, count));
    bits.flush();
    w.page(PageType.Data, scratch.result(), b - a, Encoding.Plain);
    if (n === 0) break;
  }
}

/** Byte arrays, DELTA_LENGTH_BYTE_ARRAY or PLAIN (4-byte length + bytes), pages cut at about pageSize bytes. */
function writeBytes(plan: ColumnPlan, segs: readonly Segment[], w: ChunkWriter, opts: ChunkOptions): void {
  const n = totalRows(segs);
  // Page boundaries first, so definition levels (which need the row count) can lead each page.
  const cuts: number[] = [];
  let size = 0;
  let row = 0;
  for (const s of segs) {
    const off = s.data.valueOffsets as Int32Array;
    for (let k = s.from; k < s.from + s.count; k++, row++) {
      size += 4 + off[k + 1]! - off[k]!;
      if (size >= opts.pageSize) {
        cuts.push(row + 1);
        size = 0;
      }
    }
  }
  if (cuts[cuts.length - 1] !== n || n === 0) cuts.push(n);
  let a = 0;
  for (const b of cuts) {
    beginBody(plan, b - a);
    if (opts.deltaLengths) {
      // DELTA_LENGTH_BYTE_ARRAY: packed lengths, then the value bytes as one copy per batch.
      const parts: { offsets: Int32Array; bytes: Uint8Array; from: number; count: number }[] = [];
      forRange(segs, a, b, (data, from, count) => parts.push({ offsets: data.valueOffsets as Int32Array, bytes: data.values as Uint8Array, from, count }));
      deltaEncodeLengths(parts, b - a, scratch);
      for (const p of parts) scratch.bytes(p.bytes.subarray(p.offsets[p.from]!, p.offsets[p.from + p.count]!));
      w.page(PageType.Data, scratch.result(), b - a, Encoding.DeltaLengthByteArray);
      a = b;
      continue;
    }
    forRange(segs, a, b, (data, from, count) => {
      const off = data.valueOffsets as Int32Array;
      const src = data.values as Uint8Array;
      scratch.ensure(4 * count + off[from + count]! - off[from]!);
      const buf = scratch.buf;
      let p = scratch.pos;
      for (let k = from; k < from + count; k++) {
        const s = off[k]!;
        const e = off[k + 1]!;
        const len = e - s;
        buf[p] = len & 0xff;
        buf[p + 1] = (len >>> 8) & 0xff;
        buf[p + 2] = (len >>> 16) & 0xff;
        buf[p + 3] = len >>> 24;
        p += 4;
        if (len < 32) for (let i = s; i < e; i++) buf[p++] = src[i]!;
        else {
          buf.set(src.subarray(s, e), p);
          p += len;
        }
      }
      scratch.pos = p;
    });
    w.page(PageType.Data, scratch.result(), b - a, Encoding.Plain);
    a = b;
  }
}

/** Byte ranges of a dictionary vector's values, chunk by chunk (usually one). */
interface DictSource {
  offsets: Int32Array[];
  bytes: Uint8Array[];
  starts: number[];
}

function dictSource(dictionary: Vector): DictSource {
  const src: DictSource = { offsets: [], bytes: [], starts: [] };
  let start = 0;
  for (const d of dictionary.data) {
    src.offsets.push(d.valueOffsets as Int32Array);
    src.bytes.push(d.values as Uint8Array);
    src.starts.push(start);
    start += d.length;
  }
  return src;
}

const runs = new Runs();

/**
 * Dictionary columns: one PLAIN dictionary page holding the entries this chunk uses (merged across the
 * batches' dictionaries), then one RLE_DICTIONARY data page of remapped indices.
 */
function writeDict(plan: ColumnPlan, segs: readonly Segment[], w: ChunkWriter): ChunkStats | undefined | false {
  const n = totalRows(segs);
  runs.reset();
  const dictPage = new ByteSink(4096);
  const entryStarts: number[] = [];
  const byKey = new Map<string, number>();
  let remap = new Int32Array(0);
  let remapFor: Vector | undefined;
  let source: DictSource | undefined;
  for (const s of segs) {
    const dictionary = s.data.dictionary!;
    if (dictionary !== remapFor) {
      remapFor = dictionary;
      source = dictSource(dictionary);
      remap = new Int32Array(dictionary.length).fill(-1);
    }
    const indices = s.data.values as Int32Array;
    // Indices come in long runs: per row only a compare, per run a remap lookup.
    const end = s.from + s.count;
    let k = s.from;
    while (k < end) {
      const local = indices[k]!;
      const start = k;
      while (++k < end && indices[k] === local);
      let g = remap[local]!;
      if (g < 0) {
        g = addEntry(source!, local, dictPage, entryStarts, byKey);
        remap[local] = g;
      }
      runs.push(g, k - start);
    }
  }
  const entries = entryStarts.length;
  const bitWidth = bitWidthFor(Math.max(0, entries - 1));
  if (bitWidth > MAX_RLE_BIT_WIDTH) return false;
  w.page(PageType.Dictionary, dictPage.result(), entries, Encoding.Plain);
  beginBody(plan, n);
  scratch.byte(bitWidth);
  encodeRuns(runs, bitWidth, scratch);
  w.page(PageType.Data, scratch.result(), n, Encoding.RleDictionary);
  if (plan.stats !== 'utf8' || entries === 0) return undefined;
  const stats = new Utf8Stats();
  const page = dictPage.buf;
  for (const start of entryStarts) {
    const len = page[start]! | (page[start + 1]! << 8) | (page[start + 2]! << 16) | (page[start + 3]! << 24);
    stats.add(page, start + 4, len);
  }
  return stats;
}

const latin1 = new TextDecoder('latin1');

function addEntry(src: DictSource, local: number, page: ByteSink, entryStarts: number[], byKey: Map<string, number>): number {
  let c = src.starts.length - 1;
  while (src.starts[c]! > local) c--;
  const off = src.offsets[c]!;
  const i = local - src.starts[c]!;
  const value = src.bytes[c]!.subarray(off[i]!, off[i + 1]!);
  // Byte-exact key: batches with different dictionaries share one chunk dictionary.
  const key = latin1.decode(value);
  const known = byKey.get(key);
  if (known !== undefined) return known;
  const g = entryStarts.length;
  byKey.set(key, g);
  entryStarts.push(page.pos);
  page.u32le(value.length);
  page.bytes(value);
  return g;
}

/** Encodes one column chunk; returns undefined when this writer cannot encode it after all. */
export function writeChunk(plan: ColumnPlan, segs: readonly Segment[], out: ByteSink, opts: ChunkOptions): ChunkResult | undefined {
  const w = new ChunkWriter(out, opts.lz4);
  const numValues = totalRows(segs);
  let stats: ChunkStats | undefined;
  switch (plan.layout) {
    case 'fixed':
      stats = writeFixed(plan, segs, w, opts);
      break;
    case 'bool':
      writeBool(plan, segs, w, opts);
      break;
    case 'bytes':
      writeBytes(plan, segs, w, opts);
      break;
    case 'dict': {
      const r = writeDict(plan, segs, w);
      if (r === false) return undefined;
      stats = r;
      break;
    }
  }
  return { writer: w, numValues, stats };
}
