import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  NS_OTEL_BLOCK_V1,
  NS_OTEL_STREAM_V1,
  otelBlockId,
  otelProcessId,
  otelProcessKey,
  otelStreamId,
  type KeyValue,
} from '../src/index.ts';

const kv = (key: string, v: string | bigint): KeyValue => ({
  key,
  value: typeof v === 'string' ? { stringValue: v } : { intValue: v },
});

// Independent RFC 4122 v5 (SHA-1) to cross-check the uuid package use.
function refV5(ns: string, name: Uint8Array): string {
  const h = createHash('sha1').update(Buffer.from(ns.replace(/-/g, ''), 'hex')).update(name).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

test('process_id matches upstream regression vector', () => {
  const attrs = [
    kv('host.name', 'my-host'),
    kv('service.name', 'my-service'),
    kv('os.type', 'linux'),
    kv('os.version', '5.15.0'),
    kv('host.arch', 'x86_64'),
    kv('service.version', '2.3.1'),
    kv('telemetry.sdk.name', 'opentelemetry'),
    kv('telemetry.sdk.language', 'rust'),
    kv('telemetry.sdk.version', '0.28.0'),
    kv('process.runtime.name', 'rustc'),
    kv('process.runtime.version', '1.88.0'),
  ];
  assert.equal(otelProcessId(attrs), '92267645-021b-5d0f-960b-c74719552658');
  // The record form gives the same id.
  const rec = Object.fromEntries(attrs.map((a) => [a.key, a.value!.stringValue!]));
  assert.equal(otelProcessId(rec), '92267645-021b-5d0f-960b-c74719552658');
});

test('identity key: 31 fields, normalisation, pid/start raw, owner fallbacks', () => {
  const key = otelProcessKey([
    kv('host.name', '  My-Host '),
    kv('process.pid', 1234n),
    kv('process.start_time', '2026-01-01T00:00:00Z'),
    kv('user.name', 'Bob'),
  ]);
  const fields = key.split('\x1F');
  assert.equal(fields.length, 31);
  assert.deepEqual(fields.slice(0, 8), ['', 'my-host', '1234', '2026-01-01T00:00:00Z', '', '', '', 'bob']);
  // process.owner wins over user.name; creation.time over start_time.
  const k2 = otelProcessKey([
    kv('process.owner', 'Alice'),
    kv('user.name', 'Bob'),
    kv('process.creation.time', 'T1'),
    kv('process.start_time', 'T0'),
  ]).split('\x1F');
  assert.equal(k2[7], 'alice');
  assert.equal(k2[3], 'T1');
  // Interned keys (empty key) are absent.
  assert.equal(
    otelProcessId([{ key: '', keyStrindex: 4, value: { stringValue: 'svc' } }, kv('host.name', 'h')]),
    otelProcessId([kv('host.name', 'h')]),
  );
});

test('audience salts process and block ids', () => {
  const attrs = [kv('service.name', 's')];
  assert.notEqual(otelProcessId(attrs), otelProcessId(attrs, 'tenant'));
  const nsAud = refV5('80a447b8-fcdd-42a6-a613-f6c8719cd5fe', Buffer.from('tenant'));
  assert.equal(otelProcessId(attrs, 'tenant'), refV5(nsAud, Buffer.from(otelProcessKey(attrs))));
  const payload = Uint8Array.from([1, 2, 3]);
  assert.equal(otelBlockId(payload), refV5(NS_OTEL_BLOCK_V1, payload));
  assert.equal(
    otelBlockId(payload, 'tenant'),
    refV5(NS_OTEL_BLOCK_V1, Buffer.concat([Buffer.from('aud\x1Ftenant\x1F'), payload])),
  );
});

test('stream id = uuidv5(NS_STREAM, "{process}\\x1F{signal}")', () => {
  const p = '92267645-021b-5d0f-960b-c74719552658';
  for (const s of ['logs', 'metrics', 'traces'] as const) {
    assert.equal(otelStreamId(p, s), refV5(NS_OTEL_STREAM_V1, Buffer.from(`${p}\x1F${s}`)));
  }
  assert.notEqual(otelStreamId(p, 'logs'), otelStreamId(p, 'traces'));
});
