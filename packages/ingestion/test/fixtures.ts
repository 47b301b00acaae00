// Request bodies shaped like the upstream clients send them, built with the independent test writer.
import { randomUUID } from 'node:crypto';
import { array, bool, bytes, encode, int, map, nul, text, type Item } from './cbor_builder.ts';

/** The LZ4 frame upstream's Rust client sends for an empty buffer (checked against real output). */
export const EMPTY_LZ4_FRAME = Uint8Array.from([0x04, 0x22, 0x4d, 0x18, 0x54, 0x40, 0xae, 0, 0, 0, 0, 0x05, 0x5d, 0xcc, 0x02]);

export interface Ids {
  processId: string;
  streamId: string;
  blockId: string;
}

export const newIds = (): Ids => ({ processId: randomUUID(), streamId: randomUUID(), blockId: randomUUID() });

export type Shape = 'rust' | 'unreal';

export function processBody(ids: Ids, shape: Shape, extra: { properties?: [string, string][]; parent?: Item } = {}): Uint8Array {
  const props = map((extra.properties ?? [['version', '1.2.3'], ['micromegas.audience', 'spoofed']]).map(([k, v]) => [k, text(v)]), shape === 'unreal');
  const f: Record<string, Item> = {
    process_id: text(ids.processId),
    exe: text('/usr/bin/game-server'),
    username: text('alice'),
    realname: text(shape === 'unreal' ? 'alice' : 'Alice Liddell'),
    computer: text('host-1'),
    distro: text('Debian GNU/Linux 12'),
    cpu_brand: text('AMD EPYC'),
    tsc_frequency: int(2_596_000_000n, shape === 'unreal'),
    start_time: text(shape === 'unreal' ? '2026-11-25T10:00:00.123Z' : '2026-11-25T10:00:00.123456789Z'),
    start_ticks: int(9_007_199_254_740_993n), // 2^53 + 1: must stay exact
    parent_process_id: extra.parent ?? (shape === 'unreal' ? text('') : nul),
    properties: props,
  };
  const order =
    shape === 'rust'
      ? ['process_id', 'exe', 'username', 'realname', 'computer', 'distro', 'cpu_brand', 'tsc_frequency', 'start_time', 'start_ticks', 'parent_process_id', 'properties']
      : ['process_id', 'parent_process_id', 'exe', 'username', 'realname', 'computer', 'distro', 'cpu_brand', 'tsc_frequency', 'start_time', 'start_ticks', 'properties'];
  return encode(map(order.map((k) => [k, f[k]!]), shape === 'unreal'));
}

interface Udt {
  name: string;
  size: number;
  isReference: boolean;
  members: { name: string; typeName: string; offset: number; size: number; isReference: boolean }[];
}

export const LOG_DEPS: Udt[] = [
  { name: 'StaticString', size: 0, isReference: false, members: [] },
  {
    name: 'LogMetadataRecord',
    size: 48,
    isReference: false,
    members: [
      { name: 'id', typeName: 'u64', offset: 0, size: 8, isReference: false },
      { name: 'fmt_str', typeName: '*const u8', offset: 8, size: 8, isReference: true },
      { name: 'line', typeName: 'u32', offset: 40, size: 4, isReference: false },
    ],
  },
];
export const LOG_OBJS: Udt[] = [
  {
    name: 'LogStaticStrEvent',
    size: 16,
    isReference: false,
    members: [
      { name: 'desc', typeName: '&LogMetadata', offset: 0, size: 8, isReference: true },
      { name: 'time', typeName: 'i64', offset: 8, size: 8, isReference: false },
    ],
  },
  { name: 'LogStringEventV2', size: 0, isReference: false, members: [] },
];

/** A metadata list as the Rust client writes it, which is also what the server stores. */
export function udtListRust(udts: Udt[]): Item {
  return array(
    udts.map((u) =>
      map([
        ['name', text(u.name)],
        ['size', int(u.size)],
        [
          'members',
          array(
            u.members.map((m) =>
              map([
                ['name', text(m.name)],
                ['type_name', text(m.typeName)],
                ['offset', int(m.offset)],
                ['size', int(m.size)],
                ['is_reference', bool(m.isReference)],
              ]),
            ),
          ),
        ],
        ['is_reference', bool(u.isReference)],
      ]),
    ),
  );
}

