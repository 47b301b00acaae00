// Result output: an aligned table for terminals, CSV, JSON lines or Parquet. Rows are converted
// with nanosecond timestamps (RFC 3339 text); csv and json stream batch by batch.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { Table, tableToIPC, type RecordBatch, type Schema } from 'apache-arrow';
import { batchRows, type Row } from '@micromegas/client';
import { UsageError } from '../command.ts';

export type Format = 'table' | 'csv' | 'json' | 'parquet';
export const FORMATS: Format[] = ['table', 'csv', 'json', 'parquet'];

/** --format, else the --output file's extension, else a table on a terminal and JSON lines otherwise. */
export function chooseFormat(format: string | undefined, output: string | undefined, stdoutIsTty = process.stdout.isTTY === true): Format {
  if (format !== undefined) {
    if (!FORMATS.includes(format as Format)) throw new UsageError(`--format: expected one of ${FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
    return format as Format;
  }
  const ext = output ? /\.([a-z]+)$/i.exec(output)?.[1]?.toLowerCase() : undefined;
  if (ext === 'csv') return 'csv';
  if (ext === 'parquet') return 'parquet';
  if (ext === 'json' || ext === 'jsonl' || ext === 'ndjson') return 'json';
  if (ext === 'txt') return 'table';
  return !output && stdoutIsTty ? 'table' : 'json';
}

/** Text of a cell: null as '', nested values as JSON, bytes as hex. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return JSON.stringify(jsonValue(v));
}

/** A JSON-safe value: bigints as numbers when exact, else strings; bytes as base64. */
export function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)]));
  return v;
}

export function csvField(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const NUMERIC = /^(Int|Uint|Float|Decimal)/;

/** Renders rows as an aligned text table. */
export function renderTable(schema: Schema, rows: Row[], maxWidth = 80): string {
  const names = schema.fields.map((f) => f.name);
  const right = schema.fields.map((f) => NUMERIC.test(String(f.type)));
  const clip = (s: string) => {
    const one = s.replace(/\r?\n/g, '⏎');
    return one.length > maxWidth ? `${one.slice(0, maxWidth - 1)}…` : one;
  };
  const cells = rows.map((r) => names.map((n) => clip(cellText(r[n]))));
  const widths = names.map((n, k) => Math.max(n.length, ...cells.map((c) => c[k]!.length)));
  const line = (values: string[]) => values.map((v, k) => (right[k] ? v.padStart(widths[k]!) : v.padEnd(widths[k]!))).join(' │ ').trimEnd();
  return [line(names), widths.map((w) => '─'.repeat(w)).join('─┼─'), ...cells.map(line)].join('\n') + '\n';
}

/** Where the result goes: a file or stdout, waiting for the stream to drain. */
export class Output {
  readonly stream: Writable;
  readonly #file: boolean;
  constructor(path?: string) {
    this.#file = path !== undefined;
    this.stream = path !== undefined ? createWriteStream(path) : process.stdout;
  }
  async write(data: string | Uint8Array): Promise<void> {
    if (!this.stream.write(data)) await once(this.stream, 'drain');
  }
  async close(): Promise<void> {
    if (this.#file) {
      this.stream.end();
      await once(this.stream, 'finish');
    }
  }
}

/** Writes a stream of batches in a format; returns the row count. */
export interface WriteOptions {
  maxColWidth?: number;
  onRows?: (n: number) => void;
}

export async function writeResult(out: Output, format: Format, schema: Schema, batches: AsyncIterable<RecordBatch>, options: WriteOptions = {}): Promise<number> {
  let count = 0;
  const rowOptions = { timestamps: 'iso' as const };
  if (format === 'csv') {
    await out.write(schema.fields.map((f) => csvField(f.name)).join(',') + '\n');
    for await (const b of batches) {
      let text = '';
      for (const r of batchRows(b, rowOptions)) text += schema.fields.map((f) => csvField(cellText(r[f.name]))).join(',') + '\n';
      await out.write(text);
      options.onRows?.((count += b.numRows));
    }
    return count;
  }
  if (format === 'json') {
    for await (const b of batches) {
      let text = '';
      for (const r of batchRows(b, rowOptions)) text += JSON.stringify(jsonValue(r)) + '\n';
      await out.write(text);
      options.onRows?.((count += b.numRows));
    }
    return count;
  }
  const all: RecordBatch[] = [];
  for await (const b of batches) {
    all.push(b);
    options.onRows?.((count += b.numRows));
  }
  if (format === 'table') {
    const rows: Row[] = [];
    for (const b of all) for (const r of batchRows(b, rowOptions)) rows.push(r);
    await out.write(renderTable(schema, rows, options.maxColWidth));
    return count;
  }
  // Parquet through parquet-wasm (loaded only here): Arrow IPC in, a Parquet file out.
  const pq = await import('parquet-wasm/node');
  const wasmTable = pq.Table.fromIPCStream(tableToIPC(new Table(schema, all), 'stream'));
  await out.write(pq.writeParquet(wasmTable));
  return count;
}
