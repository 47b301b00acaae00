// Dependency ids ("pointers" on the wire) and the process-wide counters shared with worker threads.
// An id is slot × 2^32 + n: each thread owns a slot (the main thread 0, each worker the next free one,
// taken from shared memory), so ids are unique in the process and never reused for other content.
// Id 1 is the empty string, as upstream.
import { isMainThread, getEnvironmentData, setEnvironmentData } from 'node:worker_threads';

const SHARED_KEY = 'micromegas.tracing.counters';
const TWO_32 = 4294967296;

// [0]: last async span id, [1]: last thread slot.
let counters: BigInt64Array | null = null;
if (isMainThread) {
  counters = new BigInt64Array(new SharedArrayBuffer(16));
  setEnvironmentData(SHARED_KEY, counters);
} else {
  const shared = getEnvironmentData(SHARED_KEY);
  if (shared instanceof BigInt64Array) counters = shared;
}

const slot = counters === null || isMainThread ? 0 : Number(Atomics.add(counters, 1, 1n)) + 1;
let nextLocalId = 2;

export const EMPTY_STRING_ID = 1;

/** A fresh dependency id, unique in the process. */
export function newDependencyId(): number {
  const local = nextLocalId++;
  if (local >= TWO_32) throw new Error('tracing: dependency ids exhausted for this thread');
  return slot * TWO_32 + local;
}

/** A fresh async span id from the process-global counter (first id is 1). */
export function newSpanId(): number {
  if (counters === null) return nextFallbackSpanId++;
  return Number(Atomics.add(counters, 0, 1n)) + 1;
}
let nextFallbackSpanId = 1;

/** Low and high 32-bit halves of a non-negative integer below 2^53. */
export function lo32(x: number): number {
  return x >>> 0;
}
export function hi32(x: number): number {
  return Math.floor(x / TWO_32) >>> 0;
}
