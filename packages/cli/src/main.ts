// The `micromegas` command.
import './runtime_env.ts';
import { runCommand, UsageError, type CommandSpec } from './command.ts';
import { daemonCommand } from './commands/daemon.ts';
import { flightsqlCommand } from './commands/flightsql.ts';
import { generateCommand } from './commands/generate.ts';
import { ingestionCommand } from './commands/ingestion.ts';
import { migrateCommand } from './commands/migrate.ts';
import { serveCommand } from './commands/serve.ts';
import { queryCommand } from './commands/query.ts';
import { processesCommand } from './commands/processes.ts';
import { logsCommand } from './commands/logs.ts';

const COMMANDS: CommandSpec[] = [serveCommand, ingestionCommand, flightsqlCommand, daemonCommand, migrateCommand, generateCommand, queryCommand, processesCommand, logsCommand];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: micromegas <command> [options]',
    '',
    'Micromegas for TypeScript: logs, metrics and traces in one observability stack.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `micromegas <command> --help` for the options of a command.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    if (target) return runCommand(target, ['--help']);
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command '${name}' (see: micromegas --help)`);
  return runCommand(command, rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`micromegas: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`micromegas: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
