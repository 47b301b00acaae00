import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  anyValueToString,
  attributesToRecord,
  decodeExportLogsRequest,
  decodeExportLogsRequestJson,
  decodeExportMetricsRequest,
  decodeExportTraceRequestJson,
  decodeResourceLogs,
  decodeRpcStatus,
  encodeExportLogsRequest,
  encodeExportLogsRequestJson,
  encodeExportMetricsRequest,
  encodeResourceLogs,
  encodeRpcStatus,
  OtlpDecodeError,
  rustFloatDisplay,
} from '../src/index.ts';

const logsRequest = {
  resourceLogs: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeLogs: [
        {
          scope: { name: 'lib', version: '1' },
          logRecords: [
            {
              timeUnixNano: 1764108000123456789n,
              severityNumber: 9,
              body: { stringValue: 'hello' },
              attributes: [{ key: 'n', value: { intValue: -5n } }],
              traceId: Uint8Array.from({ length: 16 }, (_, i) => i),
              spanId: Uint8Array.from({ length: 8 }, (_, i) => 0xf0 + i),
            },
          ],
        },
      ],
    },
  ],
};

test('protobuf round trip keeps 64-bit nanos as bigint and ids as bytes', () => {
  const bytes = encodeExportLogsRequest(logsRequest);
  const back = decodeExportLogsRequest(bytes);
  const rec = back.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
  assert.equal(rec.timeUnixNano, 1764108000123456789n);
  assert.equal(rec.observedTimeUnixNano, 0n);
  assert.equal(rec.severityNumber, 9);
  assert.equal(rec.body!.stringValue, 'hello');
  assert.equal(rec.attributes[0]!.value!.intValue, -5n);
  assert.deepEqual(Array.from(rec.traceId), Array.from({ length: 16 }, (_, i) => i));
  assert.equal(back.resourceLogs[0]!.scopeLogs[0]!.scope!.name, 'lib');
  // A ResourceLogs sub-message decodes on its own.
  const rl = decodeResourceLogs(encodeResourceLogs(logsRequest.resourceLogs[0]));
  assert.equal(rl.scopeLogs[0]!.logRecords.length, 1);
});

test('OTLP/JSON: hex ids, int64 strings or numbers, enum ints, snake_case accepted', () => {
  const json = JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeLogs: [
          {
            logRecords: [
              {
                timeUnixNano: '1764108000123456789',
                observed_time_unix_nano: 1000,
                severityNumber: 17,
                traceId: '000102030405060708090a0b0c0d0e0f',
                spanId: 'f0f1f2f3f4f5f6f7',
                body: { intValue: '42' },
                unknownField: { ignored: true },
              },
            ],
          },
        ],
      },
    ],
  });
  const req = decodeExportLogsRequestJson(json);
  const rec = req.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
  assert.equal(rec.timeUnixNano, 1764108000123456789n);
  assert.equal(rec.observedTimeUnixNano, 1000n);
  assert.equal(rec.severityNumber, 17);
  assert.equal(Buffer.from(rec.traceId).toString('hex'), '000102030405060708090a0b0c0d0e0f');
  assert.equal(Buffer.from(rec.spanId).toString('hex'), 'f0f1f2f3f4f5f6f7');
  assert.equal(rec.body!.intValue, 42n);
  // Encoder → JSON → decoder round trip.
  const again = decodeExportLogsRequestJson(encodeExportLogsRequestJson(logsRequest));
  assert.deepEqual(again, decodeExportLogsRequest(encodeExportLogsRequest(logsRequest)));
  const text = encodeExportLogsRequestJson(logsRequest);
  assert.match(text, /"traceId":"000102030405060708090a0b0c0d0e0f"/);
  assert.match(text, /"timeUnixNano":"1764108000123456789"/);
});

