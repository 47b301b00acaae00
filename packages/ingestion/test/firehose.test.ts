// Firehose HTTP endpoint deliveries: OTLP metrics (length-delimited messages, CloudWatch Metric
// Streams split per namespace) and CloudWatch Logs subscription filters; acks, errors, access-key
// auth and retries, over real PostgreSQL and PGlite.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import {
  attributesToRecord,
  decodeResourceLogs,
  decodeResourceMetrics,
  encodeExportMetricsRequest,
  encodeResourceMetrics,
  otelProcessId,
} from '@micromegas/otlp';
import { Keyring, decodeFirehoseEnvelope, lengthDelimitedMessages, parseApiKeys } from '@micromegas/ingestion';
import { count, startHarness, stopSharedS3, type Backend, type Harness } from './harness.ts';
import { asArray, blocksOf, processRow, storedObjects } from './otlp_lake.ts';

after(stopSharedS3);

const BACKENDS: Backend[] = ['postgres+file', 'pglite+file'];
const METRICS = '/ingestion/otlp/v1/metrics/firehose';
const LOGS = '/ingestion/cloudwatch/v1/logs/firehose';
const T0 = 1_764_000_000_000_000_000n;

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

const delimited = (...messages: Uint8Array[]): Buffer => Buffer.concat(messages.flatMap((m) => [varint(m.length), Buffer.from(m)]));

function envelope(records: Uint8Array[], requestId = 'req-body'): string {
  return JSON.stringify({ requestId, timestamp: 1, records: records.map((r) => ({ data: Buffer.from(r).toString('base64') })) });
}

function resourceMetrics(instance: string, t = T0) {
  return {
    resource: { attributes: [str('service.name', 'fh'), str('service.instance.id', instance), str('host.name', 'h')] },
    scopeMetrics: [
      {
        scope: { name: 'e2e' },
        metrics: [
          { name: 'cpu', unit: '%', gauge: { dataPoints: [{ timeUnixNano: t, asDouble: 1.5 }, { timeUnixNano: t + 1n, asDouble: 2.5 }] } },
        ],
      },
    ],
  };
}

const metricsRequest = (...instances: string[]) => encodeExportMetricsRequest({ resourceMetrics: instances.map((i) => resourceMetrics(i)) });
const pidOf = (instance: string) => otelProcessId([str('service.name', 'fh'), str('service.instance.id', instance), str('host.name', 'h')]);

interface Ack {
  status: number;
  contentType: string | null;
  ack: { requestId: string; timestamp: number; errorMessage?: string };
}

