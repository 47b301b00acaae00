// OTLP bad input and failures: status codes and google.rpc.Status bodies as upstream, gRPC codes,
// and the server keeps serving without losing what it accepted before.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { decodeRpcStatus, encodeExportLogsRequest, encodeExportLogsRequestJson } from '@micromegas/otlp';
import { Keyring, parseApiKeys, startOtlpGrpcServer } from '@micromegas/ingestion';
import { count, startHarness, stopSharedS3 } from './harness.ts';

after(stopSharedS3);

const PROTO = { 'content-type': 'application/x-protobuf' };
const JSON_CT = { 'content-type': 'application/json' };

let seq = 0;
function logsRequest(n = 3) {
  seq++;
  return {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${seq}` } }] },
        scopeLogs: [{ logRecords: Array.from({ length: n }, (_, i) => ({ timeUnixNano: 1_764_000_000_000_000_000n + BigInt(i), body: { stringValue: `m${i}` } })) }],
      },
    ],
  };
}

async function post(url: string, body: Uint8Array | string, headers: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', body, headers });
  return { status: res.status, headers: res.headers, body: new Uint8Array(await res.arrayBuffer()) };
}

test('OTLP/HTTP answers: success bodies, 415, 400, 413, bad gzip, and nothing accepted is lost', async () => {
  const h = await startHarness('pglite+file');
  const url = `${h.url}/ingestion/otlp/v1/logs`;
  try {
    // Success: an empty Export*ServiceResponse in the request's encoding.
    let r = await post(url, encodeExportLogsRequest(logsRequest()), PROTO);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/x-protobuf');
    assert.equal(r.body.length, 0);
    r = await post(`${h.url}/v1/logs`, encodeExportLogsRequestJson(logsRequest()), { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(Buffer.from(r.body).toString(), '{}');
    const accepted = await count(h.lake, 'blocks');
    assert.equal(accepted, 2);

    // 415 for a missing or wrong content type, with a protobuf Status{code: 3}.
    for (const headers of [{}, { 'content-type': 'text/plain' }, { 'content-type': 'application/protobuf' }] as Record<string, string>[]) {
      r = await post(url, encodeExportLogsRequest(logsRequest()), headers);
      assert.equal(r.status, 415, JSON.stringify(headers));
      assert.equal(r.headers.get('content-type'), 'application/x-protobuf');
      assert.equal(decodeRpcStatus(r.body).code, 3);
      assert.match(decodeRpcStatus(r.body).message, /Content-Type/);
    }
    r = await post(url, encodeExportLogsRequest(logsRequest()), { ...PROTO, 'content-encoding': 'br' });
    assert.equal(r.status, 415);

    // 400 for garbage, in the request's encoding.
    r = await post(url, Buffer.from('definitely not protobuf'), PROTO);
    assert.equal(r.status, 400);
    assert.equal(decodeRpcStatus(r.body).code, 3);
    assert.match(decodeRpcStatus(r.body).message, /protobuf/);
    r = await post(url, '{"resourceLogs": [', JSON_CT);
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('content-type'), 'application/json');
    const status = JSON.parse(Buffer.from(r.body).toString()) as { code: number; message: string };
    assert.equal(status.code, 3);
    assert.match(status.message, /json/);
    r = await post(url, '{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "zz"}]}]}]}', JSON_CT);
    assert.equal(r.status, 400);
    r = await post(url, Buffer.from('not gzip at all'), { ...PROTO, 'content-encoding': 'gzip' });
    assert.equal(r.status, 400);
    assert.match(decodeRpcStatus(r.body).message, /gzip/);

    // gzip works; 413 beyond 20 MiB on the wire and beyond 300 MiB decompressed.
    r = await post(url, gzipSync(encodeExportLogsRequest(logsRequest())), { ...PROTO, 'content-encoding': 'gzip' });
    assert.equal(r.status, 200);
    r = await post(url, new Uint8Array(20 * 1024 * 1024 + 1), PROTO);
    assert.equal(r.status, 413);
    assert.equal(decodeRpcStatus(r.body).code, 8);
    const bomb = gzipSync(Buffer.alloc(300 * 1024 * 1024 + 1));
    r = await post(url, bomb, { ...PROTO, 'content-encoding': 'gzip' });
    assert.equal(r.status, 413);

    // Wrong method / unknown OTLP path.
    assert.equal((await fetch(url)).status, 405);
    assert.equal((await post(`${h.url}/v1/profiles`, new Uint8Array(0), PROTO)).status, 404);

    // Still serving, nothing lost, nothing extra.
    assert.equal(await count(h.lake, 'blocks'), accepted + 1);
    r = await post(url, encodeExportLogsRequest(logsRequest()), PROTO);
    assert.equal(r.status, 200);
  } finally {
    await h.close();
  }
});

test('OTLP/HTTP storage failure: 503 + Retry-After: 30 + Status{14}; the retry succeeds without duplicates', async () => {
  const h = await startHarness('postgres+file');
  const url = `${h.url}/v1/logs`;
  try {
    assert.equal((await post(url, encodeExportLogsRequest(logsRequest()), PROTO)).status, 200);
    const failing = encodeExportLogsRequestJson(logsRequest());
    await h.lake.db.query('ALTER TABLE blocks RENAME TO blocks_gone');
    let r = await post(url, failing, JSON_CT);
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '30');
    assert.equal(JSON.parse(Buffer.from(r.body).toString()).code, 14);
    await h.lake.db.query('ALTER TABLE blocks_gone RENAME TO blocks');
    assert.equal(await count(h.lake, 'blocks'), 1);
    r = await post(url, failing, JSON_CT);
    assert.equal(r.status, 200);
    r = await post(url, failing, JSON_CT);
    assert.equal(r.status, 200);
    assert.equal(await count(h.lake, 'blocks'), 2);
  } finally {
    await h.close();
  }
});

test('OTLP auth: bearer keys on HTTP (401) and gRPC (UNAUTHENTICATED)', async () => {
  const keyring = new Keyring(parseApiKeys('[{"name":"ci","key":"s3cret"}]'));
  const h = await startHarness('pglite+file', { keyring });
  const g = await startOtlpGrpcServer({ ingestor: h.server.otlp, keyring, port: 0, log: () => {} });
  const client = new grpc.Client(`127.0.0.1:${g.port}`, grpc.credentials.createInsecure());
  try {
    const body = encodeExportLogsRequest(logsRequest());
    for (const auth of [undefined, 'Bearer wrong', 's3cret']) {
      const r = await post(`${h.url}/v1/logs`, body, auth ? { ...PROTO, authorization: auth } : PROTO);
      assert.equal(r.status, 401);
      const err = await grpcCall(client, '/opentelemetry.proto.collector.logs.v1.LogsService/Export', body, auth);
      assert.equal(err?.code, grpc.status.UNAUTHENTICATED);
    }
    assert.equal(await count(h.lake, 'blocks'), 0);
    assert.equal((await post(`${h.url}/v1/logs`, body, { ...PROTO, authorization: 'Bearer s3cret' })).status, 200);
    assert.equal(await grpcCall(client, '/opentelemetry.proto.collector.logs.v1.LogsService/Export', encodeExportLogsRequest(logsRequest()), 'Bearer s3cret'), null);
    assert.equal(await count(h.lake, 'blocks'), 2);
  } finally {
    client.close();
    await g.close();
    await h.close();
  }
});

function grpcCall(client: grpc.Client, path: string, body: Uint8Array, auth?: string): Promise<grpc.ServiceError | null> {
  const md = new grpc.Metadata();
  if (auth) md.set('authorization', auth);
  return new Promise((resolve) =>
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(body), md, (err) => resolve(err)),
  );
}

test('OTLP/gRPC: malformed messages → INVALID_ARGUMENT, storage failure → UNAVAILABLE, server stays up', async () => {
  const h = await startHarness('postgres+file');
  const g = await startOtlpGrpcServer({ ingestor: h.server.otlp, port: 0, log: () => {} });
  const client = new grpc.Client(`127.0.0.1:${g.port}`, grpc.credentials.createInsecure());
  const paths = {
    logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
    metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
    traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  };
  try {
    assert.equal(await grpcCall(client, paths.logs, encodeExportLogsRequest(logsRequest())), null);
    for (const path of Object.values(paths)) {
      for (const garbage of [Buffer.from('garbage!'), Uint8Array.from([0x0a, 0x7f, 0x01]), Uint8Array.from([0x0b])]) {
        const err = await grpcCall(client, path, garbage);
        assert.equal(err?.code, grpc.status.INVALID_ARGUMENT, `${path} ${Buffer.from(garbage).toString('hex')}`);
      }
    }
    assert.equal((await grpcCall(client, '/opentelemetry.proto.collector.logs.v1.LogsService/Nope', new Uint8Array(0)))?.code, grpc.status.UNIMPLEMENTED);
    await h.lake.db.query('ALTER TABLE blocks RENAME TO blocks_gone');
    const failing = encodeExportLogsRequest(logsRequest());
    assert.equal((await grpcCall(client, paths.logs, failing))?.code, grpc.status.UNAVAILABLE);
    await h.lake.db.query('ALTER TABLE blocks_gone RENAME TO blocks');
    assert.equal(await grpcCall(client, paths.logs, failing), null);
    assert.equal(await grpcCall(client, paths.logs, failing), null); // retry: no duplicate
    // An empty request is fine and stores nothing.
    assert.equal(await grpcCall(client, paths.traces, new Uint8Array(0)), null);
    assert.equal(await count(h.lake, 'blocks'), 2);
  } finally {
    client.close();
    await g.close();
    await h.close();
  }
});
