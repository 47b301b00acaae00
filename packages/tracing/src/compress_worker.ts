// Body of the background compression thread: LZ4-frames the two buffers of each closed block and
// sends them back on the port it was given, with the raw objects buffer for reuse. Deferred logs
// are formatted here too, off the recording thread.
import { workerData, type MessagePort } from 'node:worker_threads';
import { compressLz4Frame, type UserDefinedType } from '@micromegas/transit';
import { expandDeferredLogs } from './deferred_log.ts';

export interface StreamLayout {
  dependenciesMetadata: UserDefinedType[];
  objectsMetadata: UserDefinedType[];
}

export interface CompressJob {
  seq: number;
  dependencies: Uint8Array;
  objects: Uint8Array;
  /** Set when the objects hold deferred-log events to expand first: the stream's layout. */
  deferredLogsOf: StreamLayout | null;
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
    objects: compressLz4Frame(job.deferredLogsOf ? expandDeferredLogs(job.deferredLogsOf, job.dependencies, job.objects) : job.objects),
    raw: job.objects.buffer as ArrayBuffer,
  };
  port.postMessage(result, [result.dependencies.buffer as ArrayBuffer, result.objects.buffer as ArrayBuffer, result.raw]);
});
