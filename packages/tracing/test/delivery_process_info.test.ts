import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { decodeProcessInfo, encodeProcessInfo } from '@micromegas/transit';
import { collectProcessInfo, parseProcessProperties, TelemetryConfigError } from '../src/process_info.ts';
import { TSC_FREQUENCY, ticksNow, ticksToUnixNs } from '../src/time.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('describes this process like upstream does', () => {
  const before = ticksNow();
  const info = collectProcessInfo({ env: {} });
  const after = ticksNow();
  assert.match(info.processId, UUID);
  assert.equal(info.exe, path.resolve(process.argv[1]!), 'exe is the main script');
  assert.equal(info.username, os.userInfo().username);
  assert.ok(info.realname.length > 0);
  assert.equal(info.computer, os.hostname());
  assert.ok(info.distro.length > 0);
  assert.equal(info.cpuBrand, os.cpus()[0]!.model.trim());
  assert.equal(info.tscFrequency, TSC_FREQUENCY);
  assert.ok(info.startTicks >= BigInt(Math.floor(before)) && info.startTicks <= BigInt(Math.ceil(after)));
  // start_time and start_ticks describe the same instant
  const startNs = BigInt(Date.parse(info.startTime)) * 1_000_000n;
  const ticksNs = ticksToUnixNs(Number(info.startTicks));
  assert.ok(ticksNs - startNs >= 0n && ticksNs - startNs < 1_000_000n, 'time within the same millisecond as ticks');
  assert.equal(info.parentProcessId, null);
  const p = info.properties;
  for (const key of ['exe', 'username', 'realname', 'computer', 'distro', 'cpu_brand', 'physical_core_count',
    'logical_cpu_count', 'total_memory', 'node_version', 'pid']) {
    assert.ok(p.has(key), `default property ${key}`);
  }
  assert.equal(p.get('logical_cpu_count'), String(os.cpus().length));
  assert.equal(p.get('pid'), String(process.pid));
  assert.equal(p.get('total_memory'), String(os.totalmem()));
  // survives the wire
  const decoded = decodeProcessInfo(encodeProcessInfo(info));
  assert.deepEqual(decoded, info);
});

test('parent process comes from the environment, which then names us for our children', () => {
  const parent = '0b6a4d3e-2c1f-4f5e-8a9b-7c6d5e4f3a2b';
  const env: NodeJS.ProcessEnv = { MICROMEGAS_TELEMETRY_PARENT_PROCESS: parent.toUpperCase() };
  const info = collectProcessInfo({ env });
  assert.equal(info.parentProcessId, parent);
  assert.equal(env.MICROMEGAS_TELEMETRY_PARENT_PROCESS, info.processId);
});

test('an invalid parent id is ignored with a warning', (t) => {
  const written: string[] = [];
  t.mock.method(process.stderr, 'write', (chunk: string) => {
    written.push(String(chunk));
    return true;
  });
  const info = collectProcessInfo({ env: { MICROMEGAS_TELEMETRY_PARENT_PROCESS: 'not-a-uuid' } });
  t.mock.restoreAll();
  assert.equal(info.parentProcessId, null);
  assert.equal(written.length, 1);
  assert.match(written[0]!, /MICROMEGAS_TELEMETRY_PARENT_PROCESS.*not a UUID/);
});

test('properties: explicit > MICROMEGAS_PROCESS_PROPERTIES > defaults', () => {
  const env = { MICROMEGAS_PROCESS_PROPERTIES: ' team = core , computer=from-env,version=1 ,, ' };
  const info = collectProcessInfo({ env, properties: { version: '2', extra: 'x' } });
  const p = info.properties;
  assert.equal(p.get('team'), 'core');
  assert.equal(p.get('computer'), 'from-env', 'env overrides a default');
  assert.equal(info.computer, os.hostname(), 'but not the field itself');
  assert.equal(p.get('version'), '2', 'explicit overrides env');
  assert.equal(p.get('extra'), 'x');
});

test('reserved or malformed properties are clear errors', () => {
  assert.throws(
    () => collectProcessInfo({ env: { MICROMEGAS_PROCESS_PROPERTIES: 'micromegas.audience=x' } }),
    (e: unknown) => e instanceof TelemetryConfigError && /reserved prefix/.test(e.message),
  );
  assert.throws(() => collectProcessInfo({ env: {}, properties: { 'micromegas.x': 'y' } }), /reserved prefix/);
  assert.throws(() => parseProcessProperties('novalue'), /expected key=value/);
  assert.throws(() => parseProcessProperties('=v'), /expected key=value/);
  assert.deepEqual(parseProcessProperties('a=b=c'), { a: 'b=c' });
  assert.deepEqual(parseProcessProperties(''), {});
});
