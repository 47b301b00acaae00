// Reads the parts of a database schema that upstream readers depend on, in a comparable form.
import type { SqlExecutor } from '../src/index.ts';

export interface SchemaSnapshot {
  columns: Record<string, string[]>;
  indexes: string[];
  constraints: string[];
  types: string[];
}

export const DATA_LAKE_TABLES = [
  'processes',
  'streams',
  'blocks',
  'migration',
  'ingestion_api_keys',
  'analytics_api_keys',
  'audience_grants',
];

export async function schemaSnapshot(db: SqlExecutor): Promise<SchemaSnapshot> {
  const columns: Record<string, string[]> = {};
  const cols = await db.query<{ table: string; col: string; type: string; notnull: boolean; def: string | null }>(
    `SELECT c.relname AS table, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS def
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
  );
  for (const r of cols.rows) {
    (columns[r.table] ??= []).push(`${r.col} ${r.type}${r.notnull ? ' NOT NULL' : ''}${r.def ? ` DEFAULT ${r.def}` : ''}`);
  }
  const idx = await db.query<{ indexdef: string; valid: boolean }>(
    `SELECT i.indexdef, x.indisvalid AS valid
       FROM pg_indexes i
       JOIN pg_class c ON c.relname = i.indexname
       JOIN pg_index x ON x.indexrelid = c.oid
      WHERE i.schemaname = 'public' ORDER BY i.indexname`,
  );
  const indexes = idx.rows.map((r) => (r.valid ? r.indexdef : `INVALID ${r.indexdef}`));
  const cons = await db.query<{ table: string; name: string; def: string }>(
    `SELECT c.relname AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS def
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND k.contype <> 'n' ORDER BY c.relname, k.conname`,
  );
  const constraints = cons.rows.map((r) => `${r.table}.${r.name} ${r.def}`);
  const ty = await db.query<{ name: string; attrs: string }>(
    `SELECT t.typname AS name,
            string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) AS attrs
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
       JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
      WHERE n.nspname = 'public' GROUP BY t.typname ORDER BY t.typname`,
  );
  const types = ty.rows.map((r) => `${r.name}(${r.attrs})`);
  return { columns, indexes, constraints, types };
}

const V255 = 'character varying(255)';
const TSZ = 'timestamp with time zone';

/** The upstream data-lake schema version 7 (ingestion-protocol.md §6.1), written out by hand. */
export const EXPECTED_V7: SchemaSnapshot = {
  columns: {
    analytics_api_keys: [
      'key_id uuid NOT NULL',
      'key_hash bytea NOT NULL',
      `name ${V255} NOT NULL`,
      `created_at ${TSZ} NOT NULL`,
      `created_by ${V255} NOT NULL`,
      `last_used_at ${TSZ}`,
      `revoked_at ${TSZ}`,
      `revoked_by ${V255}`,
    ],
    audience_grants: [
      `audience ${V255} NOT NULL`,
      'axis character varying(4) NOT NULL',
      `selector ${V255} NOT NULL`,
      `created_at ${TSZ} NOT NULL`,
      `created_by ${V255} NOT NULL`,
    ],
    blocks: [
      'block_id uuid',
      'stream_id uuid',
      'process_id uuid',
      `begin_time ${TSZ}`,
      'begin_ticks bigint',
      `end_time ${TSZ}`,
      'end_ticks bigint',
      'nb_objects integer',
      'object_offset bigint',
      'payload_size bigint',
      `insert_time ${TSZ}`,
    ],
    ingestion_api_keys: [
      'key_id uuid NOT NULL',
      'key_hash bytea NOT NULL',
      `name ${V255} NOT NULL`,
      `created_at ${TSZ} NOT NULL`,
      `created_by ${V255} NOT NULL`,
      `last_used_at ${TSZ}`,
      `revoked_at ${TSZ}`,
      `revoked_by ${V255}`,
      `audience ${V255} NOT NULL`,
    ],
    migration: ['version integer'],
    processes: [
      'process_id uuid',
      `exe ${V255}`,
      `username ${V255}`,
      `realname ${V255}`,
      `computer ${V255}`,
      `distro ${V255}`,
      `cpu_brand ${V255}`,
      'tsc_frequency bigint',
      `start_time ${TSZ}`,
      'start_ticks bigint',
      `insert_time ${TSZ}`,
      'parent_process_id uuid',
      'properties micromegas_property[]',
    ],
    streams: [
      'stream_id uuid',
      'process_id uuid',
      'dependencies_metadata bytea',
      'objects_metadata bytea',
      'tags text[]',
      'properties micromegas_property[]',
      `insert_time ${TSZ}`,
      "format text NOT NULL DEFAULT 'micromegas-transit'::text",
    ],
  },
  indexes: [
    'CREATE UNIQUE INDEX analytics_api_keys_key_hash ON public.analytics_api_keys USING btree (key_hash)',
    'CREATE UNIQUE INDEX analytics_api_keys_pkey ON public.analytics_api_keys USING btree (key_id)',
    'CREATE UNIQUE INDEX audience_grants_pkey ON public.audience_grants USING btree (audience, axis, selector)',
    'CREATE INDEX block_begin_time ON public.blocks USING btree (begin_time)',
    'CREATE INDEX block_end_time ON public.blocks USING btree (end_time)',
    'CREATE INDEX block_insert_time ON public.blocks USING btree (insert_time)',
    'CREATE INDEX block_stream_id ON public.blocks USING btree (stream_id)',
    'CREATE UNIQUE INDEX blocks_block_id_unique ON public.blocks USING btree (block_id)',
    'CREATE UNIQUE INDEX ingestion_api_keys_key_hash ON public.ingestion_api_keys USING btree (key_hash)',
    'CREATE UNIQUE INDEX ingestion_api_keys_pkey ON public.ingestion_api_keys USING btree (key_id)',
    'CREATE INDEX parent_process_id ON public.processes USING btree (parent_process_id)',
    'CREATE INDEX process_insert_time ON public.processes USING btree (insert_time)',
    'CREATE INDEX process_start_time ON public.processes USING btree (start_time)',
    'CREATE UNIQUE INDEX processes_process_id_unique ON public.processes USING btree (process_id)',
    'CREATE INDEX stream_insert_time ON public.streams USING btree (insert_time)',
    'CREATE INDEX stream_process_id ON public.streams USING btree (process_id)',
    'CREATE UNIQUE INDEX streams_stream_id_unique ON public.streams USING btree (stream_id)',
  ],
  constraints: [
    'analytics_api_keys.analytics_api_keys_pkey PRIMARY KEY (key_id)',
    "audience_grants.audience_grants_audience_name CHECK (((audience)::text ~ '^[A-Za-z0-9_-]+$'::text))",
    "audience_grants.audience_grants_axis_check CHECK (((axis)::text = ANY ((ARRAY['read'::character varying, 'mint'::character varying])::text[])))",
    'audience_grants.audience_grants_pkey PRIMARY KEY (audience, axis, selector)',
    "audience_grants.audience_grants_selector_shape CHECK ((((selector)::text = '*'::text) OR ((selector)::text ~ '^(user|group):.+$'::text)))",
    "ingestion_api_keys.ingestion_api_keys_audience_name CHECK (((audience)::text ~ '^[A-Za-z0-9_-]+$'::text))",
    'ingestion_api_keys.ingestion_api_keys_pkey PRIMARY KEY (key_id)',
  ],
  types: ['micromegas_property(key text, value text)'],
};

/** The upstream v1 schema, created by hand the way an old upstream deployment left it. */
export const UPSTREAM_V1_STATEMENTS = [
  'CREATE TYPE micromegas_property as (key TEXT, value TEXT)',
  `CREATE TABLE processes(process_id UUID, exe VARCHAR(255), username VARCHAR(255), realname VARCHAR(255),
     computer VARCHAR(255), distro VARCHAR(255), cpu_brand VARCHAR(255), tsc_frequency BIGINT,
     start_time TIMESTAMPTZ, start_ticks BIGINT, insert_time TIMESTAMPTZ, parent_process_id UUID,
     properties micromegas_property[])`,
  'CREATE INDEX process_id on processes(process_id)',
  'CREATE INDEX parent_process_id on processes(parent_process_id)',
  'CREATE INDEX process_start_time on processes(start_time)',
  `CREATE TABLE streams(stream_id UUID, process_id UUID, dependencies_metadata BYTEA, objects_metadata BYTEA,
     tags TEXT[], properties micromegas_property[], insert_time TIMESTAMPTZ)`,
  'CREATE INDEX stream_id on streams(stream_id)',
  'CREATE INDEX stream_process_id on streams(process_id)',
  'CREATE INDEX stream_insert_time on streams(insert_time)',
  `CREATE TABLE blocks(block_id UUID, stream_id UUID, process_id UUID, begin_time TIMESTAMPTZ, begin_ticks BIGINT,
     end_time TIMESTAMPTZ, end_ticks BIGINT, nb_objects INT, object_offset BIGINT, payload_size BIGINT)`,
  'CREATE INDEX block_id on blocks(block_id)',
  'CREATE INDEX block_stream_id on blocks(stream_id)',
  'CREATE table migration(version integer)',
  'INSERT INTO migration VALUES(1)',
];
