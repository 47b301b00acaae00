import { UsageError, type CommandBody } from '../command.ts';
import type { FlightSqlClient } from '@micromegas/client';
import { CONNECTION_ENVIRONMENT, CONNECTION_OPTIONS, EXIT, RANGE_OPTIONS, parsePositiveInt, parseRange, withClient } from '../client/options.ts';
import { FORMATS, Output, chooseFormat, writeResult, type Format, type WriteOptions } from '../client/output.ts';
import type { Spinner } from '../client/spinner.ts';

export const queryCommand: CommandBody = {
  positionals: '<sql>',
  description:
    'The result is an aligned table on a terminal and JSON lines (one object per row) when stdout is\n' +
    'piped or redirected; --format or the --output extension (.csv, .json, .parquet) chooses otherwise.\n' +
    'Timestamps are RFC 3339 UTC with nanoseconds; null is an empty CSV field and JSON null.\n' +
    'Exit codes: 0 ok, 1 query or server error, 2 usage, 3 server unreachable, 4 authentication refused.',
  options: {
    ...RANGE_OPTIONS(),
    format: { type: 'string', short: 'f', valueName: FORMATS.join('|'), description: 'output format', defaultText: 'table on a terminal, else json' },
    output: { type: 'string', short: 'o', valueName: 'file', description: 'write the result to this file' },
    'max-colwidth': { type: 'string', valueName: 'n', description: 'table format: clip cells to this many characters', defaultText: '80' },
    ...CONNECTION_OPTIONS,
  },
  environment: CONNECTION_ENVIRONMENT,
  async run(values, positionals) {
    const sql = positionals.join(' ').trim();
    if (!sql) throw new UsageError('query: missing SQL (see: micromegas query --help)');
    const output = values.output as string | undefined;
    const format = chooseFormat(values.format as string | undefined, output);
    if (format === 'parquet' && !output && process.stdout.isTTY) throw new UsageError('--format parquet: give --output FILE or redirect stdout');
    const maxColWidth = parsePositiveInt(values['max-colwidth'] as string | undefined, '--max-colwidth', 80);
    const { begin, end } = parseRange(values);
    return withClient(values, 'cli-query', async (client, spinner) => {
      // Batches stream to csv/json outputs as they come; the spinner stays until the last one.
      const rows = await writeQuery(client, spinner, sql, begin, end, format, output, { maxColWidth, onRows: (n) => spinner.note(`${n} rows`) });
      if (output && process.stderr.isTTY) process.stderr.write(`${rows} rows written to ${output}\n`);
      else if (format === 'table' && process.stdout.isTTY) process.stdout.write(`(${rows} row${rows === 1 ? '' : 's'})\n`);
      return EXIT.ok;
    });
  },
};

/** Runs `sql` and writes its result to `output` (stdout without one); the spinner stops at the end. */
export async function writeQuery(
  client: FlightSqlClient, spinner: Spinner, sql: string, begin: bigint | undefined, end: bigint | undefined, format: Format, output: string | undefined,
  options: WriteOptions = {},
): Promise<number> {
  const reader = await client.queryReader(sql, begin, end);
  const out = new Output(output);
  const rows = await writeResult(out, format, reader.schema, reader.batches, options);
  spinner.stop();
  await out.close();
  return rows;
}
