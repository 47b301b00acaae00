// Column buffers are recycled between partitions: touching fresh memory costs more than filling it
// on some machines (page faults), and a daemon builds partitions all day long. A buffer goes back to
// the pool only once nothing reads it any more (after its partition's Parquet file is written).
const MAX_POOLED_BYTES = 512 * 1024 * 1024;
const free: ArrayBuffer[] = [];
let pooledBytes = 0;

/** An ArrayBuffer of at least `bytes` (page-sized granularity), reused when one is free. */
export function takeBuffer(bytes: number): ArrayBuffer {
  let best = -1;
  for (let i = 0; i < free.length; i++) {
    const size = free[i]!.byteLength;
    // Take a buffer that fits without wasting more than 4× the request.
    if (size >= bytes && size <= bytes * 4 + 65536 && (best < 0 || size < free[best]!.byteLength)) best = i;
  }
  if (best >= 0) {
    const buffer = free.splice(best, 1)[0]!;
    pooledBytes -= buffer.byteLength;
    return buffer;
  }
  return new ArrayBuffer(bytes);
}

/** Hands buffers back; the caller guarantees nothing references their contents any more. */
export function releaseBuffers(buffers: Iterable<ArrayBuffer>): void {
  for (const b of buffers) {
    if (b.byteLength < 65536 || pooledBytes + b.byteLength > MAX_POOLED_BYTES || free.includes(b)) continue;
    free.push(b);
    pooledBytes += b.byteLength;
  }
}

export function pooledByteCount(): number {
  return pooledBytes;
}
