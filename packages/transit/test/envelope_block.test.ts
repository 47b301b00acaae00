import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type BlockEnvelope,
  compressLz4Frame,
  decodeBlock,
  decodeBlockPayload,
  decompressLz4Frame,
  encodeBlock,
  encodeBlockPayload,
  TransitFormatError,
} from '../src/index.ts';
import { BLOCK_ID, cb, DEPENDENCIES_FRAME, hex, OBJECTS_BYTES, PROCESS_ID, rustBlockBody, STREAM_ID, u8, unrealBlockBody } from './fixtures_envelope.ts';

const EXPECTED: BlockEnvelope = {
  blockId: BLOCK_ID,
  streamId: STREAM_ID,
  processId: PROCESS_ID,
  beginTime: '2026-08-21T16:53:43.123456789+00:00',
  beginTicks: -1234n,
  endTime: '2026-08-21T16:53:44.000000001+00:00',
  endTicks: 9_007_199_254_740_993n,
  payload: { dependencies: DEPENDENCIES_FRAME, objects: OBJECTS_BYTES },
  objectOffset: 4_294_967_296n,
  nbObjects: 37,
};

function formatError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TransitFormatError, String(error));
    return error.message;
  }
  assert.fail('expected a TransitFormatError');
}

function payloadMap(dependencies: number[], objects: number[]): number[] {
  return cb.map([['dependencies', dependencies], ['objects', objects]]);
}

