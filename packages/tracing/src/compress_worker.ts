// Body of the background compression thread: LZ4-frames the two buffers of each closed block.
import { parentPort } from 'node:worker_threads';
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
}

parentPort?.on('message', (job: CompressJob) => {
  const result: CompressResult = {
    seq: job.seq,
    dependencies: compressLz4Frame(job.dependencies),
    objects: compressLz4Frame(job.objects),
  };
  parentPort!.postMessage(result, [result.dependencies.buffer as ArrayBuffer, result.objects.buffer as ArrayBuffer]);
});
