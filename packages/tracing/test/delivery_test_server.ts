// A real HTTP server on loopback standing in for the ingestion service in delivery tests: it records
// every request and answers whatever the test decides (a status, or never), and can go down and
// come back up on the same port.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { compressLz4Frame, decodeBlock, decodeStreamInfo } from '@micromegas/transit';
import type { BlockEnvelope, StreamInfo } from '@micromegas/transit';
import { decodeLogEntries, type ConsoleLogEntry } from '../src/console_sink.ts';
import type { FinishedBlock, StreamKind } from '../src/sink.ts';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A status to answer, or 'hang' to never answer. */
export type Reply = number | 'hang';

export class TestIngestionServer {
  readonly received: ReceivedRequest[] = [];
  /** Decides the answer of each request; 200 by default. */
  reply: (request: ReceivedRequest) => Reply = () => 200;
  /** Delay before answering, to play a slow server. */
  delayMs = 0;
  private server: http.Server | undefined;
  private readonly hanging = new Set<http.ServerResponse>();

  private constructor(readonly port: number) {}

  /** Starts listening on a fresh loopback port (or stays down, keeping only the port number). */
  static async start(options: { down?: boolean } = {}): Promise<TestIngestionServer> {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const server = new TestIngestionServer(port);
    if (!options.down) await server.up();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    if (this.server) return;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request: ReceivedRequest = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        this.received.push(request);
        const answer = (): void => {
          const reply = this.reply(request);
          if (reply === 'hang') {
            this.hanging.add(res);
            return;
          }
          res.statusCode = reply;
          res.end(reply === 200 ? '' : 'error');
        };
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  paths(): string[] {
    return this.received.map((r) => r.path);
  }

  /** The blocks received, with their streams, sorted by stream and object offset. */
  blocks(): FinishedBlock[] {
    const streams = new Map<string, StreamInfo>();
    for (const r of this.on('insert_stream')) {
      const s = decodeStreamInfo(r.body);
      streams.set(s.streamId, s);
    }
    const blocks = this.on('insert_block').map((r) => {
      const block = decodeBlock(r.body);
      const stream = streams.get(block.streamId);
      assert.ok(stream, 'the stream of every block was sent');
      return { kind: stream.tags[0] as StreamKind, stream, block };
    });
    return blocks.sort((a, b) =>
      a.block.streamId === b.block.streamId ? Number(a.block.objectOffset - b.block.objectOffset) : a.block.streamId < b.block.streamId ? -1 : 1,
    );
  }

  /** Every log entry received (several requests are in flight at once, so order across blocks is by offset). */
  logEntries(): ConsoleLogEntry[] {
    return this.blocks()
      .filter((b) => b.kind === 'log')
      .flatMap((b) => decodeLogEntries(b));
  }

  /** Requests to one route, e.g. 'insert_block'. */
  on(route: string): ReceivedRequest[] {
    return this.received.filter((r) => r.path.endsWith(`/ingestion/${route}`));
  }
}

/** Waits until `condition` holds, polling; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const PROCESS_ID = '6f1e9c1a-8d52-4c6b-9a43-2d7f0b3e5a11';

export function testStream(tag: StreamKind, streamId: string = crypto.randomUUID()): StreamInfo {
  return {
    processId: PROCESS_ID,
    streamId,
    dependenciesMetadata: [],
    objectsMetadata: [],
    tags: [tag],
    properties: new Map(),
  };
}

/** A closed block with a payload of `payloadBytes` random (incompressible) bytes. */
export function testBlock(stream: StreamInfo, kind: StreamKind, payloadBytes = 100, objectOffset = 0n): FinishedBlock {
  const objects = new Uint8Array(payloadBytes);
  crypto.getRandomValues(objects);
  const block: BlockEnvelope = {
    blockId: crypto.randomUUID(),
    streamId: stream.streamId,
    processId: stream.processId,
    beginTime: '2026-11-25T10:00:00.000000000+00:00',
    beginTicks: 0n,
    endTime: '2026-11-25T10:00:01.000000000+00:00',
    endTicks: 1_000_000_000n,
    payload: { dependencies: compressLz4Frame(new Uint8Array(0)), objects: compressLz4Frame(objects) },
    objectOffset,
    nbObjects: 1,
  };
  return { kind, stream, block };
}

export { PROCESS_ID as TEST_PROCESS_ID };
