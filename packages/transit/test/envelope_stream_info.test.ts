import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeStreamInfo, decodeUdtList, encodeStreamInfo, encodeUdtList, type StreamInfo, TransitFormatError } from '../src/index.ts';
import {
  cb,
  LOG_DEPENDENCY_UDTS,
  LOG_OBJECT_UDTS,
  PROCESS_ID,
  rustStreamBody,
  rustUdtBytes,
  STREAM_ID,
  u8,
  unrealStreamBody,
  unrealUdtBytes,
} from './fixtures_envelope.ts';

const EXPECTED: StreamInfo = {
  processId: PROCESS_ID,
  streamId: STREAM_ID,
  dependenciesMetadata: LOG_DEPENDENCY_UDTS,
  objectsMetadata: LOG_OBJECT_UDTS,
  tags: ['log'],
  properties: new Map([['thread-name', 'main']]),
};

function streamWith(key: string, value: number[]): Uint8Array {
  return u8(
    cb.map(
      (
        [
          ['process_id', cb.text(PROCESS_ID)],
          ['stream_id', cb.text(STREAM_ID)],
          ['dependencies_metadata', rustUdtBytes(LOG_DEPENDENCY_UDTS)],
          ['objects_metadata', rustUdtBytes(LOG_OBJECT_UDTS)],
          ['tags', cb.array([cb.text('log')])],
        ] as [string, number[]][]
      ).map(([k, v]): [string, number[]] => [k, k === key ? value : v]),
    ),
  );
}

function formatError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TransitFormatError, String(error));
    return error.message;
  }
  assert.fail('expected a TransitFormatError');
}

describe('stream_info envelope', () => {
  it('decodes the Rust shape and the Unreal shape to the same value', () => {
    assert.deepEqual(decodeStreamInfo(rustStreamBody()), EXPECTED);
    assert.deepEqual(decodeStreamInfo(unrealStreamBody()), EXPECTED);
  });

  it('encodes exactly the Rust shape', () => {
    assert.deepEqual(encodeStreamInfo(EXPECTED), rustStreamBody());
  });

  it('re-encodes metadata lists in the canonical ciborium shape whatever shape arrived', () => {
    const fromUnreal = decodeStreamInfo(unrealStreamBody());
    assert.deepEqual(encodeUdtList(fromUnreal.objectsMetadata), u8(rustUdtBytes(LOG_OBJECT_UDTS)));
    assert.deepEqual(encodeUdtList(fromUnreal.dependenciesMetadata), u8(rustUdtBytes(LOG_DEPENDENCY_UDTS)));
    assert.deepEqual(encodeUdtList([]), Uint8Array.of(0x80));
    assert.deepEqual(decodeUdtList(u8(unrealUdtBytes(LOG_OBJECT_UDTS))), LOG_OBJECT_UDTS);
    assert.deepEqual(decodeUdtList(encodeUdtList(LOG_DEPENDENCY_UDTS)), LOG_DEPENDENCY_UDTS);
  });

  it('defaults missing properties to an empty map and ignores unknown keys', () => {
    const decoded = decodeStreamInfo(streamWith('tags', cb.array([cb.text('log'), cb.text('cpu')])));
    assert.deepEqual(decoded.tags, ['log', 'cpu']);
    assert.equal(decoded.properties.size, 0);
    const withUnknown = u8(cb.indefMap([['unknown', cb.uint(3)], ['stream_id', cb.text(STREAM_ID)], ['process_id', cb.text(PROCESS_ID)],
      ['dependencies_metadata', cb.array([])], ['objects_metadata', cb.indefArray([])], ['tags', cb.array([])]]));
    assert.deepEqual(decodeStreamInfo(withUnknown).objectsMetadata, []);
  });

  it('names the failing field', () => {
    assert.equal(formatError(() => decodeStreamInfo(streamWith('tags', cb.array([cb.uint(1)])))), 'stream_info: field tags[0] must be text, got integer');
    assert.equal(
      formatError(() => decodeStreamInfo(streamWith('objects_metadata', cb.array([cb.map([['name', cb.text('X')]])])))),
      'stream_info.objects_metadata[0]: missing field size',
    );
    assert.match(
      formatError(() => decodeStreamInfo(streamWith('objects_metadata', cb.array([cb.map([['name', cb.text('X')], ['size', cb.int(-1)]])])))),
      /objects_metadata\[0\]: field size must be a non-negative integer/,
    );
    assert.match(formatError(() => decodeStreamInfo(streamWith('stream_id', cb.text('1234')))), /stream_info: field stream_id is not a UUID/);
    assert.match(formatError(() => decodeUdtList(u8(cb.map([])))), /udt_list: expected an array/);
  });
});
