// Deterministic fuzzing of the transit decoders over real blocks: truncations, bit flips, overwritten
// sizes and offsets, in compressed and uncompressed buffers and in the metadata. Only TransitFormatError
// (which the LZ4 decoder raises too) may escape, and the whole run must stay quick.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  TransitFormatError,
  decodeTransitPayload,
  decompressLz4Frame,
  parseBlockObjects,
  udt,
  udtMember,
  walkObjects,
  type BlockPayload,
  type UserDefinedType,
} from '@micromegas/transit';
import { Bytes, Queue, prng, utf16 } from './transit_builders.ts';
import { recordTracingBlocks } from './tracing_corpus.ts';
import { unrealLog, unrealNet } from './transit_layouts.ts';

interface Sample {
  deps: readonly UserDefinedType[];
  objs: readonly UserDefinedType[];
  depBytes: Uint8Array;
  objBytes: Uint8Array;
  payload: BlockPayload;
}

async function samples(): Promise<Sample[]> {
  const { blocks } = await recordTracingBlocks(4);
  const out: Sample[] = blocks.map((b) => ({
    deps: b.stream.dependenciesMetadata,
    objs: b.stream.objectsMetadata,
    depBytes: decompressLz4Frame(b.block.payload.dependencies),
    objBytes: decompressLz4Frame(b.block.payload.objects),
    payload: b.block.payload,
  }));
  // Unreal shapes: Wide strings, custom interop events, property sets, 16-byte reference members
  const deps = new Queue(unrealLog.dependencies)
    .custom('StaticStringDependency', new Bytes().u64(0x10n).dyn(1, utf16('LogTemp')))
    .custom('StaticStringDependency', new Bytes().u64(0x11n).dyn(0, utf16('msg')))
    .pod('LogMetadataDependency', (s) => s.u64(0, 0x1000n).u64(8, 0x10n).u64(24, 0x11n).u64(40, 0x10n).u32(56, 1).u8(60, 4))
    .custom('PropertySetDependency', new Bytes().u64(0x2000n).u32(1).u64(0x10n).u32(0).u32(3).u64(0x11n).u32(0).u32(3))
    .finish();
  const objs = new Queue(unrealLog.objects)
    .custom('TaggedLogInteropEvent', new Bytes().u64(5n).u8(2).u64(0x10n).u32(14).u32(1).u64(0x2000n).dyn(1, utf16('hello')))
    .custom('TaggedLogString', new Bytes().u64(0x1000n).u64(0x2000n).u64(6n).dyn(0, utf16('x')))
    .finish();
  const net = new Queue(unrealNet.objects)
    .pod('NetConnectionBeginEvent', (s) => s.u64(0, 1n).strRef(8, 0x10n, 14, 1).u8(24, 1))
    .pod('NetPropertyEvent', (s) => s.u64(0, 2n).strRef(8, 0x10n, 14, 1).u32(24, 8))
    .finish();
  const netDeps = new Queue(unrealNet.dependencies).custom('StaticStringDependency', new Bytes().u64(0x10n).dyn(1, utf16('IpConnection'))).finish();
  const empty = { dependencies: new Uint8Array(0), objects: new Uint8Array(0) };
  out.push({ deps: unrealLog.dependencies, objs: unrealLog.objects, depBytes: deps, objBytes: objs, payload: empty });
  out.push({ deps: unrealNet.dependencies, objs: unrealNet.objects, depBytes: netDeps, objBytes: net, payload: empty });
  for (const s of out) parseBlockObjects(s.deps, s.objs, s.depBytes, s.objBytes); // the originals are valid
  return out;
}

function mutateBytes(src: Uint8Array, rnd: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(rnd() * n);
  if (src.length === 0) return Uint8Array.of(pick(256));
  const b = src.slice();
  switch (pick(5)) {
    case 0:
      return b.subarray(0, pick(b.length));
    case 1: // a few bit flips
      for (let k = 1 + pick(3); k > 0; k--) b[pick(b.length)]! ^= 1 << pick(8);
      return b;
    case 2: {
      // a wrong size, count or offset: a u32 overwritten with a boundary value
      const at = pick(Math.max(1, b.length - 3));
      const values = [0, 1, 0xffffffff, 0x7fffffff, b.length, b.length - at, 0x10000, pick(0x100000000)];
      new DataView(b.buffer).setUint32(Math.min(at, Math.max(0, b.length - 4)), values[pick(values.length)]!, true);
      return b;
    }
    case 3: {
      const at = pick(b.length);
      return Uint8Array.from([...b.subarray(0, at), pick(256), ...b.subarray(at)]);
    }
    default: {
      const at = pick(b.length);
      return Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1 + pick(8))]);
    }
  }
}

