// Creates or upgrades the lakehouse catalog (lakehouse_partitions, temporary_files, query_deny_list)
// to upstream's schema version 9, step by step like upstream so a catalog left at an older version by
// upstream micromegas ends in the same state. Each step runs in its own transaction holding
// pg_advisory_xact_lock(1) (the data-lake migration uses lock 0) and re-reads the version under the
// lock, so concurrent starters serialize and the losers find the work done.
//
// Deviation from upstream: its v3 step parses the Parquet footers stored in the v2 `file_metadata`
// column to fill `num_rows`; we refuse a v1/v2 catalog holding partition files (a pre-v3 rarity)
// with an error instead of guessing row counts. Every other path ends in upstream's state.
import type { Database, SqlExecutor } from '@micromegas/lake';
import { ensureTraceIndex } from '../../otel/trace_index.ts';

export const LAKEHOUSE_SCHEMA_VERSION = 9;

/** Advisory lock id serializing lakehouse migrations (upstream's value). */
export const LAKEHOUSE_MIGRATION_LOCK = 1;

export class LakehouseMigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LakehouseMigrationError';
  }
}

type Step = (tx: SqlExecutor) => Promise<void>;

async function exec(tx: SqlExecutor, statements: string[]): Promise<void> {
  for (const sql of statements) await tx.query(sql);
}

const createV1: Step = (tx) =>
  exec(tx, [
    `CREATE TABLE lakehouse_partitions(
       view_set_name VARCHAR(255),
       view_instance_id VARCHAR(255),
       begin_insert_time TIMESTAMPTZ,
       end_insert_time TIMESTAMPTZ,
       min_event_time TIMESTAMPTZ,
       max_event_time TIMESTAMPTZ,
       updated TIMESTAMPTZ,
       file_path VARCHAR(2047),
       file_size BIGINT,
       file_schema_hash bytea,
       source_data_hash bytea)`,
    'CREATE INDEX lh_part_begin_insert ON lakehouse_partitions(view_set_name, view_instance_id, begin_insert_time)',
    'CREATE INDEX lh_part_end_insert ON lakehouse_partitions(view_set_name, view_instance_id, end_insert_time)',
    'CREATE INDEX lh_part_min_time ON lakehouse_partitions(view_set_name, view_instance_id, min_event_time)',
    'CREATE INDEX lh_part_max_time ON lakehouse_partitions(view_set_name, view_instance_id, max_event_time)',
    // Replaced partition files stay readable by in-flight queries until they expire.
    'CREATE TABLE temporary_files(file_path VARCHAR(2047), file_size BIGINT, expiration TIMESTAMPTZ)',
    'CREATE INDEX temporary_files_expiration ON temporary_files(expiration)',
    'CREATE TABLE lakehouse_migration(version integer)',
    'INSERT INTO lakehouse_migration VALUES(1)',
  ]);

const upgradeV2: Step = (tx) =>
  exec(tx, ['ALTER TABLE lakehouse_partitions ADD file_metadata bytea', 'UPDATE lakehouse_migration SET version = 2']);

const upgradeV3: Step = async (tx) => {
  // Row counts of partitions with a file exist only in their Parquet footers at this version.
  const withFiles = await tx.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM lakehouse_partitions WHERE file_path IS NOT NULL OR file_metadata IS NOT NULL',
  );
  if (withFiles.rows[0]!.n > 0) {
    throw new LakehouseMigrationError(
      `lakehouse catalog at v2 holds ${withFiles.rows[0]!.n} partitions whose row counts are not recorded; ` +
        'upgrade it with upstream micromegas (to v3 or later) first',
    );
  }
  await exec(tx, [
    'ALTER TABLE lakehouse_partitions ADD num_rows BIGINT',
    'CREATE INDEX lakehouse_partitions_file_path ON lakehouse_partitions(file_path)',
    // Only empty partitions (no file) remain.
    'UPDATE lakehouse_partitions SET num_rows = 0 WHERE num_rows IS NULL',
    'ALTER TABLE lakehouse_partitions ALTER COLUMN num_rows SET NOT NULL',
    'UPDATE lakehouse_migration SET version = 3',
  ]);
};

const upgradeV4: Step = (tx) =>
  exec(tx, [
    `CREATE TABLE partition_metadata(
       file_path VARCHAR(2047) PRIMARY KEY,
       metadata bytea NOT NULL,
       insert_time TIMESTAMPTZ NOT NULL)`,
    `INSERT INTO partition_metadata(file_path, metadata, insert_time)
       SELECT file_path, file_metadata, updated FROM lakehouse_partitions
       WHERE file_metadata IS NOT NULL AND file_path IS NOT NULL
       ON CONFLICT (file_path) DO NOTHING`,
    'ALTER TABLE lakehouse_partitions DROP COLUMN file_metadata',
    'UPDATE lakehouse_migration SET version = 4',
  ]);

const upgradeV5: Step = (tx) =>
  exec(tx, [
    // Rows written before v5 are format 1 (older Arrow); writers insert 2 explicitly.
    'ALTER TABLE lakehouse_partitions ADD COLUMN partition_format_version INTEGER NOT NULL DEFAULT 1',
    'ALTER TABLE partition_metadata ADD COLUMN partition_format_version INTEGER NOT NULL DEFAULT 1',
    'UPDATE lakehouse_migration SET version = 5',
  ]);

const upgradeV6: Step = (tx) =>
  exec(tx, ['DROP TABLE partition_metadata', 'UPDATE lakehouse_migration SET version = 6']);

