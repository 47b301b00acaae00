// Body of the background compression thread: LZ4-frames the two buffers of each closed block and
// sends them back on the port it was given, with the raw objects buffer for reuse.
import { workerData, type MessagePort } from 'node:worker_threads';
import { compressLz4Frame } from '@micromegas/transit';

export interface CompressJob {
  seq: number;
  dependencies: Uint8Array;
  objects: Uint8Array;
}

export interface CompressResult {
  seq: number;
  dependencies: Uint8Array;
  objects: Uint8Array;
  /** The uncompressed objects buffer, given back for reuse. */
  raw: ArrayBuffer;
}

const port = (workerData as { port?: MessagePort } | null)?.port;
port?.on('message', (job: CompressJob) => {
  const result: CompressResult = {
    seq: job.seq,
    dependencies: compressLz4Frame(job.dependencies),
    objects: compressLz4Frame(job.objects),
    raw: job.objects.buffer as ArrayBuffer,
  };
  port.postMessage(result, [result.dependencies.buffer as ArrayBuffer, result.objects.buffer as ArrayBuffer, result.raw]);
});
