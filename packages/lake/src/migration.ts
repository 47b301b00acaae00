// Creates or upgrades the upstream data-lake schema (processes, streams, blocks, API keys, audience
// grants) to version 7, step by step like upstream, so a lake left at an older version by upstream
// micromegas ends in the same state. Every step runs in its own transaction holding
// pg_advisory_xact_lock(0) and re-reads the version under the lock, so concurrent starters are safe.
//
// Deviation from upstream, same end state: v3 creates the three unique indexes with a plain
// CREATE UNIQUE INDEX inside the locked transaction instead of CONCURRENTLY outside of it (which
// cannot run in a transaction, and PGlite has no concurrent writers anyway). The index names,
// definitions and validity are identical; the cost is that writes to the table wait during the build.
import type { Database, SqlExecutor } from './database.ts';

export const DATA_LAKE_SCHEMA_VERSION = 7;

type Step = (tx: SqlExecutor) => Promise<void>;

async function exec(tx: SqlExecutor, statements: string[]): Promise<void> {
  for (const sql of statements) await tx.query(sql);
}

const createV1: Step = (tx) =>
  exec(tx, [
    'CREATE TYPE micromegas_property AS (key TEXT, value TEXT)',
    `CREATE TABLE processes(
       process_id UUID,
       exe VARCHAR(255),
       username VARCHAR(255),
       realname VARCHAR(255),
       computer VARCHAR(255),
       distro VARCHAR(255),
       cpu_brand VARCHAR(255),
       tsc_frequency BIGINT,
       start_time TIMESTAMPTZ,
       start_ticks BIGINT,
       insert_time TIMESTAMPTZ,
       parent_process_id UUID,
       properties micromegas_property[])`,
    'CREATE INDEX process_id ON processes(process_id)',
    'CREATE INDEX parent_process_id ON processes(parent_process_id)',
    'CREATE INDEX process_start_time ON processes(start_time)',
    `CREATE TABLE streams(
       stream_id UUID,
       process_id UUID,
       dependencies_metadata BYTEA,
       objects_metadata BYTEA,
       tags TEXT[],
       properties micromegas_property[],
       insert_time TIMESTAMPTZ)`,
    'CREATE INDEX stream_id ON streams(stream_id)',
    'CREATE INDEX stream_process_id ON streams(process_id)',
    'CREATE INDEX stream_insert_time ON streams(insert_time)',
    `CREATE TABLE blocks(
       block_id UUID,
       stream_id UUID,
       process_id UUID,
       begin_time TIMESTAMPTZ,
       begin_ticks BIGINT,
       end_time TIMESTAMPTZ,
       end_ticks BIGINT,
       nb_objects INT,
       object_offset BIGINT,
       payload_size BIGINT)`,
    'CREATE INDEX block_id ON blocks(block_id)',
    'CREATE INDEX block_stream_id ON blocks(stream_id)',
    'CREATE TABLE migration(version integer)',
    'INSERT INTO migration VALUES(1)',
  ]);

const upgradeV2: Step = (tx) =>
  exec(tx, [
    'ALTER TABLE blocks ADD insert_time TIMESTAMPTZ',
    // Blocks written before v2 have no insert time; their end time is the best known approximation.
    'UPDATE blocks SET insert_time = end_time WHERE insert_time IS NULL',
    'CREATE INDEX block_begin_time ON blocks(begin_time)',
    'CREATE INDEX block_end_time ON blocks(end_time)',
    'CREATE INDEX block_insert_time ON blocks(insert_time)',
    'CREATE INDEX process_insert_time ON processes(insert_time)',
    'UPDATE migration SET version = 2',
  ]);

const upgradeV3: Step = (tx) =>
  exec(tx, [
    // IF NOT EXISTS: upstream may have built them concurrently before failing to record version 3.
    'CREATE UNIQUE INDEX IF NOT EXISTS processes_process_id_unique ON processes(process_id)',
    'CREATE UNIQUE INDEX IF NOT EXISTS streams_stream_id_unique ON streams(stream_id)',
    'CREATE UNIQUE INDEX IF NOT EXISTS blocks_block_id_unique ON blocks(block_id)',
    'DROP INDEX IF EXISTS process_id',
    'DROP INDEX IF EXISTS stream_id',
    'DROP INDEX IF EXISTS block_id',
    'UPDATE migration SET version = 3',
  ]);

