// Results of the Flight SQL metadata commands (GetTables, GetSqlInfo, GetCatalogs, GetDbSchemas,
// GetTableTypes), in the schemas the Flight SQL protocol prescribes for them.
import {
  Binary, Bool, DenseUnion, Field, Int32, Int64, List, Map_, RecordBatch, Schema, Struct, Uint32, Utf8,
  makeBuilder, makeData, vectorFromArray, type Data, type DataType, type Vector,
} from 'apache-arrow';
import { schemaToIpcMessage } from './ipc.ts';
import type { TableInfo } from './contract.ts';
import type { Msg } from './proto/index.ts';

const utf8 = (name: string, nullable = false) => new Field(name, new Utf8(), nullable);

export const catalogsSchema = new Schema([utf8('catalog_name')]);
export const dbSchemasSchema = new Schema([utf8('catalog_name', true), utf8('db_schema_name')]);
export const tableTypesSchema = new Schema([utf8('table_type')]);

export function tablesSchema(includeSchema: boolean): Schema {
  const fields: Field[] = [utf8('catalog_name', true), utf8('db_schema_name', true), utf8('table_name'), utf8('table_type')];
  if (includeSchema) fields.push(new Field('table_schema', new Binary(), false));
  return new Schema(fields);
}

const sqlInfoValueType = new DenseUnion(
  [0, 1, 2, 3, 4, 5],
  [
    new Field('string_value', new Utf8(), true),
    new Field('bool_value', new Bool(), true),
    new Field('bigint_value', new Int64(), true),
    new Field('int32_bitmask', new Int32(), true),
    new Field('string_list', new List(new Field('item', new Utf8(), true)), true),
    new Field(
      'int32_to_int32_list_map',
      new Map_(new Field('entries', new Struct<any>([new Field('key', new Int32(), false), new Field('value', new List(new Field('item', new Int32(), true)), true)]), false)),
      true,
    ),
  ],
);

export const sqlInfoSchema = new Schema([new Field('info_name', new Uint32(), false), new Field('value', sqlInfoValueType, false)]);

/** SqlInfo ids (Flight SQL SqlInfo enum) and what this server answers for them. */
export const SQL_INFO: ReadonlyMap<number, string | boolean | bigint> = new Map<number, string | boolean | bigint>([
  [0, 'Micromegas Flight SQL Server'], // FLIGHT_SQL_SERVER_NAME
  [1, '1'], // FLIGHT_SQL_SERVER_VERSION
  [2, '1.3'], // FLIGHT_SQL_SERVER_ARROW_VERSION
  [3, true], // FLIGHT_SQL_SERVER_READ_ONLY
  [4, true], // FLIGHT_SQL_SERVER_SQL
  [5, false], // FLIGHT_SQL_SERVER_SUBSTRAIT
  [9, false], // FLIGHT_SQL_SERVER_CANCEL
  [504, '"'], // SQL_IDENTIFIER_QUOTE_CHAR
]);

const col = (values: unknown[], type: DataType): Vector => vectorFromArray(values, type);

export function catalogsBatch(): RecordBatch {
  return batchOf(catalogsSchema, [col([], new Utf8())]);
}

export function dbSchemasBatch(): RecordBatch {
  return batchOf(dbSchemasSchema, [col([], new Utf8()), col([], new Utf8())]);
}

export function tableTypesBatch(): RecordBatch {
  return batchOf(tableTypesSchema, [col(['table'], new Utf8())]);
}

/** SQL LIKE with % and _ (Flight SQL filter patterns). */
export function likeToRegExp(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) re += ch === '%' ? '.*' : ch === '_' ? '.' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${re}$`, 's');
}

/** One row per global view, catalog and schema empty, type "table" (as upstream lists them). */
export function tablesBatch(cmd: Msg, tables: TableInfo[]): RecordBatch {
  const includeSchema = cmd.include_schema === true;
  const catalog = cmd.catalog as string | undefined;
  const schemaPattern = cmd.db_schema_filter_pattern as string | undefined;
  const namePattern = cmd.table_name_filter_pattern as string | undefined;
  const types = (cmd.table_types as string[] | undefined) ?? [];
  const matchesSchema = schemaPattern === undefined || likeToRegExp(schemaPattern).test('');
  const ok = (catalog === undefined || catalog === '') && matchesSchema && (types.length === 0 || types.includes('table'));
  const nameRe = namePattern === undefined ? undefined : likeToRegExp(namePattern);
  const rows = ok ? tables.filter((t) => !nameRe || nameRe.test(t.name)).sort((a, b) => a.name.localeCompare(b.name)) : [];
  const columns = [
    col(rows.map(() => ''), new Utf8()),
    col(rows.map(() => ''), new Utf8()),
    col(rows.map((t) => t.name), new Utf8()),
    col(rows.map(() => 'table'), new Utf8()),
  ];
  if (includeSchema) columns.push(col(rows.map((t) => schemaToIpcMessage(t.schema)), new Binary()));
  return batchOf(tablesSchema(includeSchema), columns);
}

export function sqlInfoBatch(cmd: Msg): RecordBatch {
  const requested = (cmd.info as number[] | undefined) ?? [];
  const ids = requested.length === 0 ? [...SQL_INFO.keys()] : requested.filter((id) => SQL_INFO.has(id));
  const names = col(ids, new Uint32());
  const builder = makeBuilder({
    type: sqlInfoValueType,
    nullValues: [],
    valueToChildTypeId: (_b: unknown, v: unknown) => (typeof v === 'string' ? 0 : typeof v === 'boolean' ? 1 : 2),
  } as never);
  for (const id of ids) builder.append(SQL_INFO.get(id) as never);
  const values = builder.finish().toVector();
  return batchOf(sqlInfoSchema, [names, values]);
}

function batchOf(schema: Schema, columns: Vector[]): RecordBatch {
  const children: Data[] = columns.map((c) => c.data[0]!);
  const length = columns[0]?.length ?? 0;
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}
