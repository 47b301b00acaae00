import { DEFAULT_INGESTION_PORT, startIngestionServer } from '@micromegas/ingestion';
import type { Lake } from '@micromegas/lake';
import { parseListen, untilStopSignal, type CommandSpec } from '../command.ts';
import { LAKE_ENVIRONMENT, LAKE_OPTIONS, describeLake, keyringFromEnvironment, openLakeFromOptions } from '../lake_options.ts';

export const INGESTION_OPTIONS = {
  listen: {
    type: 'string',
    valueName: '[host:]port',
    description: 'address of the ingestion HTTP service',
    defaultText: `127.0.0.1:${DEFAULT_INGESTION_PORT}`,
  },
  'disable-auth': { type: 'boolean', description: 'accept requests without a bearer token' },
} as const;

/** Starts the ingestion service on an opened lake; returns a function that stops it (not the lake). */
export async function startIngestionRole(
  lake: Lake,
  values: Record<string, string | boolean | undefined>,
  requireKeys: boolean,
): Promise<() => Promise<void>> {
  const { host, port } = parseListen((values.listen as string | undefined) ?? String(DEFAULT_INGESTION_PORT));
  const keyring = keyringFromEnvironment({ disableAuth: values['disable-auth'] === true, requireKeys });
  const server = await startIngestionServer({ lake, host, port, keyring });
  console.error(`ingestion: listening on ${server.url} (authentication ${keyring ? 'on' : 'off'})`);
  return () => server.close();
}

export const ingestionCommand: CommandSpec = {
  name: 'ingestion',
  summary: 'Run the ingestion service alone against a configured data lake.',
  description:
    'Serves POST /ingestion/insert_process, /insert_stream and /insert_block (the upstream micromegas protocol),\n' +
    'GET /health and GET /ready. Without MICROMEGAS_API_KEYS it refuses to start unless --disable-auth is given.',
  options: { ...INGESTION_OPTIONS, ...LAKE_OPTIONS },
  environment: {
    ...LAKE_ENVIRONMENT,
    MICROMEGAS_API_KEYS: 'JSON keyring [{"name": "...", "key": "..."}]; clients send Authorization: Bearer <key>',
  },
  async run(values) {
    const lake = await openLakeFromOptions(values);
    try {
      console.error(describeLake(lake));
      const stop = await startIngestionRole(lake, values, true);
      const signal = await untilStopSignal();
      console.error(`ingestion: ${signal} received, draining requests`);
      await stop();
    } finally {
      await lake.close();
    }
    return 0;
  },
};
