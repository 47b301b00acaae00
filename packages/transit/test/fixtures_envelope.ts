// Encoder-independent CBOR byte builder for envelope tests: bodies are assembled head by head here, so the
// decoders are checked against bytes that our own encoder did not produce.

export type Bytes = number[];

/** Head with the shortest argument, or a forced argument width (Unreal writes some ints with 8-byte heads). */
export function head(major: number, arg: number | bigint, width?: 0 | 1 | 2 | 4 | 8): Bytes {
  const v = BigInt(arg);
  const w = width ?? (v < 24n ? 0 : v < 0x100n ? 1 : v < 0x10000n ? 2 : v < 0x100000000n ? 4 : 8);
  const info = w === 0 ? Number(v) : w === 1 ? 24 : w === 2 ? 25 : w === 4 ? 26 : 27;
  const out = [(major << 5) | info];
  for (let i = w - 1; i >= 0; i--) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  return out;
}

export const cb = {
  uint: (v: number | bigint, width?: 0 | 1 | 2 | 4 | 8): Bytes => head(0, v, width),
  int: (v: number | bigint, width?: 0 | 1 | 2 | 4 | 8): Bytes => {
    const b = BigInt(v);
    return b >= 0n ? head(0, b, width) : head(1, -1n - b, width);
  },
  text: (s: string): Bytes => {
    const bytes = [...new TextEncoder().encode(s)];
    return [...head(3, bytes.length), ...bytes];
  },
  bytes: (data: ArrayLike<number>): Bytes => [...head(2, data.length), ...Array.from(data)],
  indefBytes: (chunks: ArrayLike<number>[]): Bytes => [0x5f, ...chunks.flatMap((c) => cb.bytes(c)), 0xff],
  indefText: (chunks: string[]): Bytes => [0x7f, ...chunks.flatMap((c) => cb.text(c)), 0xff],
  array: (items: Bytes[]): Bytes => [...head(4, items.length), ...items.flat()],
  indefArray: (items: Bytes[]): Bytes => [0x9f, ...items.flat(), 0xff],
  map: (entries: [string, Bytes][]): Bytes => [...head(5, entries.length), ...entries.flatMap(([k, v]) => [...cb.text(k), ...v])],
  indefMap: (entries: [string, Bytes][]): Bytes => [0xbf, ...entries.flatMap(([k, v]) => [...cb.text(k), ...v]), 0xff],
  null: [0xf6] as Bytes,
  true: [0xf5] as Bytes,
  false: [0xf4] as Bytes,
};

