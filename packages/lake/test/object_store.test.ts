import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  InvalidObjectKeyError,
  isTransient,
  ObjectStoreError,
  openObjectStore,
  openS3Store,
  type ObjectStore,
} from '../src/index.ts';
import { freePort, startTestS3Server, type TestS3Server } from '../src/testing.ts';

// The AWS SDK warns once per process that it will drop Node 20 in 2027; irrelevant to these tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const bytes = (...v: number[]) => new Uint8Array(v);

/** Behaviour every store must share; `make` returns a fresh, empty store. */
function storeContract(name: string, make: () => Promise<ObjectStore>) {
  describe(`${name} object store`, () => {
    let store: ObjectStore;
    before(async () => {
      store = await make();
    });
    after(async () => {
      await store.close();
    });

    test('create-only put: the first write wins and later writes leave it untouched', async () => {
      const key = 'blobs/p1/s1/b1';
      assert.equal(await store.get(key), undefined);
      assert.equal(await store.putIfAbsent(key, bytes(1, 2, 3)), 'created');
      assert.equal(await store.putIfAbsent(key, bytes(9, 9)), 'exists');
      assert.deepEqual(await store.get(key), bytes(1, 2, 3));
    });

    test('empty and larger payloads round-trip', async () => {
      assert.equal(await store.putIfAbsent('blobs/p1/s1/empty', new Uint8Array(0)), 'created');
      assert.deepEqual(await store.get('blobs/p1/s1/empty'), new Uint8Array(0));
      const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
      assert.equal(await store.putIfAbsent('blobs/p1/s1/big', big), 'created');
      assert.deepEqual(await store.get('blobs/p1/s1/big'), big);
    });

    test('20 concurrent writers of one key: exactly one created, and the object is one of theirs', async () => {
      const key = 'blobs/race/s/b';
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.putIfAbsent(key, new Uint8Array(1000).fill(i))),
      );
      assert.equal(results.filter((r) => r === 'created').length, 1);
      assert.equal(results.filter((r) => r === 'exists').length, 19);
      const winner = results.indexOf('created');
      assert.deepEqual(await store.get(key), new Uint8Array(1000).fill(winner));
    });

    test('list returns keys under a prefix in byte order, honouring the limit; delete removes', async () => {
      for (const k of ['ls/a/2', 'ls/a/1', 'ls/a.c', 'ls/ab', 'ls/b/x/y', 'other/z']) {
        assert.equal(await store.putIfAbsent(k, bytes(1)), 'created');
      }
      assert.deepEqual(await store.list('ls/'), ['ls/a.c', 'ls/a/1', 'ls/a/2', 'ls/ab', 'ls/b/x/y']);
      assert.deepEqual(await store.list('ls/a'), ['ls/a.c', 'ls/a/1', 'ls/a/2', 'ls/ab']);
      assert.deepEqual(await store.list('ls/a/'), ['ls/a/1', 'ls/a/2']);
      assert.deepEqual(await store.list('ls/', 2), ['ls/a.c', 'ls/a/1']);
      assert.deepEqual(await store.list('nothing/here/'), []);
      assert.ok((await store.list('')).includes('other/z'));
      await store.delete('ls/a/1');
      await store.delete('ls/a/1'); // deleting a missing key is fine
      assert.equal(await store.get('ls/a/1'), undefined);
      assert.deepEqual(await store.list('ls/a/'), ['ls/a/2']);
      assert.equal(await store.putIfAbsent('ls/a/1', bytes(2)), 'created', 'a deleted key can be written again');
    });

    test('bad keys are rejected before touching storage', async () => {
      for (const key of ['', '/etc/passwd', '../escape', 'a/../../b', 'a//b', 'a/./b', 'a\\b', 'trailing/']) {
        await assert.rejects(store.putIfAbsent(key, bytes(1)), InvalidObjectKeyError, `put ${JSON.stringify(key)}`);
        await assert.rejects(store.get(key), InvalidObjectKeyError, `get ${JSON.stringify(key)}`);
        await assert.rejects(store.delete(key), InvalidObjectKeyError, `delete ${JSON.stringify(key)}`);
      }
      await assert.rejects(store.list('../'), InvalidObjectKeyError);
      await assert.rejects(store.list('/abs'), InvalidObjectKeyError);
    });

    test('probe succeeds on a reachable store', async () => {
      await store.probe();
    });
  });
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mm-lake-store-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

storeContract('memory://', async () => openObjectStore('memory://'));
storeContract('file://', async () => openObjectStore(pathToFileURL(join(dir, 'file-root', 'nested')).href));

let s3: TestS3Server | undefined;
const s3Env = (endpoint: string): NodeJS.ProcessEnv => ({
  AWS_ENDPOINT_URL: endpoint,
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'us-east-1',
});
async function s3Store(bucket: string, prefix: string): Promise<ObjectStore> {
  s3 ??= await startTestS3Server();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  return openObjectStore(`s3://${bucket}/${prefix}`, s3Env(s3.endpoint));
}
after(async () => {
  await s3?.stop();
});

