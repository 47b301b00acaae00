// Starts an ingestion server on a fresh, real data lake for one test: PostgreSQL or PGlite for the
// metadata, a folder or an S3-compatible server (moto) for the objects.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { openLake, type Lake } from '@micromegas/lake';
import { createTestDatabase, startTestS3Server, type TestS3Server } from '@micromegas/lake/testing';
import { startIngestionServer, type IngestionServer, type IngestionServerOptions } from '@micromegas/ingestion';

export type Backend = 'postgres+file' | 'pglite+file' | 'postgres+s3';
export const BACKENDS: Backend[] = ['postgres+file', 'pglite+file', 'postgres+s3'];

export interface Harness {
  lake: Lake;
  server: IngestionServer;
  url: string;
  post(path: string, body: Uint8Array, headers?: Record<string, string>): Promise<{ status: number; text: string }>;
  close(): Promise<void>;
}

let s3: TestS3Server | undefined;

/** One moto server per test file; stopped by stopSharedS3(). */
export async function sharedS3(): Promise<TestS3Server> {
  s3 ??= await startTestS3Server();
  return s3;
}

export async function stopSharedS3(): Promise<void> {
  await s3?.stop();
  s3 = undefined;
}

export async function createBucket(endpoint: string, bucket: string): Promise<void> {
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
}

export async function startHarness(
  backend: Backend,
  serverOptions: Partial<IngestionServerOptions> = {},
): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'mm-ingestion-'));
  const db = backend.startsWith('postgres') ? await createTestDatabase('mm_ingest') : undefined;
  let objectStoreUri = `file://${join(dir, 'objects')}`;
  if (backend === 'postgres+s3') {
    const server = await sharedS3();
    const bucket = `bucket-${Math.random().toString(36).slice(2, 10)}`;
    await createBucket(server.endpoint, bucket);
    process.env.AWS_ENDPOINT_URL = server.endpoint;
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    process.env.AWS_REGION = 'us-east-1';
    objectStoreUri = `s3://${bucket}/lake`;
  }
  const lake = await openLake({ connectionString: db?.connectionString, objectStoreUri, dataDir: dir });
  const server = await startIngestionServer({ lake, port: 0, log: () => {}, ...serverOptions });
  return {
    lake,
    server,
    url: server.url,
    async post(path, body, headers = {}) {
      const res = await fetch(`${server.url}${path}`, { method: 'POST', body, headers });
      return { status: res.status, text: await res.text() };
    },
    async close() {
      await server.close();
      await lake.close();
      await db?.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function count(lake: Lake, table: 'processes' | 'streams' | 'blocks'): Promise<number> {
  const { rows } = await lake.db.query<{ n: string | number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return Number(rows[0]!.n);
}
