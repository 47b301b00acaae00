import type { CommandBody } from '../command.ts';
import { CONNECTION_ENVIRONMENT, CONNECTION_OPTIONS, EXIT, RANGE_OPTIONS, parsePositiveInt, parseRange, withClient } from '../client/options.ts';
import { FORMATS, chooseFormat } from '../client/output.ts';
import { writeQuery } from './query.ts';

export const processesCommand: CommandBody = {
  description:
    'Newest first. With --begin/--end, only processes with telemetry in that range. Output and exit codes\n' +
    'as `micromegas query`.',
  options: {
    limit: { type: 'string', short: 'n', valueName: 'n', description: 'at most this many processes', defaultText: '20' },
    ...RANGE_OPTIONS('all time'),
    format: { type: 'string', short: 'f', valueName: FORMATS.join('|'), description: 'output format', defaultText: 'table on a terminal, else json' },
    output: { type: 'string', short: 'o', valueName: 'file', description: 'write the result to this file' },
    ...CONNECTION_OPTIONS,
  },
  environment: CONNECTION_ENVIRONMENT,
  async run(values) {
    const limit = parsePositiveInt(values.limit as string | undefined, '--limit', 20);
    const output = values.output as string | undefined;
    const format = chooseFormat(values.format as string | undefined, output);
    const { begin, end } = parseRange(values);
    const sql =
      'SELECT process_id, exe, computer, username, start_time, jsonb_format_json(properties) AS properties ' +
      `FROM processes ORDER BY start_time DESC LIMIT ${limit}`;
    return withClient(values, 'cli-processes', async (client, spinner) => {
      await writeQuery(client, spinner, sql, begin, end, format, output);
      return EXIT.ok;
    });
  },
};