storeContract('s3:// (moto, with prefix)', () => s3Store('lake-bucket', 'some/root'));
storeContract('s3:// (moto, bucket root)', () => s3Store('lake-bucket-root', ''));

describe('file:// specifics', () => {
  test('objects land under the root at their key path and no temp file is left behind', async () => {
    const root = join(dir, 'layout');
    const store = openObjectStore(pathToFileURL(root).href);
    assert.equal(await store.putIfAbsent('blobs/p/s/b', bytes(7)), 'created');
    assert.deepEqual(await readdir(join(root, 'blobs', 'p', 's')), ['b'], 'no temp file is left beside it');
    // A partial write left by a crash is never listed, and its name can't be used as a key.
    await writeFile(join(root, 'blobs', 'p', 's', '.mm-0123abcd.partial'), 'torn');
    assert.deepEqual(await store.list(''), ['blobs/p/s/b'], 'partial writes are not listed');
    await assert.rejects(store.putIfAbsent('blobs/p/s/.mm-0123abcd.partial', bytes(1)), InvalidObjectKeyError);
  });

  test('an object a crash left short is completed by the retry; a different object is left untouched', async () => {
    const root = join(dir, 'torn');
    const store = openObjectStore(pathToFileURL(root).href);
    const full = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    await mkdir(join(root, 'blobs', 'p', 's'), { recursive: true });
    await writeFile(join(root, 'blobs', 'p', 's', 'torn'), full.subarray(0, 1234));
    await writeFile(join(root, 'blobs', 'p', 's', 'empty'), new Uint8Array(0));
    assert.equal(await store.putIfAbsent('blobs/p/s/torn', full), 'created');
    assert.deepEqual(await store.get('blobs/p/s/torn'), full);
    assert.equal(await store.putIfAbsent('blobs/p/s/empty', full), 'created');
    assert.deepEqual(await store.get('blobs/p/s/empty'), full);
    // Not a prefix of the new bytes: a real, different object.
    const other = Uint8Array.of(9, 9, 9);
    await writeFile(join(root, 'blobs', 'p', 's', 'other'), other);
    assert.equal(await store.putIfAbsent('blobs/p/s/other', full), 'exists');
    assert.deepEqual(await store.get('blobs/p/s/other'), other);
    // The same bytes again: a duplicate.
    assert.equal(await store.putIfAbsent('blobs/p/s/torn', full), 'exists');
    assert.deepEqual((await readdir(join(root, 'blobs', 'p', 's'))).sort(), ['empty', 'other', 'torn']);
  });

  test('a key whose parent is a file fails with ObjectStoreError', async () => {
    const root = join(dir, 'conflict');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'blobs'), 'not a directory');
    const store = openObjectStore(pathToFileURL(root).href);
    const err = await store.putIfAbsent('blobs/p/s/b', bytes(1)).catch((e: unknown) => e);
    assert.ok(err instanceof ObjectStoreError, String(err));
    assert.equal(isTransient(err), true);
    assert.equal(await store.get('blobs/p/s/b'), undefined);
  });

  test('probe fails with ObjectStoreError when the root cannot be created', async () => {
    const file = join(dir, 'plain-file');
    await writeFile(file, 'x');
    const store = openObjectStore(pathToFileURL(join(file, 'root')).href);
    await assert.rejects(store.probe(), ObjectStoreError);
  });
});

describe('s3:// specifics', () => {
  test('an unreachable endpoint fails with ObjectStoreError quickly instead of hanging', async () => {
    const port = await freePort();
    const store = openS3Store('s3://nobody-listens/x', s3Env(`http://127.0.0.1:${port}`), { maxAttempts: 2 });
    try {
      const started = Date.now();
      for (const op of [() => store.putIfAbsent('k', bytes(1)), () => store.get('k'), () => store.list(''), () => store.probe()]) {
        const err = await op().catch((e: unknown) => e);
        assert.ok(err instanceof ObjectStoreError, String(err));
        assert.equal(isTransient(err), true);
      }
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    } finally {
      await store.close();
    }
  });

  test('a missing bucket is an ObjectStoreError, not an absent object', async () => {
    s3 ??= await startTestS3Server();
    const store = openObjectStore('s3://no-such-bucket/p', s3Env(s3.endpoint));
    await assert.rejects(store.get('k'), ObjectStoreError);
    await assert.rejects(store.probe(), ObjectStoreError);
    await store.close();
  });

  test('a silent endpoint times out per the configured timeouts', async () => {
    // A listening socket that never answers: connect succeeds, the request times out.
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const store = openS3Store('s3://silent/x', s3Env(`http://127.0.0.1:${port}`), {
      maxAttempts: 1,
      requestTimeoutMs: 500,
    });
    try {
      const started = Date.now();
      await assert.rejects(store.probe(), ObjectStoreError);
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    } finally {
      await store.close();
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});

describe('openObjectStore', () => {
  test('rejects unsupported schemes', () => {
    assert.throws(() => openObjectStore('gs://bucket/x'), /unsupported object store URI/);
  });
});
