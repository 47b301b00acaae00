import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openObjectStore, type Database } from '@micromegas/lake';
import { openTestDatabase } from '@micromegas/lake/testing';
import { parseTimestampNanos, type Nanos } from '../src/time.ts';
import {
  hashToObjectCount,
  insertPartition,
  listOverlappingPartitions,
  listPartitions,
  listPartitionsInInsertRange,
  migrateLakehouse,
  objectCountHash,
  PARTITION_FORMAT_VERSION,
  partitionLockKey,
  PartitionOverlapError,
  retireIncompatiblePartitions,
  retirePartitionByFile,
  retirePartitions,
  type Partition,
} from '../src/lakehouse/catalog/index.ts';

const HOUR = 3_600_000_000_000n;
const T0 = parseTimestampNanos('2024-05-01T00:00:00Z');
const SCHEMA = new Uint8Array([3]);
let fileCounter = 0;

/** A non-empty partition of `set` covering [T0 + b h, T0 + e h] (hours may be fractional via ns). */
function part(set: string, begin: Nanos, end: Nanos, extra: Partial<Partition> = {}): Partition {
  return {
    viewSetName: set,
    viewInstanceId: 'global',
    beginInsertTime: begin,
    endInsertTime: end,
    minEventTime: begin - 5_000n,
    maxEventTime: end + 7_000n,
    updated: T0 + 100n * HOUR,
    filePath: `views/${set}/global/f${++fileCounter}.parquet`,
    fileSize: 1234n,
    fileSchemaHash: SCHEMA,
    sourceDataHash: objectCountHash(10),
    numRows: 10n,
    sortOrder: null,
    maxSortKeyTime: null,
    ...extra,
  };
}

function emptyPart(set: string, begin: Nanos, end: Nanos): Partition {
  return part(set, begin, end, { filePath: null, fileSize: 0n, numRows: 0n, minEventTime: null, maxEventTime: null });
}

const h = (n: number | bigint) => T0 + BigInt(n) * HOUR;

async function paths(db: Database, set: string): Promise<(string | null)[]> {
  return (await listPartitions(db, set, 'global')).map((p) => p.filePath);
}

async function temporaryFiles(db: Database): Promise<Map<string, string>> {
  const res = await db.query<{ file_path: string; expiration: string }>('SELECT file_path, expiration FROM temporary_files');
  return new Map(res.rows.map((r) => [r.file_path, r.expiration]));
}

test('source hash helpers encode the object count as a little-endian i64', () => {
  assert.deepEqual([...objectCountHash(258)], [2, 1, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...objectCountHash(-1n)], [255, 255, 255, 255, 255, 255, 255, 255]);
  assert.equal(hashToObjectCount(objectCountHash(2n ** 62n + 5n)), 2n ** 62n + 5n);
  assert.equal(hashToObjectCount(objectCountHash(-7)), -7n);
  const offset = new Uint8Array(12);
  offset.set(objectCountHash(99), 4);
  assert.equal(hashToObjectCount(offset.subarray(4)), 99n);
  assert.throws(() => hashToObjectCount(new Uint8Array(20)), RangeError);
  assert.notEqual(partitionLockKey('a', 'b', 1n, 2n), partitionLockKey('a', 'b', 1n, 3n));
  assert.equal(partitionLockKey('a', 'b', 1n, 2n), partitionLockKey('a', 'b', 1n, 2n));
  assert.ok(partitionLockKey('ab', '', 1n, 2n) !== partitionLockKey('a', 'b', 1n, 2n));
});

const backends = (['postgres', 'pglite'] as const).map((kind) => ({
  kind,
  async open(): Promise<{ db: Database; done: () => Promise<void> }> {
    const t = await openTestDatabase(kind, 'mm_catalog_parts');
    return { db: t.db, done: t.drop };
  },
}));

