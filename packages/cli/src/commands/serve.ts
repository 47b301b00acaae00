import { untilStopSignal, type CommandSpec } from '../command.ts';
import { LAKE_ENVIRONMENT, LAKE_OPTIONS } from '../lake_options.ts';
import { INGESTION_OPTIONS, startIngestionRole } from './ingestion.ts';

export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'Run the whole stack in one process (embedded PostgreSQL and a local folder by default).',
  description:
    'Roles started: ingestion (HTTP, port 9000). With no configuration the data lake is an embedded\n' +
    'PGlite database and a file object store under --data-dir. Authentication is on when\n' +
    'MICROMEGAS_API_KEYS is set, off otherwise (a local, single-user default).',
  options: { ...INGESTION_OPTIONS, ...LAKE_OPTIONS },
  environment: {
    ...LAKE_ENVIRONMENT,
    MICROMEGAS_API_KEYS: 'JSON keyring [{"name": "...", "key": "..."}] that turns authentication on',
  },
  async run(values) {
    const stop = await startIngestionRole(values, false);
    console.error('micromegas: ready; press Ctrl-C to stop');
    const signal = await untilStopSignal();
    console.error(`micromegas: ${signal} received, shutting down`);
    await stop();
    return 0;
  },
};