const upgradeV4: Step = (tx) =>
  exec(tx, [
    "ALTER TABLE streams ADD COLUMN format TEXT NOT NULL DEFAULT 'micromegas-transit'",
    'UPDATE migration SET version = 4',
  ]);

const apiKeysTable = (name: string) => `CREATE TABLE ${name} (
       key_id UUID PRIMARY KEY,
       key_hash BYTEA NOT NULL,
       name VARCHAR(255) NOT NULL,
       created_at TIMESTAMPTZ NOT NULL,
       created_by VARCHAR(255) NOT NULL,
       last_used_at TIMESTAMPTZ,
       revoked_at TIMESTAMPTZ,
       revoked_by VARCHAR(255))`;

const upgradeV5: Step = (tx) =>
  exec(tx, [
    apiKeysTable('ingestion_api_keys'),
    'CREATE UNIQUE INDEX ingestion_api_keys_key_hash ON ingestion_api_keys(key_hash)',
    apiKeysTable('analytics_api_keys'),
    'CREATE UNIQUE INDEX analytics_api_keys_key_hash ON analytics_api_keys(key_hash)',
    'UPDATE migration SET version = 5',
  ]);

const upgradeV6: Step = (tx) =>
  exec(tx, [
    'ALTER TABLE ingestion_api_keys ADD COLUMN audience VARCHAR(255)',
    // Keys minted before audiences existed were visible to everyone: 'public' describes them exactly.
    "UPDATE ingestion_api_keys SET audience = 'public' WHERE audience IS NULL",
    'ALTER TABLE ingestion_api_keys ALTER COLUMN audience SET NOT NULL',
    "ALTER TABLE ingestion_api_keys ADD CONSTRAINT ingestion_api_keys_audience_name CHECK (audience ~ '^[A-Za-z0-9_-]+$')",
    'UPDATE migration SET version = 6',
  ]);

const upgradeV7: Step = (tx) =>
  exec(tx, [
    `CREATE TABLE audience_grants (
       audience VARCHAR(255) NOT NULL,
       axis VARCHAR(4) NOT NULL CHECK (axis IN ('read', 'mint')),
       selector VARCHAR(255) NOT NULL,
       created_at TIMESTAMPTZ NOT NULL,
       created_by VARCHAR(255) NOT NULL,
       PRIMARY KEY (audience, axis, selector),
       CONSTRAINT audience_grants_audience_name CHECK (audience ~ '^[A-Za-z0-9_-]+$'),
       CONSTRAINT audience_grants_selector_shape CHECK (selector = '*' OR selector ~ '^(user|group):.+$'))`,
    'UPDATE migration SET version = 7',
  ]);

/** STEPS[v] moves a database from version v to v + 1. */
const STEPS: Step[] = [createV1, upgradeV2, upgradeV3, upgradeV4, upgradeV5, upgradeV6, upgradeV7];

/** Reads the data-lake schema version; 0 when the migration table does not exist yet. */
export async function readDataLakeSchemaVersion(db: SqlExecutor): Promise<number> {
  // Checking the catalog first keeps a missing table from aborting the surrounding transaction.
  const exists = await db.query<{ t: string | null }>("SELECT to_regclass('migration')::text AS t");
  if (!exists.rows[0]?.t) return 0;
  const res = await db.query<{ version: number | null }>('SELECT version FROM migration');
  if (res.rows.length !== 1 || typeof res.rows[0]!.version !== 'number') {
    throw new Error(`table migration must hold exactly one version row, found ${res.rows.length}`);
  }
  return res.rows[0]!.version;
}

/**
 * Brings the data-lake schema to DATA_LAKE_SCHEMA_VERSION and returns the version found afterwards.
 * A database already past version 7 (a newer upstream) is left untouched and its version returned.
 */
export async function migrateDataLake(db: Database): Promise<number> {
  for (;;) {
    const version = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(0)');
      const current = await readDataLakeSchemaVersion(tx);
      const step = STEPS[current];
      if (current >= DATA_LAKE_SCHEMA_VERSION || step === undefined) return current;
      await step(tx);
      const after = await readDataLakeSchemaVersion(tx);
      if (after !== current + 1) throw new Error(`data lake migration from v${current} ended at v${after}`);
      return -1; // committed one step; loop for the next one under a fresh lock
    });
    if (version >= 0) return version;
  }
}