/** A deep copy of a metadata list with one thing wrong in it (sizes, offsets, types, flags, order). */
function mutateMetadata(src: readonly UserDefinedType[], rnd: () => number): UserDefinedType[] {
  const pick = (n: number) => Math.floor(rnd() * n);
  const list = src.map((u) => ({ ...u, members: u.members.map((m) => ({ ...m })) }));
  if (list.length === 0) return list;
  const u = list[pick(list.length)]!;
  const odd = [0, 1, 7, 8, 16, 4096, 0xffffffff, -1, 1.5, NaN];
  const m = u.members.length > 0 ? u.members[pick(u.members.length)]! : undefined;
  switch (pick(7)) {
    case 0:
      u.size = pick(3) === 0 ? odd[pick(odd.length)]! : Math.max(0, u.size + pick(17) - 8);
      break;
    case 1:
      if (m) m.offset = pick(2) ? odd[pick(odd.length)]! : m.offset + pick(9) - 4;
      break;
    case 2:
      if (m) m.size = pick(2) ? odd[pick(odd.length)]! : m.size + pick(9) - 4;
      break;
    case 3: // another type, itself, an intrinsic or nothing known
      if (m) m.typeName = [...list.map((x) => x.name), 'u8', 'u32', 'u64', 'i64', 'f64', 'nope'][pick(list.length + 6)]!;
      break;
    case 4:
      if (m) m.isReference = !m.isReference;
      else u.isReference = !u.isReference;
      break;
    case 5: // swap two types (type indexes now point at the wrong layouts)
      {
        const j = pick(list.length);
        [list[j], list[list.indexOf(u)]] = [u, list[j]!];
      }
      break;
    default: // rename: custom readers picked for the wrong body, or none
      u.name = [...list.map((x) => x.name), 'ImageEvent', 'StaticString', 'PropertySetDependency', 'Property', 'StaticStringRef'][pick(list.length + 5)]!;
  }
  return list;
}

let rejected = 0;
let calls = 0;
function onlyFormatErrors(fn: () => unknown, label: string): void {
  calls++;
  try {
    fn();
  } catch (e) {
    if (!(e instanceof TransitFormatError)) throw new assert.AssertionError({ message: `${label}: ${String(e)}`, actual: e });
    rejected++;
  }
}

test('thousands of corrupted blocks and metadata only ever raise TransitFormatError, quickly', async () => {
  const all = await samples();
  const rnd = prng(0x5eed);
  const started = performance.now();
  let runs = 0;
  for (let round = 0; round < 4000; round++) {
    const s = all[round % all.length]!;
    const which = Math.floor(rnd() * 4);
    const label = `round ${round} (${which})`;
    if (which === 0) {
      onlyFormatErrors(() => parseBlockObjects(s.deps, s.objs, mutateBytes(s.depBytes, rnd), s.objBytes), label);
    } else if (which === 1) {
      const objBytes = mutateBytes(s.objBytes, rnd);
      onlyFormatErrors(() => parseBlockObjects(s.deps, s.objs, s.depBytes, objBytes), label);
      onlyFormatErrors(() => walkObjects(s.objs, objBytes, () => undefined), label);
    } else if (which === 2 && s.payload.objects.length > 0) {
      const payload = rnd() < 0.5
        ? { dependencies: mutateBytes(s.payload.dependencies, rnd), objects: s.payload.objects }
        : { dependencies: s.payload.dependencies, objects: mutateBytes(s.payload.objects, rnd) };
      onlyFormatErrors(() => decodeTransitPayload({ dependenciesMetadata: s.deps, objectsMetadata: s.objs }, payload), label);
    } else {
      const deps = rnd() < 0.5 ? mutateMetadata(s.deps, rnd) : s.deps;
      const objs = deps === s.deps ? mutateMetadata(s.objs, rnd) : s.objs;
      onlyFormatErrors(() => parseBlockObjects(deps, objs, s.depBytes, s.objBytes), label);
      onlyFormatErrors(() => walkObjects(objs, s.objBytes, () => undefined), label);
    }
    runs++;
  }
  const elapsed = performance.now() - started;
  assert.equal(runs, 4000);
  // the mutations bite: most are rejected, yet some still decode (e.g. a flipped bit in a value)
  assert.ok(rejected > calls / 2 && rejected < calls, `${rejected} rejections of ${calls}`);
  console.log(`fuzz: ${rejected} rejections of ${calls} calls in ${runs} rounds, ${elapsed.toFixed(0)} ms`);
  assert.ok(elapsed < 5000, `fuzzing took ${elapsed.toFixed(0)} ms`);
});

test('metadata whose nested members fan out exponentially is refused, not walked for ages', () => {
  // ten overlapping members of a type that has ten such members, 16 levels deep: 10^16 visits unbounded
  const udts: UserDefinedType[] = [];
  for (let level = 0; level < 16; level++) {
    const members = Array.from({ length: 10 }, (_, i) => udtMember(`m${i}`, level === 15 ? 'u8' : `T${level + 1}`, 0, level === 15 ? 1 : 8));
    udts.push(udt(`T${level}`, 8, members));
  }
  const started = performance.now();
  assert.throws(() => parseBlockObjects([], udts, new Uint8Array(0), new Uint8Array(9)), (e: unknown) => e instanceof TransitFormatError && /cost more work/.test(e.message));
  assert.ok(performance.now() - started < 1000);
  // a self-containing type is stopped by the nesting limit
  assert.throws(() => parseBlockObjects([], [udt('Loop', 8, [udtMember('me', 'Loop', 0, 8)])], new Uint8Array(0), new Uint8Array(9)), /nests deeper/);
});