test('garbage is rejected with OtlpDecodeError', () => {
  assert.throws(() => decodeExportLogsRequest(Uint8Array.from([0x0a, 0xff, 0xff, 0x01])), OtlpDecodeError);
  assert.throws(() => decodeExportLogsRequestJson('{not json'), OtlpDecodeError);
  assert.throws(() => decodeExportLogsRequestJson('[]'), OtlpDecodeError);
  assert.throws(() => decodeExportLogsRequestJson('{"resourceLogs": 5}'), OtlpDecodeError);
  assert.throws(
    () => decodeExportLogsRequestJson('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"abc"}]}]}]}'),
    OtlpDecodeError,
  );
  assert.throws(
    () => decodeExportTraceRequestJson('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}'),
    OtlpDecodeError,
  );
});

test('metrics: every data kind round-trips', () => {
  const req = {
    resourceMetrics: [
      {
        scopeMetrics: [
          {
            metrics: [
              { name: 'g', gauge: { dataPoints: [{ timeUnixNano: 5n, asDouble: 1.5 }] } },
              { name: 's', sum: { dataPoints: [{ timeUnixNano: 6n, asInt: 7n }], aggregationTemporality: 2, isMonotonic: true } },
              { name: 'h', histogram: { dataPoints: [{ timeUnixNano: 7n, count: 3n, sum: 0, bucketCounts: [1n, 2n], explicitBounds: [10] }] } },
              { name: 'e', exponentialHistogram: { dataPoints: [{ timeUnixNano: 8n, count: 2n, scale: -1, positive: { offset: -2, bucketCounts: [2n] } }] } },
              { name: 'q', summary: { dataPoints: [{ timeUnixNano: 9n, count: 1n, sum: 2, quantileValues: [{ quantile: 0.5, value: 2 }] }] } },
            ],
          },
        ],
      },
    ],
  };
  const back = decodeExportMetricsRequest(encodeExportMetricsRequest(req));
  const ms = back.resourceMetrics[0]!.scopeMetrics[0]!.metrics;
  assert.deepEqual(ms.map((m) => m.data), ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']);
  assert.equal(ms[0]!.gauge!.dataPoints[0]!.asDouble, 1.5);
  assert.equal(ms[1]!.sum!.dataPoints[0]!.asInt, 7n);
  assert.equal(ms[2]!.histogram!.dataPoints[0]!.sum, 0); // proto3 optional: explicit zero is kept
  assert.deepEqual(ms[2]!.histogram!.dataPoints[0]!.bucketCounts, [1n, 2n]);
  assert.equal(ms[3]!.exponentialHistogram!.dataPoints[0]!.positive!.offset, -2);
  assert.equal(ms[4]!.summary!.dataPoints[0]!.quantileValues[0]!.value, 2);
});

test('anyValueToString follows upstream attr_to_string', () => {
  assert.equal(anyValueToString({ stringValue: 'x' }), 'x');
  assert.equal(anyValueToString({ intValue: -12n }), '-12');
  assert.equal(anyValueToString({ boolValue: false }), 'false');
  assert.equal(anyValueToString({ doubleValue: 1 }), '1');
  assert.equal(anyValueToString({ doubleValue: 0.25 }), '0.25');
  assert.equal(anyValueToString({ doubleValue: 1e21 }), '1000000000000000000000');
  assert.equal(anyValueToString({ doubleValue: 1.5e-7 }), '0.00000015');
  assert.equal(anyValueToString({ bytesValue: Uint8Array.from([1, 2]) }), '[1, 2]');
  assert.equal(anyValueToString({ stringValueStrindex: 3 }), '');
  assert.equal(anyValueToString(null), '');
  assert.equal(
    anyValueToString({ arrayValue: { values: [{ stringValue: 'a' }, { doubleValue: 2 }] } }),
    'Some(ArrayValue(ArrayValue { values: [AnyValue { value: Some(StringValue("a")) }, AnyValue { value: Some(DoubleValue(2.0)) }] }))',
  );
  assert.equal(rustFloatDisplay(-0.5), '-0.5');
  assert.deepEqual(
    attributesToRecord([
      { key: 'a', value: { stringValue: '1' } },
      { key: 'b', value: { intValue: 2n } },
      { key: 'a', value: { stringValue: 'dup' } },
    ]),
    { a: '1', b: '2' },
  );
});

test('google.rpc.Status encodes code and message', () => {
  assert.deepEqual(decodeRpcStatus(encodeRpcStatus(3, 'bad')), { code: 3, message: 'bad' });
});
