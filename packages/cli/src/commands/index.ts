// The commands of `micromegas`, by name and summary; each one's module (and the packages it needs:
// DuckDB, PostgreSQL, gRPC…) is loaded only when that command runs, so `micromegas query` starts fast.
import type { CommandBody, CommandSpec } from '../command.ts';

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<CommandSpec>;
}

const lazy = (name: string, summary: string, load: () => Promise<CommandBody>): CommandEntry => ({
  name,
  summary,
  load: async () => ({ name, summary, ...(await load()) }),
});

export const COMMANDS: readonly CommandEntry[] = [
  lazy('serve', 'Run the whole stack in one process (embedded PostgreSQL and a local folder by default).', async () => (await import('./serve.ts')).serveCommand),
  lazy('ingestion', 'Run the ingestion service alone against a configured data lake.', async () => (await import('./ingestion.ts')).ingestionCommand),
  lazy('flightsql', 'Run the FlightSQL query service alone against a configured data lake.', async () => (await import('./flightsql.ts')).flightsqlCommand),
  lazy('daemon', 'Run the maintenance daemon: global views, merges, retention (one per lake).', async () => (await import('./daemon.ts')).daemonCommand),
  lazy('migrate', 'Create or upgrade the data-lake schema (upstream version 7), then exit.', async () => (await import('./migrate.ts')).migrateCommand),
  lazy('generate', 'Send realistic demo telemetry (logs, metrics, thread and async spans from worker threads).', async () => (await import('./generate.ts')).generateCommand),
  lazy('query', 'Run SQL on the FlightSQL service and print or save the result.', async () => (await import('./query.ts')).queryCommand),
  lazy('processes', 'List the most recently started processes (exe, computer, start time, properties).', async () => (await import('./processes.ts')).processesCommand),
  lazy('logs', 'Print log entries, filtered by process, level, target and text; --follow for new ones.', async () => (await import('./logs.ts')).logsCommand),
];
