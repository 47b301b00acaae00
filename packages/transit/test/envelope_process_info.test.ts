import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeProcessInfo, encodeProcessInfo, type ProcessInfo, TransitFormatError } from '../src/index.ts';
import { cb, PARENT_ID, PROCESS_ID, rustProcessBody, START_TICKS, TSC_FREQUENCY, u8, unrealProcessBody } from './fixtures_envelope.ts';

const EXPECTED: ProcessInfo = {
  processId: PROCESS_ID,
  exe: '/usr/bin/app',
  username: 'alice',
  realname: 'Alice A.',
  computer: 'host-1',
  distro: 'Ubuntu 24.04',
  cpuBrand: 'AMD EPYC',
  tscFrequency: TSC_FREQUENCY,
  startTime: '2026-08-21T16:53:43.123456789Z',
  startTicks: START_TICKS,
  parentProcessId: PARENT_ID,
  properties: new Map([
    ['version', '1.2.3'],
    ['env', 'prod'],
  ]),
};

function errorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TransitFormatError, String(error));
    return error.message;
  }
  assert.fail('expected a TransitFormatError');
}

/** A Rust-shaped body with one field replaced (or removed when value is undefined). */
function withField(key: string, value: number[] | undefined): Uint8Array {
  const body = rustProcessBody();
  // Rebuild through the fixture builder: decode keys positionally by re-creating the entry list.
  const entries: [string, number[]][] = [
    ['process_id', cb.text(PROCESS_ID)],
    ['exe', cb.text('/usr/bin/app')],
    ['username', cb.text('alice')],
    ['realname', cb.text('Alice A.')],
    ['computer', cb.text('host-1')],
    ['distro', cb.text('Ubuntu 24.04')],
    ['cpu_brand', cb.text('AMD EPYC')],
    ['tsc_frequency', cb.int(TSC_FREQUENCY)],
    ['start_time', cb.text('2026-08-21T16:53:43.123456789Z')],
    ['start_ticks', cb.int(START_TICKS)],
    ['parent_process_id', cb.text(PARENT_ID)],
    ['properties', cb.map([['version', cb.text('1.2.3')], ['env', cb.text('prod')]])],
  ];
  assert.deepEqual(u8(cb.map(entries)), body, 'fixture consistency');
  const changed = entries.flatMap(([k, v]): [string, number[]][] => (k !== key ? [[k, v]] : value === undefined ? [] : [[k, value]]));
  return u8(cb.map(changed));
}

describe('process_info envelope', () => {
  it('decodes the Rust shape', () => {
    assert.deepEqual(decodeProcessInfo(rustProcessBody()), EXPECTED);
  });

  it('decodes the Unreal shape (indefinite maps, key order, "" parent, 64-bit heads, upper-case id)', () => {
    assert.deepEqual(decodeProcessInfo(unrealProcessBody()), { ...EXPECTED, parentProcessId: null });
  });

  it('encodes exactly the Rust shape', () => {
    assert.deepEqual(encodeProcessInfo(EXPECTED), rustProcessBody());
    assert.deepEqual(encodeProcessInfo({ ...EXPECTED, parentProcessId: null }), rustProcessBody(cb.null));
    assert.deepEqual(decodeProcessInfo(encodeProcessInfo(EXPECTED)), EXPECTED);
  });

  it('maps null, "" and a missing parent_process_id to null', () => {
    assert.equal(decodeProcessInfo(rustProcessBody(cb.null)).parentProcessId, null);
    assert.equal(decodeProcessInfo(rustProcessBody(cb.text(''))).parentProcessId, null);
    assert.equal(decodeProcessInfo(withField('parent_process_id', undefined)).parentProcessId, null);
    assert.equal(decodeProcessInfo(rustProcessBody(cb.text(PARENT_ID.toUpperCase()))).parentProcessId, PARENT_ID);
  });

  it('ignores unknown keys and defaults missing properties to an empty map', () => {
    const body = u8([...cb.map([['future_field', cb.array([cb.uint(1)])], ['process_id', cb.text(PROCESS_ID)]])]);
    assert.match(errorMessage(() => decodeProcessInfo(body)), /^process_info: missing field exe$/);
    const noProperties = decodeProcessInfo(withField('properties', undefined));
    assert.equal(noProperties.properties.size, 0);
    const extra = Array.from(rustProcessBody());
    extra[0] = 0xad; // map(13)
    extra.push(...cb.text('zz_unknown'), ...cb.map([['x', cb.null]]));
    assert.deepEqual(decodeProcessInfo(Uint8Array.from(extra)), EXPECTED);
  });

  it('keeps negative and 64-bit tick values exact', () => {
    const ticks = -(2n ** 63n);
    assert.equal(decodeProcessInfo(withField('start_ticks', cb.int(ticks))).startTicks, ticks);
    assert.equal(decodeProcessInfo(withField('tsc_frequency', cb.int(0))).tscFrequency, 0n);
  });

  it('names the field in errors', () => {
    assert.equal(errorMessage(() => decodeProcessInfo(withField('exe', undefined))), 'process_info: missing field exe');
    assert.equal(errorMessage(() => decodeProcessInfo(withField('exe', cb.uint(5)))), 'process_info: field exe must be text, got integer');
    assert.match(errorMessage(() => decodeProcessInfo(withField('process_id', cb.text('not-a-uuid')))), /field process_id is not a UUID/);
    assert.match(errorMessage(() => decodeProcessInfo(withField('start_ticks', cb.uint(2n ** 63n)))), /start_ticks value .* does not fit a 64-bit signed integer/);
    assert.match(errorMessage(() => decodeProcessInfo(withField('properties', cb.map([['k', cb.uint(1)]])))), /field properties.k must be text/);
    assert.match(errorMessage(() => decodeProcessInfo(withField('parent_process_id', cb.uint(1)))), /parent_process_id must be text or null/);
    assert.match(errorMessage(() => decodeProcessInfo(u8(cb.array([])))), /process_info: expected a map, got array/);
    assert.match(errorMessage(() => decodeProcessInfo(new Uint8Array([0xa1]))), /cbor: truncated input/);
  });

  it('refuses to encode invalid values', () => {
    assert.match(errorMessage(() => encodeProcessInfo({ ...EXPECTED, processId: 'x' })), /process_id is not a UUID/);
    assert.match(errorMessage(() => encodeProcessInfo({ ...EXPECTED, startTicks: 2n ** 63n })), /start_ticks/);
  });
});