describe('block envelope', () => {
  it('decodes the Rust shape and the Unreal shape to the same value', () => {
    assert.deepEqual(decodeBlock(rustBlockBody()), EXPECTED);
    assert.deepEqual(decodeBlock(unrealBlockBody()), EXPECTED);
  });

  it('encodes exactly the Rust shape', () => {
    assert.deepEqual(encodeBlock(EXPECTED), rustBlockBody());
    assert.deepEqual(encodeBlock({ ...EXPECTED, blockId: BLOCK_ID.toUpperCase() }), rustBlockBody());
  });

  it('accepts legacy integer-array payloads and converts them to bytes', () => {
    const legacy = payloadMap(cb.array(Array.from(DEPENDENCIES_FRAME, (b) => cb.uint(b))), cb.indefArray(Array.from(OBJECTS_BYTES, (b) => cb.uint(b))));
    assert.deepEqual(decodeBlock(rustBlockBody(legacy)), EXPECTED);
    const outOfRange = payloadMap(cb.array([cb.uint(1), cb.uint(256)]), cb.bytes([]));
    assert.equal(formatError(() => decodeBlock(rustBlockBody(outOfRange))), 'block.payload: field dependencies item 1 is not a byte (integer 0..255)');
    const negative = payloadMap(cb.bytes([]), cb.array([cb.int(-1)]));
    assert.match(formatError(() => decodeBlock(rustBlockBody(negative))), /field objects item 0 is not a byte/);
    const textPayload = payloadMap(cb.text('x'), cb.bytes([]));
    assert.match(formatError(() => decodeBlock(rustBlockBody(textPayload))), /dependencies must be a byte string or an array of bytes, got text/);
  });

  it('ignores unknown keys, in the block and in the payload', () => {
    const payload = cb.indefMap([['compression', cb.text('lz4')], ['objects', cb.bytes(OBJECTS_BYTES)], ['dependencies', cb.bytes(DEPENDENCIES_FRAME)]]);
    const body = Array.from(rustBlockBody(payload));
    body[0] = 0xab; // map(11)
    body.push(...cb.text('future'), ...cb.array([cb.true]));
    assert.deepEqual(decodeBlock(Uint8Array.from(body)), EXPECTED);
  });

  it('checks nb_objects fits i32 and ticks fit i64', () => {
    const body = (nb: number[]): Uint8Array => {
      const bytes = Array.from(rustBlockBody());
      const tail = [...cb.text('nb_objects'), ...cb.int(37)];
      return Uint8Array.from([...bytes.slice(0, bytes.length - tail.length), ...cb.text('nb_objects'), ...nb]);
    };
    assert.equal(decodeBlock(body(cb.int(2 ** 31 - 1, 8))).nbObjects, 2 ** 31 - 1);
    assert.equal(decodeBlock(body(cb.int(-5))).nbObjects, -5);
    assert.match(formatError(() => decodeBlock(body(cb.int(2 ** 31)))), /nb_objects value 2147483648 does not fit a 32-bit signed integer/);
    assert.match(formatError(() => decodeBlock(body([0xf9, 0x3e, 0x00]))), /nb_objects must be an integer, got float/);
    assert.match(formatError(() => decodeBlock(body(cb.text('3')))), /nb_objects must be an integer, got text/);
  });

  it('rejects malformed block ids and missing fields with their name', () => {
    const noPayload = u8(cb.map([['block_id', cb.text(BLOCK_ID)], ['stream_id', cb.text(STREAM_ID)], ['process_id', cb.text(PROCESS_ID)],
      ['begin_time', cb.text('t')], ['begin_ticks', cb.int(0)], ['end_time', cb.text('t')], ['end_ticks', cb.int(0)]]));
    assert.equal(formatError(() => decodeBlock(noPayload)), 'block: missing field payload');
    const badId = Array.from(rustBlockBody());
    const at = hex(Uint8Array.from(badId)).indexOf(Buffer.from(BLOCK_ID).toString('hex')) / 2;
    badId[at + 8] = 0x5f; // '_' instead of '-'
    assert.match(formatError(() => decodeBlock(Uint8Array.from(badId))), /^block: field block_id is not a UUID/);
  });

  it('encodes the stored payload document of §2.6 and decodes either byte form', () => {
    const big = compressLz4Frame(new Uint8Array(70_000).map((_, i) => i % 251));
    const stored = encodeBlockPayload({ dependencies: DEPENDENCIES_FRAME, objects: big });
    const expectedHead = `a2 6c${Buffer.from('dependencies').toString('hex')} 4f${hex(DEPENDENCIES_FRAME)} 67${Buffer.from('objects').toString('hex')}`;
    assert.equal(hex(stored.subarray(0, 1 + 13 + 16 + 8)), expectedHead.replace(/ /g, ''));
    const lengthHead = hex(stored.subarray(38, 41));
    assert.equal(lengthHead, `59${big.length.toString(16).padStart(4, '0')}`, 'shortest bstr head for the length');
    assert.equal(stored.length, 41 + big.length);
    const back = decodeBlockPayload(stored);
    assert.deepEqual(back.dependencies, DEPENDENCIES_FRAME);
    assert.deepEqual(decompressLz4Frame(back.objects), new Uint8Array(70_000).map((_, i) => i % 251));
    const legacy = u8(cb.indefMap([['dependencies', cb.array([])], ['objects', cb.indefBytes([[1, 2], [3]])]]));
    assert.deepEqual(decodeBlockPayload(legacy), { dependencies: new Uint8Array(), objects: Uint8Array.of(1, 2, 3) });
    assert.deepEqual(encodeBlockPayload(decodeBlockPayload(legacy)), u8(payloadMap(cb.bytes([]), cb.bytes([1, 2, 3]))));
  });

  it('handles a 10 MB block body quickly', () => {
    const objects = new Uint8Array(10 * 1024 * 1024).map((_, i) => i & 0xff);
    const start = performance.now();
    const encoded = encodeBlock({ ...EXPECTED, payload: { dependencies: DEPENDENCIES_FRAME, objects } });
    const decoded = decodeBlock(encoded);
    const stored = encodeBlockPayload(decoded.payload);
    assert.ok(performance.now() - start < 2000);
    assert.deepEqual(decoded.payload.objects, objects);
    assert.equal(stored.length, 1 + 13 + 1 + DEPENDENCIES_FRAME.length + 8 + 5 + objects.length);
  });

  it('only throws TransitFormatError on truncated bodies', () => {
    const body = unrealBlockBody();
    for (let length = 0; length < body.length; length++) {
      formatError(() => decodeBlock(body.subarray(0, length)));
    }
  });
});
