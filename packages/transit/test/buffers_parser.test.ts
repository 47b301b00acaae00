import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  TransitFormatError,
  TransitObject,
  compressLz4Frame,
  decodeTransitPayload,
  parseBlockObjects,
  parseDependencies,
  parseObjects,
  propertyUdt,
  refMember,
  referenceUdt,
  udt,
  udtMember,
  type UserDefinedType,
} from '@micromegas/transit';

function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g)!.map((h) => parseInt(h, 16)));
}

// Rust log stream metadata as §4.1 documents it (offsets measured upstream).
const logDeps: UserDefinedType[] = [
  udt('StaticString', 0),
  udt('StaticStringDependency', 0),
  udt('LogMetadataRecord', 48, [
    udtMember('id', 'u64', 0, 8),
    refMember('fmt_str', 8),
    refMember('target', 16),
    refMember('module_path', 24),
    refMember('file', 32),
    udtMember('line', 'u32', 40, 4),
    udtMember('level', 'u32', 44, 4),
  ]),
  udt('PropertySetDependency', 0),
  propertyUdt(),
  referenceUdt('StaticStringRef'),
];
const logObjs: UserDefinedType[] = [
  udt('LogStaticStrEvent', 16, [refMember('desc', 0), udtMember('time', 'i64', 8, 8)]),
  udt('LogStringEventV2', 0),
  udt('LogStaticStrInteropEvent', 48, [
    udtMember('time', 'i64', 32, 8),
    udtMember('level', 'u32', 40, 4),
    udtMember('target', 'StringId', 0, 16),
    udtMember('msg', 'StringId', 16, 16),
  ]),
  udt('LogStringInteropEventV3', 0),
  udt('TaggedLogString', 0),
  referenceUdt('StringId'),
  referenceUdt('StaticStringRef'),
];

// §3.7, bytes copied from the worked example.
const exampleDeps = hex(`
00 0d000000 0010000000000000 68656c6c6f
00 0b000000 0020000000000000 617070
00 0e000000 0030000000000000 6170703a3a6d
00 13000000 0040000000000000 7372632f6d61696e2e7273
02 0050000000000000 0010000000000000 0020000000000000
   0030000000000000 0040000000000000 2a000000 04000000`);
const exampleObjs = hex(`
00 0050000000000000 15cd5b0700000000
01 1d000000 0050000000000000 e7cd5b0700000000 02 08000000 776f726c64203432`);

test('decodes the worked example of §3.7', () => {
  assert.equal(exampleDeps.length, 126);
  assert.equal(exampleObjs.length, 51);
  const objects = parseBlockObjects(logDeps, logObjs, exampleDeps, exampleObjs);
  assert.equal(objects.length, 2);
  const [first, second] = objects as TransitObject[];
  assert.equal(first!.typeName, 'LogStaticStrEvent');
  assert.equal(first!.get('time'), 123456789n);
  const desc = first!.get('desc') as TransitObject;
  assert.equal(desc.typeName, 'LogMetadataRecord');
  assert.equal(desc.get('id'), 0x5000n);
  assert.equal(desc.get('fmt_str'), 'hello');
  assert.equal(desc.get('target'), 'app');
  assert.equal(desc.get('module_path'), 'app::m');
  assert.equal(desc.get('file'), 'src/main.rs');
  assert.equal(desc.get('line'), 42);
  assert.equal(desc.get('level'), 4);
  assert.equal(second!.typeName, 'LogStringEventV2');
  assert.equal(second!.get('msg'), 'world 42');
  assert.equal(second!.get('time'), 123456999n);
  assert.equal(second!.get('desc'), desc);
});

test('decodes through LZ4 frames', () => {
  const payload = { dependencies: compressLz4Frame(exampleDeps), objects: compressLz4Frame(exampleObjs) };
  const decoded = decodeTransitPayload({ dependenciesMetadata: logDeps, objectsMetadata: logObjs }, payload);
  assert.equal(decoded.objects.length, 2);
  assert.equal(decoded.dependencies.get(0x4000n), 'src/main.rs');
});

function le64(v: bigint): string {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return Buffer.from(b).toString('hex');
}
function le32(v: number): string {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return Buffer.from(b).toString('hex');
}
function dyn(codec: number, bytes: Uint8Array): string {
  return codec.toString(16).padStart(2, '0') + le32(bytes.length) + Buffer.from(bytes).toString('hex');
}
function staticStringDep(id: bigint, text: string): string {
  const body = le64(id) + dyn(2, Buffer.from(text, 'utf8'));
  return '01' + le32(body.length / 2) + body;
}
function stringRef(id: bigint, len: number): string {
  return le64(id) + le32(len) + '02000000';
}

