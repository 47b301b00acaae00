// Shared by analytics tests: telemetry recorded by our tracing package, loaded into a real lake
// (PostgreSQL or PGlite + object store) through the ingestion service, as a client would send it.
import { randomUUID } from 'node:crypto';
import { ingestRecorded } from '@micromegas/ingestion/testing';
import type { Lake } from '@micromegas/lake';
import { MemorySink, TSC_FREQUENCY, initDispatch, shutdownDispatch, ticksNow, type FinishedBlock } from '@micromegas/tracing';
import type { ProcessInfo } from '@micromegas/transit';
import type { BlockWithContext } from '../src/metadata.ts';
import { fetchBlocksWithContext } from '../src/metadata_cache.ts';

export function testProcessInfo(overrides: Partial<ProcessInfo> = {}): ProcessInfo {
  return {
    processId: randomUUID(),
    exe: 'analytics-test',
    username: 'tester',
    realname: 'Tester',
    computer: 'box',
    distro: 'linux',
    cpuBrand: 'cpu',
    tscFrequency: TSC_FREQUENCY,
    startTime: new Date().toISOString(),
    startTicks: BigInt(ticksNow()),
    parentProcessId: null,
    properties: new Map([['version', '1.0']]),
    ...overrides,
  };
}

/** Records with the tracing package into memory; returns the sink once every stream is flushed. */
export async function record(body: () => void | Promise<void>, process = testProcessInfo()): Promise<MemorySink> {
  const sink = new MemorySink();
  initDispatch({ sink, process, backgroundCompression: false });
  try {
    await body();
  } finally {
    await shutdownDispatch();
  }
  return sink;
}

export { openTestLake, type TestLake } from '@micromegas/lake/testing';

/** Sends everything a MemorySink holds to the lake through the ingestion service. */
export function ingest(lake: Lake, sink: MemorySink, blocks: readonly FinishedBlock[] = sink.blocks): Promise<void> {
  return ingestRecorded(lake, sink, blocks);
}

export async function blocksOf(lake: Lake, tag: string): Promise<BlockWithContext[]> {
  return fetchBlocksWithContext(lake.db, `$1 = ANY(s.tags)`, [tag]);
}