function udtListUnreal(udts: Udt[]): Item {
  return array(
    udts.map((u) =>
      map(
        [
          ['name', text(u.name)],
          ['size', int(u.size, true)],
          ['is_reference', bool(u.isReference)],
          [
            'members',
            array(
              u.members.map((m) =>
                map(
                  [
                    ['name', text(m.name)],
                    ['type_name', text(m.typeName)],
                    ['offset', int(m.offset, true)],
                    ['size', int(m.size, true)],
                    ['is_reference', bool(m.isReference)],
                  ],
                  true,
                ),
              ),
              true,
            ),
          ],
        ],
        true,
      ),
    ),
    true,
  );
}

export function streamBody(ids: Ids, shape: Shape): Uint8Array {
  const deps = shape === 'rust' ? udtListRust(LOG_DEPS) : udtListUnreal(LOG_DEPS);
  const objs = shape === 'rust' ? udtListRust(LOG_OBJS) : udtListUnreal(LOG_OBJS);
  const tags = array([text('log')], shape === 'unreal');
  const props = map([['thread-name', text('main')], ['micromegas.secret', text('x')]], shape === 'unreal');
  const entries: [string, Item][] =
    shape === 'rust'
      ? [['process_id', text(ids.processId)], ['stream_id', text(ids.streamId)], ['dependencies_metadata', deps], ['objects_metadata', objs], ['tags', tags], ['properties', props]]
      : [['stream_id', text(ids.streamId)], ['process_id', text(ids.processId)], ['dependencies_metadata', deps], ['objects_metadata', objs], ['tags', tags], ['properties', props]];
  return encode(map(entries, shape === 'unreal'));
}

export interface BlockSpec {
  dependencies: Uint8Array;
  objects: Uint8Array;
  payloadForm?: 'bytes' | 'legacy-array' | 'chunked';
  beginTime?: string;
  endTime?: string;
  beginTicks?: bigint;
  endTicks?: bigint;
  objectOffset?: bigint;
  nbObjects?: number;
  extraKey?: boolean;
}

export function blockBody(ids: Ids, shape: Shape, spec: BlockSpec): Uint8Array {
  const form = spec.payloadForm ?? 'bytes';
  const payloadBytes = (b: Uint8Array): Item =>
    form === 'legacy-array' ? array(Array.from(b, (x) => int(x))) : form === 'chunked' ? bytes(b, 3) : bytes(b);
  const payload = map([['dependencies', payloadBytes(spec.dependencies)], ['objects', payloadBytes(spec.objects)]], shape === 'unreal');
  const f: Record<string, Item> = {
    block_id: text(shape === 'unreal' ? ids.blockId.toUpperCase() : ids.blockId),
    stream_id: text(ids.streamId),
    process_id: text(ids.processId),
    begin_time: text(spec.beginTime ?? (shape === 'unreal' ? '2026-11-25T10:00:01.500Z' : '2026-11-25T10:00:01.123456789+00:00')),
    begin_ticks: int(spec.beginTicks ?? -1234n, shape === 'unreal'),
    end_time: text(spec.endTime ?? (shape === 'unreal' ? '2026-11-25T10:00:02.750Z' : '2026-11-25T10:00:02.987654321+00:00')),
    end_ticks: int(spec.endTicks ?? 5_000_000_000n, shape === 'unreal'),
    payload,
    object_offset: int(spec.objectOffset ?? 40n, shape === 'unreal'),
    nb_objects: int(spec.nbObjects ?? 2, shape === 'unreal'),
  };
  const order =
    shape === 'rust'
      ? ['block_id', 'stream_id', 'process_id', 'begin_time', 'begin_ticks', 'end_time', 'end_ticks', 'payload', 'object_offset', 'nb_objects']
      : ['block_id', 'stream_id', 'process_id', 'begin_time', 'begin_ticks', 'end_time', 'end_ticks', 'payload', 'nb_objects', 'object_offset'];
  const entries: [string, Item][] = order.map((k) => [k, f[k]!]);
  if (spec.extraKey) entries.splice(3, 0, ['future_field', map([['nested', array([int(1), text('x')])]])]);
  return encode(map(entries, shape === 'unreal'));
}

/** The object upstream's server stores for a block: a definite map of two byte strings. */
export function storedPayload(dependencies: Uint8Array, objects: Uint8Array): Uint8Array {
  return encode(map([['dependencies', bytes(dependencies)], ['objects', bytes(objects)]]));
}