test('decodes property sets, tagged logs, interop events, UTF-16 and Ansi strings', () => {
  const propertySet =
    le64(0x9000n) + le32(2) + stringRef(0x7001n, 5) + stringRef(0x7002n, 4) + stringRef(0x7003n, 3) + stringRef(0x7004n, 2);
  const deps = hex(
    staticStringDep(0x7001n, 'color') +
      staticStringDep(0x7002n, 'blue') +
      staticStringDep(0x7003n, 'née') +
      staticStringDep(0x7004n, '✓') +
      '03' + le32(propertySet.length / 2) + propertySet +
      '00' + le32(8 + 3) + le64(0x2000n) + '617070' +
      '02' + le64(0x5000n) + le64(0x2000n) + le64(0x2000n) + le64(0x2000n) + le64(0x2000n) + le32(7) + le32(2),
  );
  const wide = Buffer.from('wide ✓', 'utf16le');
  const tagged = le64(0x5000n) + le64(0x9000n) + le64(77n) + dyn(1, wide);
  const interop = le64(78n) + '03' + stringRef(0x2000n, 3) + dyn(0, Buffer.from('ansi text'));
  const objs = hex('04' + le32(tagged.length / 2) + tagged + '03' + le32(interop.length / 2) + interop);
  const [t, i] = parseBlockObjects(logDeps, logObjs, deps, objs) as TransitObject[];
  assert.equal(t!.typeName, 'TaggedLogString');
  assert.equal(t!.get('msg'), 'wide ✓');
  assert.equal(t!.get('time'), 77n);
  const props = t!.get('properties') as TransitObject;
  assert.deepEqual([...props.members], [['color', 'blue'], ['née', '✓']]);
  assert.equal((t!.get('desc') as TransitObject).get('level'), 2);
  assert.equal(i!.typeName, 'LogStringInteropEventV3');
  assert.equal(i!.get('level'), 3);
  assert.equal(i!.get('target'), 'app');
  assert.equal(i!.get('msg'), 'ansi text');
});

test('unknown dynamic object types decode as empty objects, like upstream', () => {
  const objs = hex('01' + le32(3) + 'aabbcc');
  const out = parseObjects([udt('Static', 1), udt('Mystery', 0)], new Map(), objs) as TransitObject[];
  assert.equal(out[0]!.typeName, 'Mystery');
  assert.equal(out[0]!.members.size, 0);
});

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof TransitFormatError && pattern.test(e.message));
}

test('corrupt input raises TransitFormatError, never a crash or a hang', () => {
  // every truncation of the example
  for (let n = 1; n < exampleDeps.length; n++) {
    assert.throws(() => parseBlockObjects(logDeps, logObjs, exampleDeps.subarray(0, n), exampleObjs), TransitFormatError);
  }
  const deps = parseDependencies(logDeps, exampleDeps);
  for (let n = 1; n < exampleObjs.length; n++) {
    if (n === 17) continue; // a clean object boundary
    assert.throws(() => parseObjects(logObjs, deps, exampleObjs.subarray(0, n)), TransitFormatError);
  }
  rejects(() => parseDependencies(logDeps, hex('09')), /type index 9/);
  rejects(() => parseObjects(logObjs, new Map(), exampleObjs), /missing dependency 0x5000/);
  rejects(() => parseDependencies(logDeps, hex('00' + le32(9) + le64(1n) + 'ff')), /not valid UTF-8/);
  rejects(() => parseDependencies(logDeps, hex('00' + le32(8) + le64(1n) + '00' + le32(8) + le64(1n))), /duplicate dependency id 0x1/);
  rejects(() => parseDependencies(logDeps, hex('00' + 'ffffffff' + le64(1n))), /runs past the end/);
  rejects(() => parseDependencies([udt('Dyn', 0)], hex('00' + le32(0))), /invalid user-defined type Dyn/);
  rejects(() => parseDependencies([udt('NoId', 4, [udtMember('x', 'u32', 0, 4)])], hex('00' + le32(1))), /no u64\/i64 id/);
  rejects(() => parseObjects([udt('Bad', 4, [udtMember('x', 'u64', 0, 8)])], new Map(), hex('00' + le32(1))), /exceeds/);
  rejects(() => parseObjects([udt('Bad', 8, [udtMember('x', 'u32', 0, 8)])], new Map(), hex('00' + le64(1n))), /has size 8/);
  rejects(() => parseObjects([udt('Bad', 8, [udtMember('x', 'Nope', 0, 8)])], new Map(), hex('00' + le64(1n))), /unknown member type "Nope"/);
  // a type that contains itself must not recurse forever
  rejects(() => parseObjects([udt('Loop', 8, [udtMember('self', 'Loop', 0, 8)])], new Map(), hex('00' + le64(1n))), /nests deeper/);
  rejects(() => parseObjects(logObjs, deps, hex('01' + le32(21) + le64(0x5000n) + le64(1n) + '07' + le32(0))), /unknown string codec 7/);
  rejects(() => parseObjects(logObjs, deps, hex('01' + le32(22) + le64(0x5000n) + le64(1n) + '01' + le32(1) + '41')), /odd length/);
  rejects(
    () => parseDependencies(logDeps, hex('03' + le32(12) + le64(5n) + le32(1000000))),
    /declares 1000000 properties/,
  );
});

test('random garbage never escapes as anything but TransitFormatError', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  for (let round = 0; round < 2000; round++) {
    const bytes = new Uint8Array(Math.floor(rnd() * 80));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rnd() * 256);
    if (bytes.length > 0) bytes[0] = bytes[0]! % 6;
    try {
      parseBlockObjects(logDeps, logObjs, bytes, exampleObjs);
    } catch (e) {
      assert.ok(e instanceof TransitFormatError, String(e));
    }
    try {
      parseObjects(logObjs, parseDependencies(logDeps, exampleDeps), bytes);
    } catch (e) {
      assert.ok(e instanceof TransitFormatError, String(e));
    }
  }
});