async function deliver(h: Harness, path: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<Ack> {
  const res = await fetch(`${h.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, contentType: res.headers.get('content-type'), ack: (await res.json()) as Ack['ack'] };
}

for (const backend of BACKENDS) {
  test(`firehose metrics (${backend}): records and length-delimited messages stored as OTLP metrics blocks`, async () => {
    const h = await startHarness(backend);
    try {
      const before = Date.now();
      // One record, one message; the ack echoes the header's request id.
      let r = await deliver(h, METRICS, envelope([delimited(metricsRequest('a'))]), { 'x-amz-firehose-request-id': 'req-1' });
      assert.equal(r.status, 200);
      assert.equal(r.contentType, 'application/json');
      assert.equal(r.ack.requestId, 'req-1');
      assert.ok(r.ack.timestamp >= before && r.ack.timestamp <= Date.now());
      assert.equal('errorMessage' in r.ack, false);
      let blocks = await blocksOf(h.lake, pidOf('a'), 'metrics');
      assert.equal(blocks.length, 1);
      assert.equal(blocks[0]!.nb_objects, 2);
      assert.equal(blocks[0]!.begin_ticks, String(T0));
      // Stored as sent: the block payload is the ResourceMetrics bytes.
      assert.deepEqual(Buffer.from(await storedObjects(h.lake, blocks[0]!)), Buffer.from(encodeResourceMetrics(resourceMetrics('a'))));

      // Two records, and one record packing two messages; without the header, the body's id is echoed.
      r = await deliver(h, METRICS, envelope([delimited(metricsRequest('b')), delimited(metricsRequest('c'), metricsRequest('d', 'e'))], 'from-body'));
      assert.equal(r.status, 200);
      assert.equal(r.ack.requestId, 'from-body');
      for (const i of ['b', 'c', 'd', 'e']) assert.equal((await blocksOf(h.lake, pidOf(i), 'metrics')).length, 1, i);
      assert.equal(await count(h.lake, 'blocks'), 5);

      // Firehose retries a whole batch: nothing is duplicated. gzip on the envelope works.
      const retry = gzipSync(envelope([delimited(metricsRequest('b')), delimited(metricsRequest('c'), metricsRequest('d', 'e'))]));
      r = await deliver(h, METRICS, retry, { 'content-encoding': 'gzip', 'x-amz-firehose-request-id': 'req-2' });
      assert.equal(r.status, 200);
      assert.equal(await count(h.lake, 'blocks'), 5);

      // Empty records (and an empty message) are acked without storing anything.
      r = await deliver(h, METRICS, envelope([]), { 'x-amz-firehose-request-id': 'req-3' });
      assert.deepEqual([r.status, r.ack.requestId], [200, 'req-3']);
      r = await deliver(h, METRICS, JSON.stringify({ requestId: null }));
      assert.deepEqual([r.status, r.ack.requestId], [200, '']);
      r = await deliver(h, METRICS, envelope([Uint8Array.of(0)]));
      assert.equal(r.status, 200);
      assert.equal(await count(h.lake, 'blocks'), 5);
      blocks = await blocksOf(h.lake, pidOf('a'), 'metrics');
      assert.equal(blocks.length, 1);
    } finally {
      await h.close();
    }
  });

  test(`firehose metrics (${backend}): a CloudWatch Metric Stream resource becomes one process per namespace`, async () => {
    const h = await startHarness(backend);
    try {
      const arn = 'arn:aws:firehose:us-east-1:123456789012:deliverystream/cw';
      const summary = (ns: string | null, name: string, t: bigint) => ({
        name: `amazonaws.com/${ns}/${name}`,
        unit: 'Percent',
        summary: { dataPoints: [{ attributes: ns === null ? [str('MetricName', name)] : [str('Namespace', ns), str('MetricName', name)], timeUnixNano: t, count: 1n, sum: 42 }] },
      });
      const cw = {
        resource: { attributes: [str('cloud.account.id', '123456789012'), str('cloud.provider', 'aws'), str('cloud.region', 'us-east-1'), str('aws.exporter.arn', arn)] },
        scopeMetrics: [
          { scope: { name: 'cw' }, metrics: [summary('AWS/RDS', 'CPU', T0), summary('AWS/ECS', 'CPU', T0 + 1n), summary('aws/rds', 'Mem', T0 + 2n), summary(null, 'X', T0 + 3n)] },
        ],
      };
      // A regular resource in the same message passes through untouched.
      const req = encodeExportMetricsRequest({ resourceMetrics: [cw, resourceMetrics('plain')] });
      const r = await deliver(h, METRICS, envelope([delimited(req)]), { 'x-amz-firehose-request-id': 'cw-1' });
      assert.equal(r.status, 200, JSON.stringify(r.ack));
      const { rows } = await h.lake.db.query<{ process_id: string; exe: string }>(
        `SELECT process_id::text, exe FROM processes WHERE 'otel.resource.aws.exporter.arn' = ANY(ARRAY(SELECT (p).key FROM unnest(properties) p)) ORDER BY exe`,
      );
      assert.deepEqual(rows.map((x) => x.exe), ['AWS/ECS', 'AWS/RDS', 'AWS/Unknown']);
      assert.equal(new Set(rows.map((x) => x.process_id)).size, 3);
      const rds = rows.find((x) => x.exe === 'AWS/RDS')!;
      const props = asArray((await processRow(h.lake, rds.process_id))!.props);
      assert.ok(props.includes(`otel.resource.service.instance.id=${arn}`));
      assert.ok(props.includes('otel.resource.service.name=AWS/RDS'));
      assert.ok(props.includes(`otel.resource.aws.exporter.arn=${arn}`));
      // Case variants of a namespace share one block (first spelling wins); a Summary point counts 4.
      const [block] = await blocksOf(h.lake, rds.process_id, 'metrics');
      assert.equal(block!.nb_objects, 8);
      const stored = decodeResourceMetrics(await storedObjects(h.lake, block!));
      assert.deepEqual(stored.scopeMetrics[0]!.metrics.map((m) => m.name), ['amazonaws.com/AWS/RDS/CPU', 'amazonaws.com/aws/rds/Mem']);
      assert.equal(attributesToRecord(stored.resource!.attributes)['service.name'], 'AWS/RDS');
      assert.equal((await blocksOf(h.lake, pidOf('plain'), 'metrics')).length, 1);
      // The rewrite is deterministic: a retry stores nothing new.
      const n = await count(h.lake, 'blocks');
      assert.equal((await deliver(h, METRICS, envelope([delimited(req)]))).status, 200);
      assert.equal(await count(h.lake, 'blocks'), n);
    } finally {
      await h.close();
    }
  });
}

test('firehose metrics: malformed deliveries are 400 with errorMessage; earlier messages stay stored; the fixed retry dedups', async () => {
  const h = await startHarness('pglite+file');
  try {
    const bad: [string | Uint8Array, RegExp][] = [
      ['{not json', /firehose envelope json/],
      ['[]', /expected an object/],
      [JSON.stringify({ records: {} }), /records must be an array/],
      [JSON.stringify({ records: [{ data: 5 }] }), /records\[0\]\.data/],
      [JSON.stringify({ records: [{ data: 'not base64!' }] }), /record\[0\] base64/],
      [JSON.stringify({ requestId: 7, records: [] }), /requestId/],
      [envelope([Uint8Array.of(0x85)]), /record\[0\] message\[0\].*truncated/],
      [envelope([Uint8Array.of(10, 1, 2)]), /record\[0\] message\[0\].*beyond the end/],
      [envelope([delimited(Buffer.from('garbage!'))]), /record\[0\] message\[0\]/],
    ];
    for (const [body, re] of bad) {
      const r = await deliver(h, METRICS, body, { 'x-amz-firehose-request-id': 'bad-1' });
      assert.equal(r.status, 400, String(body));
      assert.equal(r.ack.requestId, 'bad-1');
      assert.match(r.ack.errorMessage ?? '', re);
    }
    assert.equal(await count(h.lake, 'blocks'), 0);
    // The second message of record 1 is broken: record 0 and the first message of record 1 are kept.
    const partial = envelope([delimited(metricsRequest('p0')), Buffer.concat([delimited(metricsRequest('p1')), delimited(Buffer.from('garbage!'))])]);
    let r = await deliver(h, METRICS, partial);
    assert.equal(r.status, 400);
    assert.match(r.ack.errorMessage ?? '', /record\[1\] message\[1\]/);
    assert.equal(await count(h.lake, 'blocks'), 2);
    r = await deliver(h, METRICS, envelope([delimited(metricsRequest('p0')), delimited(metricsRequest('p1'), metricsRequest('p2'))]));
    assert.equal(r.status, 200);
    assert.equal(await count(h.lake, 'blocks'), 3);
    r = await deliver(h, METRICS, Buffer.from('not gzip'), { 'content-encoding': 'gzip', 'x-amz-firehose-request-id': 'gz' });
    assert.equal(r.status, 400);
    assert.equal(r.ack.requestId, 'gz');
    assert.equal((await fetch(`${h.url}${METRICS}`)).status, 405);
  } finally {
    await h.close();
  }
});

test('firehose: X-Amz-Firehose-Access-Key is the credential when keys are configured (JSON 401s)', async () => {
  const keyring = new Keyring(parseApiKeys('[{"name": "fh", "key": "k3y"}]'));
  const h = await startHarness('pglite+file', { keyring });
  try {
    for (const path of [METRICS, LOGS]) {
      const body = envelope([]);
      let r = await deliver(h, path, body, { 'x-amz-firehose-request-id': 'auth-1' });
      assert.deepEqual([r.status, r.ack.requestId, r.ack.errorMessage], [401, 'auth-1', 'missing X-Amz-Firehose-Access-Key']);
      r = await deliver(h, path, body, { 'x-amz-firehose-access-key': 'nope', 'x-amz-firehose-request-id': 'auth-2' });
      assert.deepEqual([r.status, r.ack.requestId, r.ack.errorMessage], [401, 'auth-2', 'invalid access key']);
      // Firehose cannot send Authorization; a bearer token alone is not this route's credential.
      r = await deliver(h, path, body, { authorization: 'Bearer k3y' });
      assert.equal(r.status, 401);
      r = await deliver(h, path, body, { 'x-amz-firehose-access-key': 'k3y', 'x-amz-firehose-request-id': 'auth-3' });
      assert.deepEqual([r.status, r.ack.requestId], [200, 'auth-3']);
    }
    const r = await deliver(h, METRICS, envelope([delimited(metricsRequest('auth'))]), { 'x-amz-firehose-access-key': 'k3y' });
    assert.equal(r.status, 200);
    assert.equal(await count(h.lake, 'blocks'), 1);
  } finally {
    await h.close();
  }
});

test('firehose metrics: storage failure is 503 with errorMessage (no internals); the retry stores once', async () => {
  const h = await startHarness('postgres+file');
  try {
    const body = envelope([delimited(metricsRequest('s1'))]);
    await h.lake.db.query('ALTER TABLE blocks RENAME TO blocks_gone');
    let r = await deliver(h, METRICS, body, { 'x-amz-firehose-request-id': 'down' });
    assert.equal(r.status, 503);
    assert.equal(r.ack.requestId, 'down');
    assert.doesNotMatch(r.ack.errorMessage ?? '', /blocks_gone|relation/);
    await h.lake.db.query('ALTER TABLE blocks_gone RENAME TO blocks');
    for (let i = 0; i < 2; i++) r = await deliver(h, METRICS, body);
    assert.equal(r.status, 200);
    assert.equal(await count(h.lake, 'blocks'), 1);
  } finally {
    await h.close();
  }
});

// ---- CloudWatch Logs ----

function cwLogs(payload: object): Buffer {
  return gzipSync(Buffer.from(JSON.stringify(payload)));
}

const dataMessage = (stream: string, events: { id: string; timestamp: number; message: string }[]) =>
  cwLogs({ messageType: 'DATA_MESSAGE', owner: '123456789012', logGroup: '/ecs/app', logStream: stream, subscriptionFilters: ['f'], logEvents: events });

const cwPid = (stream: string) =>
  otelProcessId([
    str('service.name', '/ecs/app'),
    str('service.instance.id', stream),
    str('cloud.account.id', '123456789012'),
    str('aws.log.group.name', '/ecs/app'),
    str('aws.log.stream.name', stream),
  ]);

for (const backend of BACKENDS) {
  test(`firehose CloudWatch Logs (${backend}): one process per log stream, one record per event`, async () => {
    const h = await startHarness(backend);
    try {
      const ms = 1_764_000_000_000;
      const events = [
        { id: 'evt-1', timestamp: ms, message: 'line one' },
        { id: 'evt-2', timestamp: ms + 1, message: 'line two' },
      ];
      const control = cwLogs({ messageType: 'CONTROL_MESSAGE', owner: 'CloudwatchLogs', logGroup: '', logStream: '', subscriptionFilters: [], logEvents: [{ id: 'c', timestamp: ms, message: 'CWL CONTROL MESSAGE' }] });
      const body = envelope([dataMessage('s-1', events), control, dataMessage('s-2', [])]);
      let r = await deliver(h, LOGS, body, { 'x-amz-firehose-request-id': 'cw-logs-1' });
      assert.equal(r.status, 200, JSON.stringify(r.ack));
      assert.equal(r.ack.requestId, 'cw-logs-1');
      assert.equal('errorMessage' in r.ack, false);
      // The control message and the empty data message store nothing.
      assert.equal(await count(h.lake, 'blocks'), 1);
      assert.equal(await count(h.lake, 'processes'), 1);

      const proc = await processRow(h.lake, cwPid('s-1'));
      assert.equal(proc?.exe, '/ecs/app');
      assert.ok(asArray(proc!.props).includes('otel.resource.aws.log.stream.name=s-1'));
      assert.ok(asArray(proc!.props).includes('otel.resource.cloud.account.id=123456789012'));
      const [block] = await blocksOf(h.lake, cwPid('s-1'), 'logs');
      assert.equal(block!.nb_objects, 2);
      assert.equal(block!.begin_ticks, String(BigInt(ms) * 1_000_000n));
      assert.equal(block!.end_ticks, String(BigInt(ms + 1) * 1_000_000n));
      const rl = decodeResourceLogs(await storedObjects(h.lake, block!));
      assert.equal(rl.scopeLogs[0]!.scope, null);
      const recs = rl.scopeLogs[0]!.logRecords;
      assert.deepEqual(recs.map((x) => x.body?.stringValue), ['line one', 'line two']);
      assert.deepEqual(recs.map((x) => x.timeUnixNano), [BigInt(ms) * 1_000_000n, BigInt(ms + 1) * 1_000_000n]);
      assert.deepEqual(recs.map((x) => attributesToRecord(x.attributes)['aws.log.event.id']), ['evt-1', 'evt-2']);
      assert.equal(recs[0]!.severityNumber, 0);

      // A Firehose retry of the batch stores nothing new; gzip on the envelope too.
      r = await deliver(h, LOGS, gzipSync(body), { 'content-encoding': 'gzip' });
      assert.equal(r.status, 200);
      assert.equal(await count(h.lake, 'blocks'), 1);
    } finally {
      await h.close();
    }
  });
}

test('firehose CloudWatch Logs: malformed records are 400 with errorMessage, earlier records stay stored', async () => {
  const h = await startHarness('pglite+file');
  try {
    const ok = dataMessage('ok', [{ id: 'e', timestamp: 1_764_000_000_000, message: 'm' }]);
    const bad: [Uint8Array, RegExp][] = [
      [Buffer.from('plain, not gzip'), /record\[1\] gunzip/],
      [gzipSync(Buffer.from('{oops')), /record\[1\] json/],
      [cwLogs({ messageType: 'DATA_MESSAGE', owner: 'o', logGroup: 'g' }), /logStream must be a string/],
      [cwLogs({ messageType: 'DATA_MESSAGE', owner: 'o', logGroup: 'g', logStream: 's', logEvents: [{ id: 'x', timestamp: -1, message: 'm' }] }), /negative timestamp/],
      [cwLogs({ messageType: 'DATA_MESSAGE', owner: 'o', logGroup: 'g', logStream: 's', logEvents: [{ id: 'x', timestamp: 1.5, message: 'm' }] }), /timestamp must be an integer/],
      [cwLogs({ messageType: 'DATA_MESSAGE', owner: 'o', logGroup: 'g', logStream: 's', logEvents: [{ id: 'x', timestamp: 1, message: 5 }] }), /logEvents\[0\]/],
      [gzipSync(Buffer.from('{"messageType":"DATA_MESSAGE","owner":"o","logGroup":"g","logStream":"\\ud800","logEvents":[]}')), /lone surrogate/],
    ];
    for (const [record, re] of bad) {
      const r = await deliver(h, LOGS, envelope([ok, record]), { 'x-amz-firehose-request-id': 'bad' });
      assert.equal(r.status, 400, String(re));
      assert.equal(r.ack.requestId, 'bad');
      assert.match(r.ack.errorMessage ?? '', re);
    }
    // Record 0 was stored on the first attempt and deduped on every later one.
    assert.equal(await count(h.lake, 'blocks'), 1);
    const r = await deliver(h, LOGS, '{"records": [{"data": "%%%"}]}');
    assert.equal(r.status, 400);
  } finally {
    await h.close();
  }
});

test('firehose envelope and length-delimited framing (unit)', () => {
  const env = decodeFirehoseEnvelope(Buffer.from(envelope([Buffer.from('ab'), Buffer.alloc(0)], 'r')), 'metrics');
  assert.equal(env.requestId, 'r');
  assert.deepEqual(env.records.map((x) => Buffer.from(x).toString()), ['ab', '']);
  assert.deepEqual(decodeFirehoseEnvelope(Buffer.from('{}'), 'logs'), { requestId: '', records: [] });
  const big = Buffer.alloc(300, 7);
  const msgs = [...lengthDelimitedMessages(delimited(Buffer.from('x'), big, Buffer.alloc(0)))];
  assert.deepEqual(msgs.map((m) => m.length), [1, 300, 0]);
  assert.throws(() => [...lengthDelimitedMessages(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))], /varint too long/);
});
