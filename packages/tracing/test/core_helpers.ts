// Shared by the core_* tests: a process description and a decoder of everything a MemorySink got.
import { randomUUID } from 'node:crypto';
import { TransitObject, decodeTransitPayload, type ProcessInfo } from '@micromegas/transit';
import { MemorySink, TSC_FREQUENCY, ticksNow, type FinishedBlock, type StreamKind } from '@micromegas/tracing';

export function testProcess(): ProcessInfo {
  return {
    processId: randomUUID(),
    exe: 'test',
    username: 'u',
    realname: 'u',
    computer: 'c',
    distro: 'd',
    cpuBrand: 'cpu',
    tscFrequency: TSC_FREQUENCY,
    startTime: new Date().toISOString(),
    startTicks: BigInt(ticksNow()),
    parentProcessId: null,
    properties: new Map(),
  };
}

export function decodeBlock(b: FinishedBlock): TransitObject[] {
  const decoded = decodeTransitPayload(b.stream, b.block.payload);
  return decoded.objects.map((o) => {
    if (!(o instanceof TransitObject)) throw new Error('expected objects');
    return o;
  });
}

export function decodeKind(sink: MemorySink, kind: StreamKind, streamId?: string): TransitObject[] {
  return sink.blocks
    .filter((b) => b.kind === kind && (streamId === undefined || b.stream.streamId === streamId))
    .flatMap(decodeBlock);
}

/** The text a log event carries (the static format string or the dynamic message). */
export function logText(o: TransitObject): string {
  const msg = o.get('msg');
  if (typeof msg === 'string') return msg;
  return (o.get('desc') as TransitObject).get('fmt_str') as string;
}

export function logLevel(o: TransitObject): number {
  const level = o.get('level');
  if (typeof level === 'number') return level;
  return (o.get('desc') as TransitObject).get('level') as number;
}
