// Field writers shared by the envelope encoders, which emit ciborium's canonical shape: definite lengths,
// shortest heads, struct fields in Rust declaration order.
import type { CborWriter } from './cbor.ts';
import { TransitFormatError } from './errors.ts';
import { normalizeUuid } from './fields.ts';

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

export function writeUuid(writer: CborWriter, value: string, context: string, field: string): void {
  writer.writeText(normalizeUuid(value, context, field));
}

export function writeI64(writer: CborWriter, value: bigint, context: string, field: string): void {
  if (typeof value !== 'bigint' || value < I64_MIN || value > I64_MAX) {
    throw new TransitFormatError(`${context}: field ${field} must be a bigint within the 64-bit signed range`);
  }
  writer.writeInteger(value);
}

export function writeUsize(writer: CborWriter, value: number, context: string, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TransitFormatError(`${context}: field ${field} must be a non-negative integer, got ${value}`);
  }
  writer.writeInteger(value);
}

export function writeProperties(writer: CborWriter, properties: ReadonlyMap<string, string>): void {
  writer.writeHead(5, properties.size);
  for (const [key, value] of properties) {
    writer.writeText(key);
    writer.writeText(value);
  }
}
