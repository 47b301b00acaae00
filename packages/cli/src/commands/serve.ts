import { untilStopSignal, type CommandSpec } from '../command.ts';
import { LAKE_ENVIRONMENT, LAKE_OPTIONS, describeLake, openLakeFromOptions } from '../lake_options.ts';
import { DAEMON_ENVIRONMENT, DAEMON_OPTIONS, retentionDays, startDaemonRole } from './daemon.ts';
import { INGESTION_OPTIONS, startIngestionRole } from './ingestion.ts';

export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'Run the whole stack in one process (embedded PostgreSQL and a local folder by default).',
  description:
    'Roles started: ingestion (HTTP, port 9000) and the maintenance daemon (global views, merges,\n' +
    'retention). With no configuration the data lake is an embedded\n' +
    'PGlite database and a file object store under --data-dir. Authentication is on when\n' +
    'MICROMEGAS_API_KEYS is set, off otherwise (a local, single-user default).',
  options: { ...INGESTION_OPTIONS, ...DAEMON_OPTIONS, ...LAKE_OPTIONS },
  environment: {
    ...LAKE_ENVIRONMENT,
    ...DAEMON_ENVIRONMENT,
    MICROMEGAS_API_KEYS: 'JSON keyring [{"name": "...", "key": "..."}] that turns authentication on',
  },
  async run(values) {
    retentionDays(values);
    const lake = await openLakeFromOptions(values);
    const stops: (() => Promise<void>)[] = [];
    try {
      console.error(describeLake(lake));
      stops.push(await startIngestionRole(lake, values, false));
      stops.push(await startDaemonRole(lake, values));
      console.error('micromegas: ready; press Ctrl-C to stop');
      const signal = await untilStopSignal();
      console.error(`micromegas: ${signal} received, shutting down`);
    } finally {
      for (const stop of stops.reverse()) await stop();
      await lake.close();
    }
    return 0;
  },
};