interface OverlapRow {
  view_set_name: string;
  view_instance_id: string;
  file_path_a: string | null;
  file_path_b: string | null;
  begin_a: string;
  end_a: string;
  begin_b: string;
  end_b: string;
}

const upgradeV7: Step = async (tx) => {
  // NULL sort_order = "no ordering guarantee", true of every older partition: no backfill.
  await tx.query('ALTER TABLE lakehouse_partitions ADD COLUMN sort_order TEXT[]');
  await tx.query('CREATE EXTENSION IF NOT EXISTS btree_gist');
  // The exclusion constraint cannot be added NOT VALID: name the offending rows instead of letting
  // ADD CONSTRAINT fail with a bare violation. Empty ranges never overlap in tstzrange semantics.
  const conflicts = await tx.query<OverlapRow>(
    `SELECT a.view_set_name, a.view_instance_id, a.file_path AS file_path_a, b.file_path AS file_path_b,
            a.begin_insert_time AS begin_a, a.end_insert_time AS end_a,
            b.begin_insert_time AS begin_b, b.end_insert_time AS end_b
       FROM lakehouse_partitions a
       JOIN lakehouse_partitions b
         ON a.view_set_name = b.view_set_name
        AND a.view_instance_id = b.view_instance_id
        AND a.file_schema_hash = b.file_schema_hash
        AND a.ctid < b.ctid
        AND a.begin_insert_time < b.end_insert_time
        AND a.end_insert_time > b.begin_insert_time
        AND a.begin_insert_time < a.end_insert_time
        AND b.begin_insert_time < b.end_insert_time
      LIMIT 20`,
  );
  if (conflicts.rows.length > 0) {
    const lines = conflicts.rows.map(
      (r) =>
        `  ${r.view_set_name}/${r.view_instance_id}: ${r.file_path_a ?? '(empty)'} [${r.begin_a}, ${r.end_a}] ` +
        `overlaps ${r.file_path_b ?? '(empty)'} [${r.begin_b}, ${r.end_b}]`,
    );
    throw new LakehouseMigrationError(
      'lakehouse_partitions holds partitions of the same view instance and schema with overlapping insert ' +
        `ranges; retire them and restart to finish the migration (first ${lines.length} pairs):\n${lines.join('\n')}`,
    );
  }
  // Default tstzrange bounds are '[)': partitions touching at a boundary do not conflict. Scoped by
  // schema hash so old-schema partitions may coexist with new-schema ones until retired.
  await exec(tx, [
    `ALTER TABLE lakehouse_partitions ADD CONSTRAINT lakehouse_partitions_no_overlap
       EXCLUDE USING gist (
         view_set_name WITH =,
         view_instance_id WITH =,
         file_schema_hash WITH =,
         tstzrange(begin_insert_time, end_insert_time) WITH &&)`,
    'UPDATE lakehouse_migration SET version = 7',
  ]);
};

const upgradeV8: Step = (tx) =>
  exec(tx, [
    'ALTER TABLE lakehouse_partitions ADD COLUMN max_sort_key_time TIMESTAMPTZ',
    'UPDATE lakehouse_migration SET version = 8',
  ]);

const upgradeV9: Step = (tx) =>
  exec(tx, [
    `CREATE TABLE query_deny_list(
       rule_id UUID PRIMARY KEY,
       created_at TIMESTAMPTZ NOT NULL,
       created_by VARCHAR(255) NOT NULL,
       reason TEXT NOT NULL,
       match_expr TEXT NOT NULL,
       last_hit_at TIMESTAMPTZ)`,
    'UPDATE lakehouse_migration SET version = 9',
  ]);

/** STEPS[v] moves a catalog from version v to v + 1. */
const STEPS: Step[] = [createV1, upgradeV2, upgradeV3, upgradeV4, upgradeV5, upgradeV6, upgradeV7, upgradeV8, upgradeV9];

/** Reads the lakehouse schema version; 0 when the lakehouse_migration table does not exist yet. */
export async function readLakehouseSchemaVersion(db: SqlExecutor): Promise<number> {
  // Checking the catalog first keeps a missing table from aborting the surrounding transaction.
  const exists = await db.query<{ t: string | null }>("SELECT to_regclass('lakehouse_migration')::text AS t");
  if (!exists.rows[0]?.t) return 0;
  const res = await db.query<{ version: number | null }>('SELECT version FROM lakehouse_migration');
  if (res.rows.length !== 1 || typeof res.rows[0]!.version !== 'number') {
    throw new LakehouseMigrationError(`table lakehouse_migration must hold exactly one version row, found ${res.rows.length}`);
  }
  return res.rows[0]!.version;
}

/**
 * Brings the lakehouse catalog to LAKEHOUSE_SCHEMA_VERSION and returns the version found afterwards.
 * A catalog already past version 9 (a newer upstream) is left untouched and its version returned.
 */
export async function migrateLakehouse(db: Database): Promise<number> {
  for (;;) {
    const version = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [LAKEHOUSE_MIGRATION_LOCK]);
      const current = await readLakehouseSchemaVersion(tx);
      const step = STEPS[current];
      if (current >= LAKEHOUSE_SCHEMA_VERSION || step === undefined) return current;
      await step(tx);
      const after = await readLakehouseSchemaVersion(tx);
      if (after !== current + 1) throw new LakehouseMigrationError(`lakehouse migration from v${current} ended at v${after}`);
      return -1; // committed one step; loop for the next one under a fresh lock
    });
    if (version >= 0) {
      // Our additive table (not part of upstream's versioned catalog): the OTLP trace index.
      await db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [LAKEHOUSE_MIGRATION_LOCK]);
        await ensureTraceIndex(tx);
      });
      return version;
    }
  }
}
