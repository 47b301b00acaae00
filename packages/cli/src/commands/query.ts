import { UsageError, type CommandBody } from '../command.ts';
import { CONNECTION_ENVIRONMENT, CONNECTION_OPTIONS, EXIT, RANGE_OPTIONS, openClient, parsePositiveInt, parseRange, reportError } from '../client/options.ts';
import { FORMATS, Output, chooseFormat, writeResult } from '../client/output.ts';
import { startSpinner } from '../client/spinner.ts';

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
    const client = openClient(values, 'cli-query');
    const spinner = startSpinner('querying');
    try {
      const reader = await client.queryReader(sql, begin, end);
      const out = new Output(output);
      // Batches stream to csv/json outputs as they come; the spinner stays until the last one.
      const rows = await writeResult(out, format, reader.schema, reader.batches, { maxColWidth, onRows: (n) => spinner.note(`${n} rows`) });
      spinner.stop();
      await out.close();
      if (output && process.stderr.isTTY) process.stderr.write(`${rows} rows written to ${output}\n`);
      else if (format === 'table' && process.stdout.isTTY) process.stdout.write(`(${rows} row${rows === 1 ? '' : 's'})\n`);
      return EXIT.ok;
    } catch (err) {
      spinner.stop();
      return reportError(err);
    } finally {
      client.close();
    }
  },
};
