import { DEFAULT_RETENTION_DAYS, MaintenanceDaemon, type Lakehouse } from '@micromegas/analytics';
import { UsageError, type CommandBody, type OptionSpec } from '../command.ts';
import { runLakehouseRole } from '../lakehouse_role.ts';
import { LAKE_ENVIRONMENT, LAKE_OPTIONS } from '../lake_options.ts';

export const DAEMON_OPTIONS: Record<string, OptionSpec> = {
  'retention-days': {
    type: 'string',
    valueName: 'days',
    description: 'delete blocks, payloads, streams, processes and partitions older than this',
    defaultText: `$MICROMEGAS_RETENTION_DAYS or ${DEFAULT_RETENTION_DAYS}`,
  },
};

export const DAEMON_ENVIRONMENT: Record<string, string> = {
  MICROMEGAS_RETENTION_DAYS: `retention in days (default ${DEFAULT_RETENTION_DAYS})`,
};

export function retentionDays(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv = process.env): number {
  const text = (values['retention-days'] as string | undefined) ?? env.MICROMEGAS_RETENTION_DAYS;
  if (text === undefined || text === '') return DEFAULT_RETENTION_DAYS;
  const days = Number(text);
  if (!Number.isFinite(days) || days <= 0) throw new UsageError(`invalid retention '${text}': expected a positive number of days`);
  return days;
}

/** Starts the maintenance daemon on an opened lakehouse; returns a function that stops it. */
export async function startDaemonRole(house: Lakehouse, values: Record<string, string | boolean | undefined>): Promise<() => Promise<void>> {
  const daemon = new MaintenanceDaemon(house, { retentionDays: retentionDays(values) });
  daemon.start();
  return () => daemon.stop();
}

export const daemonCommand: CommandBody = {
  description:
    'Materializes the global views (blocks, processes, streams, log_entries, measures, log_stats) every\n' +
    'second, merges their partitions per minute, hour and day, and hourly deletes data older than the\n' +
    'retention and the files of replaced partitions. Run a single daemon per lake.',
  options: { ...DAEMON_OPTIONS, ...LAKE_OPTIONS },
  environment: { ...DAEMON_ENVIRONMENT, ...LAKE_ENVIRONMENT },
  async run(values) {
    retentionDays(values);
    return runLakehouseRole('daemon', values, (house) => startDaemonRole(house, values));
  },
};
