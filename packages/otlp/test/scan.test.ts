import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeExportLogsRequest,
  decodeResource,
  decodeResourceLogs,
  encodeExportLogsRequest,
  encodeExportMetricsRequest,
  encodeExportTraceRequest,
  encodeResourceLogs,
  OtlpDecodeError,
  scanExportRequest,
} from '../src/index.ts';

const res = (name: string) => ({ attributes: [{ key: 'service.name', value: { stringValue: name } }] });

test('logs: one entry per resource with records; time falls back to observed time', () => {
  const req = {
    resourceLogs: [
      {
        resource: res('a'),
        scopeLogs: [
          { logRecords: [{ timeUnixNano: 1764108000000000005n }, { observedTimeUnixNano: 1764108000000000001n }] },
          { logRecords: [{ timeUnixNano: 1764108000000000009n, body: { stringValue: 'x' } }, {}] },
        ],
      },
      { resource: res('empty'), scopeLogs: [{ logRecords: [] }] },
      { resource: res('untimed'), scopeLogs: [{ logRecords: [{ body: { stringValue: 'y' } }] }] },
    ],
  };
  const bytes = encodeExportLogsRequest(req);
  const scanned = scanExportRequest('logs', bytes);
  assert.equal(scanned.length, 2);
  assert.equal(scanned[0]!.count, 4);
  assert.equal(scanned[0]!.minNs, 1764108000000000001n);
  assert.equal(scanned[0]!.maxNs, 1764108000000000009n);
  assert.deepEqual(Buffer.from(scanned[0]!.payload), Buffer.from(encodeResourceLogs(req.resourceLogs[0])));
  assert.equal(decodeResourceLogs(scanned[0]!.payload).scopeLogs.length, 2);
  assert.equal(decodeResource(scanned[0]!.resource!).attributes[0]!.value!.stringValue, 'a');
  assert.equal(scanned[1]!.count, 1);
  assert.equal(scanned[1]!.minNs, null);
  // Sanity: the full decoder agrees on the record count.
  assert.equal(decodeExportLogsRequest(bytes).resourceLogs[0]!.scopeLogs.flatMap((s) => s.logRecords).length, 4);
});

test('traces: min start, max end; no start anywhere → untimed', () => {
  const bytes = encodeExportTraceRequest({
    resourceSpans: [
      {
        resource: res('a'),
        scopeSpans: [{ spans: [{ startTimeUnixNano: 100n, endTimeUnixNano: 300n }, { startTimeUnixNano: 50n, endTimeUnixNano: 200n }] }],
      },
      { resource: res('b'), scopeSpans: [{ spans: [{ endTimeUnixNano: 5n }] }] },
    ],
  });
  const [a, b] = scanExportRequest('traces', bytes);
  assert.deepEqual([a!.count, a!.minNs, a!.maxNs], [2, 50n, 300n]);
  assert.deepEqual([b!.count, b!.minNs, b!.maxNs], [1, null, null]);
});

test('metrics: data points of every kind, Summary counts 4', () => {
  const bytes = encodeExportMetricsRequest({
    resourceMetrics: [
      {
        resource: res('m'),
        scopeMetrics: [
          {
            metrics: [
              { name: 'g', gauge: { dataPoints: [{ timeUnixNano: 10n, asDouble: 1 }, { timeUnixNano: 20n, asInt: 2n }] } },
              { name: 's', sum: { dataPoints: [{ timeUnixNano: 5n, asInt: 1n }] } },
              { name: 'h', histogram: { dataPoints: [{ timeUnixNano: 30n, count: 1n }] } },
              { name: 'e', exponentialHistogram: { dataPoints: [{ timeUnixNano: 31n, count: 1n }] } },
              { name: 'q', summary: { dataPoints: [{ timeUnixNano: 7n, count: 1n }] } },
              { name: 'nodata' },
            ],
          },
        ],
      },
      { resource: res('none'), scopeMetrics: [{ metrics: [{ name: 'nodata' }] }] },
    ],
  });
  const scanned = scanExportRequest('metrics', bytes);
  assert.equal(scanned.length, 1);
  assert.deepEqual([scanned[0]!.count, scanned[0]!.minNs, scanned[0]!.maxNs], [2 + 1 + 1 + 1 + 4, 5n, 31n]);
});

test('malformed protobuf is an OtlpDecodeError', () => {
  const good = encodeExportLogsRequest({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: 1n }] }] }] });
  for (const bad of [
    good.subarray(0, good.length - 3),
    Uint8Array.from([0x0a, 0x05, 0x01]),
    Uint8Array.from([0x0b]), // wire type 3 (group)
    Uint8Array.from([0x08, 0x01]), // resource_logs with varint wire type
    Buffer.from('this is not protobuf at all'),
  ]) {
    assert.throws(() => scanExportRequest('logs', bad), OtlpDecodeError, Buffer.from(bad).toString('hex'));
  }
  assert.deepEqual(scanExportRequest('logs', new Uint8Array(0)), []);
});
