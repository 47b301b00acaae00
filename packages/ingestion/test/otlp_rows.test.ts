// Process rows derived from OTLP resources, and the time conversions of OTLP blocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nsToPgTimestamp, processRowFromResource } from '@micromegas/ingestion';
import { kvs } from './otlp_lake.ts';

test('nanoseconds → timestamp text keeps microseconds (truncated), also before 1970', () => {
  assert.equal(nsToPgTimestamp(1_764_000_000_123_456_789n), '2025-11-24T16:00:00.123456+00:00');
  assert.equal(nsToPgTimestamp(0n), '1970-01-01T00:00:00.000000+00:00');
  assert.equal(nsToPgTimestamp(-1n), '1969-12-31T23:59:59.999999+00:00');
});

test('process row from a resource: exe, owner fallbacks, start time, properties', () => {
  const fallback = 1_764_000_000_000_000_000n;
  let row = processRowFromResource('p', kvs({ 'service.name': 'api', 'user.name': 'bob', 'process.start_time': '2026-01-02T03:04:05.5+01:00' }), fallback);
  assert.equal(row.exe, 'api');
  assert.equal(row.username, 'bob');
  assert.equal(row.realname, 'bob');
  assert.equal(row.startTicks, BigInt(Date.UTC(2026, 0, 2, 2, 4, 5)) * 1_000_000n + 500_000_000n);
  assert.equal(row.startTime, '2026-01-02T02:04:05.500000+00:00');
  assert.equal(row.tscFrequency, 1_000_000_000n);
  assert.deepEqual(row.properties, [
    ['otel.resource.service.name', 'api'],
    ['otel.resource.user.name', 'bob'],
    ['otel.resource.process.start_time', '2026-01-02T03:04:05.5+01:00'],
  ]);
  // An unparsable creation time falls back to the first event; the namespace prefixes exe.
  row = processRowFromResource('p', kvs({ 'service.namespace': 'ns', 'service.name': 'api', 'process.creation.time': 'yesterday' }), fallback);
  assert.equal(row.exe, 'ns/api');
  assert.equal(row.startTicks, fallback);
  assert.equal(row.username, '');
  // No service at all: empty exe (upstream does the same).
  assert.equal(processRowFromResource('p', [], fallback).exe, '');
});