export function u8(bytes: Bytes): Uint8Array {
  return Uint8Array.from(bytes);
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function fromHex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

// --- A process, a stream and a block, as values and as Rust-shaped / Unreal-shaped bodies ---

export const PROCESS_ID = '0f1e2d3c-4b5a-4969-8877-665544332211';
export const PARENT_ID = 'a1b2c3d4-e5f6-4789-9abc-def012345678';
export const STREAM_ID = '11111111-2222-4333-8444-555555555555';
export const BLOCK_ID = 'abcdef01-2345-4678-9abc-def012345678';
export const START_TICKS = 12_345_678_901_234_567n; // > 2^53
export const TSC_FREQUENCY = 2_596_000_000n;

export function rustProcessBody(parent: Bytes = cb.text(PARENT_ID)): Uint8Array {
  return u8(
    cb.map([
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
      ['parent_process_id', parent],
      [
        'properties',
        cb.map([
          ['version', cb.text('1.2.3')],
          ['env', cb.text('prod')],
        ]),
      ],
    ]),
  );
}

/** Unreal: indefinite maps, its own key order, "" parent, 64-bit heads for integers, upper-case process id. */
export function unrealProcessBody(): Uint8Array {
  return u8(
    cb.indefMap([
      ['process_id', cb.text(PROCESS_ID.toUpperCase())],
      ['parent_process_id', cb.text('')],
      ['exe', cb.text('/usr/bin/app')],
      ['username', cb.text('alice')],
      ['realname', cb.text('Alice A.')],
      ['computer', cb.text('host-1')],
      ['distro', cb.text('Ubuntu 24.04')],
      ['cpu_brand', cb.text('AMD EPYC')],
      ['tsc_frequency', cb.int(TSC_FREQUENCY, 8)],
      ['start_time', cb.text('2026-08-21T16:53:43.123456789Z')],
      ['start_ticks', cb.int(START_TICKS, 8)],
      [
        'properties',
        cb.indefMap([
          ['version', cb.indefText(['1.', '2.3'])],
          ['env', cb.text('prod')],
        ]),
      ],
    ]),
  );
}

export const LOG_DEPENDENCY_UDTS = [
  { name: 'StaticString', size: 0, members: [], isReference: false },
  {
    name: 'LogMetadataRecord',
    size: 48,
    members: [
      { name: 'id', typeName: 'u64', offset: 0, size: 8, isReference: false },
      { name: 'fmt_str', typeName: '*const str', offset: 8, size: 8, isReference: true },
      { name: 'line', typeName: 'u32', offset: 40, size: 4, isReference: false },
    ],
    isReference: false,
  },
];

export const LOG_OBJECT_UDTS = [
  {
    name: 'LogStaticStrEvent',
    size: 16,
    members: [
      { name: 'desc', typeName: 'LogMetadataRecord', offset: 0, size: 8, isReference: true },
      { name: 'time', typeName: 'i64', offset: 8, size: 8, isReference: false },
    ],
    isReference: false,
  },
  { name: 'StringId', size: 16, members: [], isReference: true },
];

type Udt = (typeof LOG_OBJECT_UDTS)[number];

export function rustUdtBytes(udts: readonly Udt[]): Bytes {
  return cb.array(
    udts.map((u) =>
      cb.map([
        ['name', cb.text(u.name)],
        ['size', cb.uint(u.size)],
        [
          'members',
          cb.array(
            u.members.map((m) =>
              cb.map([
                ['name', cb.text(m.name)],
                ['type_name', cb.text(m.typeName)],
                ['offset', cb.uint(m.offset)],
                ['size', cb.uint(m.size)],
                ['is_reference', m.isReference ? cb.true : cb.false],
              ]),
            ),
          ),
        ],
        ['is_reference', u.isReference ? cb.true : cb.false],
      ]),
    ),
  );
}

export function unrealUdtBytes(udts: readonly Udt[]): Bytes {
  return cb.indefArray(
    udts.map((u) =>
      cb.indefMap([
        ['name', cb.text(u.name)],
        ['size', cb.uint(u.size, 8)],
        ['is_reference', u.isReference ? cb.true : cb.false],
        [
          'members',
          cb.indefArray(
            u.members.map((m) =>
              cb.indefMap([
                ['name', cb.text(m.name)],
                ['type_name', cb.text(m.typeName)],
                ['offset', cb.uint(m.offset, 8)],
                ['size', cb.uint(m.size, 8)],
                ['is_reference', m.isReference ? cb.true : cb.false],
              ]),
            ),
          ),
        ],
      ]),
    ),
  );
}

export function rustStreamBody(): Uint8Array {
  return u8(
    cb.map([
      ['process_id', cb.text(PROCESS_ID)],
      ['stream_id', cb.text(STREAM_ID)],
      ['dependencies_metadata', rustUdtBytes(LOG_DEPENDENCY_UDTS)],
      ['objects_metadata', rustUdtBytes(LOG_OBJECT_UDTS)],
      ['tags', cb.array([cb.text('log')])],
      ['properties', cb.map([['thread-name', cb.text('main')]])],
    ]),
  );
}

export function unrealStreamBody(): Uint8Array {
  return u8(
    cb.indefMap([
      ['stream_id', cb.text(STREAM_ID)],
      ['process_id', cb.text(PROCESS_ID)],
      ['dependencies_metadata', unrealUdtBytes(LOG_DEPENDENCY_UDTS)],
      ['objects_metadata', unrealUdtBytes(LOG_OBJECT_UDTS)],
      ['tags', cb.indefArray([cb.text('log')])],
      ['properties', cb.indefMap([['thread-name', cb.text('main')]])],
    ]),
  );
}

export const DEPENDENCIES_FRAME = fromHex('04224d18 5440ae 00000000 055dcc02');
export const OBJECTS_BYTES = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);

export function rustBlockBody(payload: Bytes = cb.map([['dependencies', cb.bytes(DEPENDENCIES_FRAME)], ['objects', cb.bytes(OBJECTS_BYTES)]])): Uint8Array {
  return u8(
    cb.map([
      ['block_id', cb.text(BLOCK_ID)],
      ['stream_id', cb.text(STREAM_ID)],
      ['process_id', cb.text(PROCESS_ID)],
      ['begin_time', cb.text('2026-08-21T16:53:43.123456789+00:00')],
      ['begin_ticks', cb.int(-1234)],
      ['end_time', cb.text('2026-08-21T16:53:44.000000001+00:00')],
      ['end_ticks', cb.int(9_007_199_254_740_993n)],
      ['payload', payload],
      ['object_offset', cb.int(4_294_967_296n)],
      ['nb_objects', cb.int(37)],
    ]),
  );
}

/** Unreal: indefinite maps, upper-case block id, nb_objects before object_offset, 64-bit heads. */
export function unrealBlockBody(): Uint8Array {
  return u8(
    cb.indefMap([
      ['block_id', cb.text(BLOCK_ID.toUpperCase())],
      ['stream_id', cb.text(STREAM_ID)],
      ['process_id', cb.text(PROCESS_ID)],
      ['begin_time', cb.text('2026-08-21T16:53:43.123456789+00:00')],
      ['begin_ticks', cb.int(-1234, 8)],
      ['end_time', cb.text('2026-08-21T16:53:44.000000001+00:00')],
      ['end_ticks', cb.int(9_007_199_254_740_993n, 8)],
      [
        'payload',
        cb.indefMap([
          ['dependencies', cb.bytes(DEPENDENCIES_FRAME)],
          ['objects', cb.indefBytes([OBJECTS_BYTES.subarray(0, 100), OBJECTS_BYTES.subarray(100)])],
        ]),
      ],
      ['nb_objects', cb.int(37, 8)],
      ['object_offset', cb.int(4_294_967_296n, 8)],
    ]),
  );
}
