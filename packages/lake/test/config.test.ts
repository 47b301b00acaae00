import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { ConfigError, lakeConfigFrom } from '../src/index.ts';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('lakeConfigFrom', () => {
  test('defaults to embedded PGlite and a file store under ./micromegas-data', () => {
    const config = lakeConfigFrom({}, {});
    const dataDir = resolve('micromegas-data');
    assert.deepEqual(config, { dataDir, objectStoreUri: pathToFileURL(resolve(dataDir, 'objects')).href });
    assert.equal(config.connectionString, undefined);
  });

  test('reads the upstream variables; empty values count as unset', () => {
    const env = {
      MICROMEGAS_SQL_CONNECTION_STRING: 'postgres://u:p@db.example:5433/lake',
      MICROMEGAS_OBJECT_STORE_URI: 's3://my-bucket/prefix',
    };
    assert.deepEqual(lakeConfigFrom(env, { dataDir: '/srv/mm' }), {
      connectionString: 'postgres://u:p@db.example:5433/lake',
      objectStoreUri: 's3://my-bucket/prefix',
      dataDir: '/srv/mm',
    });
    const empty = lakeConfigFrom({ MICROMEGAS_SQL_CONNECTION_STRING: '', MICROMEGAS_OBJECT_STORE_URI: ' ' }, { dataDir: '/d' });
    assert.deepEqual(empty, { dataDir: '/d', objectStoreUri: 'file:///d/objects' });
  });

  test('flags win over the environment', () => {
    const config = lakeConfigFrom(
      { MICROMEGAS_SQL_CONNECTION_STRING: 'postgres://env/db', MICROMEGAS_OBJECT_STORE_URI: 's3://env-bucket' },
      { connectionString: 'postgresql://flag/db', objectStoreUri: 'memory://', dataDir: 'rel/dir' },
    );
    assert.deepEqual(config, {
      connectionString: 'postgresql://flag/db',
      objectStoreUri: 'memory://',
      dataDir: resolve('rel/dir'),
    });
  });

  test(':memory: data dir selects an in-memory lake', () => {
    assert.deepEqual(lakeConfigFrom({}, { dataDir: ':memory:' }), { dataDir: ':memory:', objectStoreUri: 'memory://' });
  });

  test('reports every bad value, one clear line each', () => {
    const problems = problemsOf(() =>
      lakeConfigFrom({ MICROMEGAS_SQL_CONNECTION_STRING: 'not a url', MICROMEGAS_OBJECT_STORE_URI: 'gs://bucket/x' }, {}),
    );
    assert.deepEqual(problems, [
      'MICROMEGAS_SQL_CONNECTION_STRING: malformed PostgreSQL URL (expected postgres://user@host:port/database)',
      "MICROMEGAS_OBJECT_STORE_URI: unsupported scheme 'gs' (expected file://, s3:// or memory://)",
    ]);
    const err = (() => {
      try {
        lakeConfigFrom({ MICROMEGAS_OBJECT_STORE_URI: 'gs://b' });
      } catch (e) {
        return e as Error;
      }
    })();
    assert.equal(err?.message, "MICROMEGAS_OBJECT_STORE_URI: unsupported scheme 'gs' (expected file://, s3:// or memory://)");
  });

  test('names the flag when the bad value came from a flag', () => {
    assert.deepEqual(
      problemsOf(() => lakeConfigFrom({}, { connectionString: 'mysql://h/db', objectStoreUri: 'file://relative/path' })),
      [
        "--connection-string: unsupported scheme 'mysql' (expected postgres:// or postgresql://)",
        "--object-store-uri: file URI must hold an absolute path (file:///absolute/path), got 'file://relative/path'",
      ],
    );
  });

  for (const [uri, expected] of [
    ['s3://', "missing bucket name in 's3://' (expected s3://bucket/prefix)"],
    ['s3://Bad_Bucket/x', "invalid S3 bucket name 'Bad_Bucket'"],
    ['/plain/path', "malformed URI '/plain/path' (expected file:///absolute/path, s3://bucket/prefix or memory://)"],
    ['file:///a/../b', "file URI must not contain '..' segments, got 'file:///a/../b'"],
  ] as const) {
    test(`rejects object store URI ${uri}`, () => {
      assert.deepEqual(problemsOf(() => lakeConfigFrom({ MICROMEGAS_OBJECT_STORE_URI: uri })), [
        `MICROMEGAS_OBJECT_STORE_URI: ${expected}`,
      ]);
    });
  }

  test('rejects a PostgreSQL URL without host or with a bad port', () => {
    assert.deepEqual(problemsOf(() => lakeConfigFrom({ MICROMEGAS_SQL_CONNECTION_STRING: 'postgres:///db' })), [
      'MICROMEGAS_SQL_CONNECTION_STRING: missing host in PostgreSQL URL',
    ]);
    assert.equal(problemsOf(() => lakeConfigFrom({ MICROMEGAS_SQL_CONNECTION_STRING: 'postgres://h:notaport/db' })).length, 1);
    // A Unix socket directory given as ?host= is fine.
    assert.equal(
      lakeConfigFrom({ MICROMEGAS_SQL_CONNECTION_STRING: 'postgres:///db?host=/var/run/postgresql' }).connectionString,
      'postgres:///db?host=/var/run/postgresql',
    );
  });
});
