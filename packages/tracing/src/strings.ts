// Interned strings: each distinct text gets one StringEntry with a stable id and its UTF-8 bytes,
// so events carry an 8-byte reference and blocks carry the text once, as a dependency.
import type { DepsWriter } from './deps_writer.ts';
import { EMPTY_STRING_ID, hi32, lo32, newDependencyId } from './ids.ts';

const encoder = new TextEncoder();

export class StringEntry {
  readonly idLo: number;
  readonly idHi: number;
  readonly utf8: Uint8Array;
  /** Stamp of the block whose dependencies last listed this string (see EventStream). */
  seen = 0;
  /** Stamp of the dependency extraction that last emitted it. */
  emitted = 0;
  constructor(
    readonly text: string,
    readonly id: number,
  ) {
    this.idLo = lo32(id);
    this.idHi = hi32(id);
    this.utf8 = encoder.encode(text);
  }

  emit(w: DepsWriter): void {
    w.staticString(this);
  }
}

// Dynamic texts (named spans, interop targets) could grow the table forever: past this many entries
// it starts over; texts seen again simply get new ids.
const MAX_INTERNED = 65536;
const table = new Map<string, StringEntry>();
export const emptyString = new StringEntry('', EMPTY_STRING_ID);

export function internString(text: string): StringEntry {
  if (text === '') return emptyString;
  let entry = table.get(text);
  if (entry === undefined) {
    if (table.size >= MAX_INTERNED) table.clear();
    entry = new StringEntry(text, newDependencyId());
    table.set(text, entry);
  }
  return entry;
}