for (const backend of backends) {
  describe(`lakehouse partitions on ${backend.kind}`, () => {
    let db: Database;
    let done: () => Promise<void>;
    before(async () => {
      ({ db, done } = await backend.open());
      await migrateLakehouse(db);
    });
    after(async () => done?.());

    test('a partition reads back exactly as written', async () => {
      const p = part('roundtrip', h(0), h(1) + 1_000n, {
        sortOrder: ['insert_time', 'a "quoted", name'],
        maxSortKeyTime: h(1) - 3_000n,
        sourceDataHash: objectCountHash(2n ** 40n),
        fileSize: 2n ** 40n,
        numRows: 2n ** 53n + 1n,
      });
      assert.deepEqual(await insertPartition(db, p, 'containment'), []);
      const [back] = await listPartitions(db, 'roundtrip', 'global');
      assert.deepEqual(back, { ...p, partitionFormatVersion: PARTITION_FORMAT_VERSION });
      const version = await db.query('SELECT partition_format_version AS v FROM lakehouse_partitions WHERE view_set_name = $1', [
        'roundtrip',
      ]);
      assert.deepEqual(version.rows, [{ v: 2 }]);
    });

    test('empty partitions have no file, no rows and no event range', async () => {
      await insertPartition(db, emptyPart('empty', h(0), h(1)), 'containment');
      const [back] = await listPartitions(db, 'empty', 'global');
      assert.equal(back!.filePath, null);
      assert.equal(back!.fileSize, 0n);
      assert.equal(back!.numRows, 0n);
      assert.equal(back!.minEventTime, null);
      assert.equal(back!.maxEventTime, null);
      // replacing it schedules no file for deletion
      const before = await temporaryFiles(db);
      const retired = await insertPartition(db, part('empty', h(0), h(1)), 'containment');
      assert.deepEqual(retired, [{ filePath: null, fileSize: 0n }]);
      assert.deepEqual(await temporaryFiles(db), before);
      // an event-range query never returns empty partitions
      await insertPartition(db, emptyPart('empty', h(1), h(2)), 'containment');
      const byEvent = await listPartitions(db, 'empty', 'global', { eventRange: { begin: h(-10), end: h(10) } });
      assert.equal(byEvent.length, 1);
      assert.notEqual(byEvent[0]!.filePath, null);
    });

    test('inconsistent partitions are refused before touching the catalog', async () => {
      await assert.rejects(insertPartition(db, part('bad', h(0), h(1), { filePath: null }), 'containment'), RangeError);
      await assert.rejects(insertPartition(db, part('bad', h(0), h(1), { maxEventTime: null }), 'containment'), RangeError);
      await assert.rejects(insertPartition(db, part('bad', h(1), h(0)), 'containment'), RangeError);
      await assert.rejects(
        insertPartition(db, part('bad', h(0), h(1), { sourceDataHash: new Uint8Array(20) }), 'containment'),
        RangeError,
      );
      assert.deepEqual(await paths(db, 'bad'), []);
    });

    test('containment retires contained partitions and moves their files to temporary_files', async () => {
      const hourly = [part('cont', h(0), h(1)), part('cont', h(1), h(2))];
      for (const p of hourly) await insertPartition(db, p, 'containment');
      const neighbour = part('cont', h(2), h(3));
      await insertPartition(db, neighbour, 'containment'); // touches h(2): not an overlap
      const other = { ...part('cont', h(0), h(2)), viewInstanceId: 'other' };
      await insertPartition(db, other, 'containment');
      const beforeInsert = BigInt(Date.now()) * 1_000_000n;
      const merged = part('cont', h(0), h(2));
      const retired = await insertPartition(db, merged, 'containment');
      assert.deepEqual(
        retired.map((r) => r.filePath).sort(),
        hourly.map((p) => p.filePath).sort(),
      );
      assert.deepEqual(await paths(db, 'cont'), [merged.filePath, neighbour.filePath]);
      assert.equal((await listPartitions(db, 'cont', 'other')).length, 1);
      const temp = await temporaryFiles(db);
      for (const p of hourly) {
        const expiration = parseTimestampNanos(temp.get(p.filePath!)!);
        assert.ok(expiration >= beforeInsert + HOUR && expiration <= BigInt(Date.now()) * 1_000_000n + HOUR);
      }
      // re-writing the same range replaces the partition itself
      const rewrite = part('cont', h(0), h(2));
      assert.deepEqual((await insertPartition(db, rewrite, 'containment')).map((r) => r.filePath), [merged.filePath]);
    });

    test('an overlap that containment does not replace is a PartitionOverlapError and changes nothing', async () => {
      const daily = part('clash', h(0), h(24));
      await insertPartition(db, daily, 'containment');
      const temp = await temporaryFiles(db);
      const store = openObjectStore('memory://catalog-orphans');
      const wider = part('clash', h(12), h(36));
      await store.putIfAbsent(wider.filePath!, new Uint8Array([1]));
      await store.putIfAbsent(daily.filePath!, new Uint8Array([2]));
      await assert.rejects(insertPartition(db, wider, 'containment', { store }), (e: unknown) => {
        assert.ok(e instanceof PartitionOverlapError, String(e));
        assert.match(e.message, /clash\/global/);
        return true;
      });
      assert.deepEqual(await paths(db, 'clash'), [daily.filePath]);
      assert.deepEqual(await temporaryFiles(db), temp);
      assert.equal(await store.get(wider.filePath!), undefined, 'the unreferenced new file was deleted');
      // a file the catalog references is never deleted by the cleanup
      await assert.rejects(insertPartition(db, { ...wider, filePath: daily.filePath }, 'containment', { store }), PartitionOverlapError);
      assert.deepEqual(await store.get(daily.filePath!), new Uint8Array([2]));
      // a smaller partition inside the daily one is an overlap too (containment never retires wider ones)
      await assert.rejects(insertPartition(db, part('clash', h(1), h(2)), 'containment'), PartitionOverlapError);
    });

    test('other schema hashes may overlap; containment retires them regardless of schema', async () => {
      const old = part('schema', h(0), h(24), { fileSchemaHash: new Uint8Array([1]) });
      await insertPartition(db, old, 'containment');
      const hourly = part('schema', h(0), h(1));
      assert.deepEqual(await insertPartition(db, hourly, 'containment'), []);
      assert.deepEqual(await paths(db, 'schema'), [old.filePath, hourly.filePath]);
      const current = await listPartitions(db, 'schema', 'global', { schemaHash: SCHEMA });
      assert.deepEqual(current.map((p) => p.filePath), [hourly.filePath]);
      const daily = part('schema', h(0), h(24));
      const retired = await insertPartition(db, daily, 'containment');
      assert.deepEqual(retired.map((r) => r.filePath).sort(), [old.filePath, hourly.filePath].sort());
    });

    test('single-instant partitions: exact match under containment, inclusive under overlap', async () => {
      const t = h(5);
      const instant = part('instant', t, t);
      await insertPartition(db, instant, 'containment');
      const again = part('instant', t, t);
      assert.deepEqual((await insertPartition(db, again, 'containment')).map((r) => r.filePath), [instant.filePath]);
      // a range starting at t contains [t, t]
      const range = part('instant', t, t + HOUR);
      assert.deepEqual((await insertPartition(db, range, 'containment')).map((r) => r.filePath), [again.filePath]);
      // containment of a single instant inside an existing range matches nothing, and [t, t] is an
      // empty tstzrange, so the exclusion constraint lets both coexist (upstream behaviour)
      const inside = part('instant', t + 1_000n, t + 1_000n);
      assert.deepEqual(await insertPartition(db, inside, 'containment'), []);
      assert.deepEqual(await paths(db, 'instant'), [range.filePath, inside.filePath]);
      // under overlap the instant intersects the range (inclusive bounds) and replaces it
      const inside2 = part('instant', t + 1_000n, t + 1_000n);
      assert.deepEqual(
        (await insertPartition(db, inside2, 'overlap')).map((r) => r.filePath).sort(),
        [range.filePath, inside.filePath].sort(),
      );
      assert.deepEqual(await paths(db, 'instant'), [inside2.filePath]);
    });

    test('overlap retires intersecting and touching partitions, except same-run ranges', async () => {
      const a = part('ovl', h(0), h(2));
      const b = part('ovl', h(3), h(4));
      const c = part('ovl', h(4), h(6)); // touches b at h(4)
      const d = part('ovl', h(7), h(8));
      for (const p of [a, b, c, d]) await insertPartition(db, p, 'containment');
      const n = part('ovl', h(1), h(3));
      assert.deepEqual((await insertPartition(db, n, 'overlap')).map((r) => r.filePath).sort(), [a.filePath, b.filePath].sort());
      assert.deepEqual(await paths(db, 'ovl'), [n.filePath, c.filePath, d.filePath]);
      // c and the new range share h(6): c is kept because this run already wrote exactly c's range
      const m = part('ovl', h(6), h(7) - 1_000n); // 1 µs short of d: the catalog keeps µs
      const retired = await insertPartition(db, m, 'overlap', { sameRunRanges: [{ begin: h(4), end: h(6) }] });
      assert.deepEqual(retired, []);
      assert.deepEqual(await paths(db, 'ovl'), [n.filePath, c.filePath, m.filePath, d.filePath]);
    });

    test('listing filters by insert range, event range and schema', async () => {
      const ps = [part('list', h(0), h(1)), part('list', h(1), h(2)), part('list', h(2), h(3), { fileSchemaHash: new Uint8Array([9]) })];
      for (const p of ps) await insertPartition(db, p, 'containment');
      const strict = await listPartitions(db, 'list', 'global', { insertRange: { begin: h(1), end: h(2) } });
      assert.deepEqual(strict.map((p) => p.filePath), [ps[1]!.filePath]);
      const overlapping = await listOverlappingPartitions(db, 'list', 'global', h(1), h(2));
      assert.deepEqual(overlapping.map((p) => p.filePath), [ps[1]!.filePath]);
      const inclusive = await listOverlappingPartitions(db, 'list', 'global', h(1), h(2), { inclusive: true });
      assert.deepEqual(inclusive.map((p) => p.filePath), ps.map((p) => p.filePath));
      const inclusiveSchema = await listOverlappingPartitions(db, 'list', 'global', h(1), h(2), {
        inclusive: true,
        schemaHash: SCHEMA,
      });
      assert.deepEqual(inclusiveSchema.map((p) => p.filePath), [ps[0]!.filePath, ps[1]!.filePath]);
      // event ranges are [begin - 5 µs, end + 7 µs]
      const byEvent = await listPartitions(db, 'list', 'global', { eventRange: { begin: h(2) + 7_000n, end: h(2) + 8_000n } });
      assert.deepEqual(byEvent.map((p) => p.filePath), [ps[1]!.filePath, ps[2]!.filePath]);
      const byEventSchema = await listPartitions(db, 'list', 'global', {
        eventRange: { begin: h(2) + 7_000n, end: h(3) },
        schemaHash: SCHEMA,
      });
      assert.deepEqual(byEventSchema.map((p) => p.filePath), [ps[1]!.filePath]);
      const all = await listPartitionsInInsertRange(db, h(0) + 1n, h(0) + 2_000n);
      assert.ok(all.some((p) => p.filePath === ps[0]!.filePath));
      assert.ok(all.every((p) => p.beginInsertTime < h(0) + 2_000n && p.endInsertTime > h(0) + 1n));
      assert.ok(new Set(all.map((p) => p.viewSetName)).size > 1, 'spans view sets');
    });

    test('retire by range, by file and by incompatible schema', async () => {
      const ps = [
        part('ret', h(0), h(1)),
        emptyPart('ret', h(1), h(2)),
        part('ret', h(2), h(4)),
        part('ret', h(4), h(5), { fileSchemaHash: new Uint8Array([7]) }),
        { ...part('ret', h(0), h(5), { fileSchemaHash: new Uint8Array([8]) }), viewInstanceId: 'p1' },
      ];
      for (const p of ps) await insertPartition(db, p, 'containment');
      const byRange = await retirePartitions(db, 'ret', 'global', h(0), h(3));
      assert.deepEqual(byRange.map((r) => r.filePath).sort(), [ps[0]!.filePath, null].sort());
      assert.deepEqual(await paths(db, 'ret'), [ps[2]!.filePath, ps[3]!.filePath]);
      assert.equal(await retirePartitionByFile(db, ps[2]!.filePath!), true);
      assert.equal(await retirePartitionByFile(db, ps[2]!.filePath!), false);
      assert.deepEqual(await paths(db, 'ret'), [ps[3]!.filePath]);
      const incompatible = await retireIncompatiblePartitions(db, 'ret', SCHEMA);
      assert.deepEqual(incompatible.map((r) => r.filePath).sort(), [ps[3]!.filePath, ps[4]!.filePath].sort());
      assert.deepEqual(await paths(db, 'ret'), []);
      assert.deepEqual(await listPartitions(db, 'ret', 'p1'), []);
      const temp = await temporaryFiles(db);
      for (const p of [ps[0], ps[2], ps[3], ps[4]]) assert.ok(temp.has(p!.filePath!), p!.filePath!);
    });

    if (backend.kind === 'postgres') {
      test('concurrent writers: same range serializes, overlapping ranges lose with PartitionOverlapError', async () => {
        const same = await Promise.allSettled([0, 1, 2, 3].map(() => insertPartition(db, part('race', h(0), h(1)), 'containment')));
        assert.deepEqual(same.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
        assert.equal((await paths(db, 'race')).length, 1);
        const clash = await Promise.allSettled([
          insertPartition(db, part('race2', h(0), h(2)), 'containment'),
          insertPartition(db, part('race2', h(1), h(3)), 'containment'),
        ]);
        assert.deepEqual(clash.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
        const failure = clash.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        assert.ok(failure.reason instanceof PartitionOverlapError, String(failure.reason));
        assert.equal((await paths(db, 'race2')).length, 1);
      });
    }
  });
}
