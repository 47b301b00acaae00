import { DEFAULT_INGESTION_PORT, DEFAULT_OTLP_GRPC_PORT, startIngestionServer, startOtlpGrpcServer } from '@micromegas/ingestion';
import type { Lake } from '@micromegas/lake';
import { parseListen, untilStopSignal, type CommandBody } from '../command.ts';
import { LAKE_ENVIRONMENT, LAKE_OPTIONS, describeLake, keyringFromEnvironment, openLakeFromOptions } from '../lake_options.ts';

export const INGESTION_OPTIONS = {
  listen: {
    type: 'string',
    valueName: '[host:]port',
    description: 'address of the ingestion HTTP service',
    defaultText: `127.0.0.1:${DEFAULT_INGESTION_PORT}`,
  },
  'otlp-grpc-listen': {
    type: 'string',
    valueName: '[host:]port|off',
    description: 'address of the OTLP/gRPC receiver (logs, metrics, traces); off disables it',
    defaultText: `127.0.0.1:${DEFAULT_OTLP_GRPC_PORT}`,
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
  const grpcText = values['otlp-grpc-listen'] as string | undefined;
  if (grpcText === 'off') return () => server.close();
  const grpcAddress = parseListen(grpcText ?? String(DEFAULT_OTLP_GRPC_PORT), '--otlp-grpc-listen');
  let grpc: Awaited<ReturnType<typeof startOtlpGrpcServer>> | undefined;
  try {
    grpc = await startOtlpGrpcServer({ ingestor: server.otlp, keyring, ...grpcAddress });
    console.error(`ingestion: OTLP/gRPC on ${grpc.address}`);
  } catch (err) {
    // The default port may be taken by another collector: only an explicit address is fatal.
    if (grpcText !== undefined) {
      await server.close();
      throw err;
    }
    console.error(`ingestion: OTLP/gRPC not started (${(err as Error).message.split('\n')[0]}); OTLP/HTTP is still served`);
  }
  return async () => {
    await grpc?.close();
    await server.close();
  };
}

export const ingestionCommand: CommandBody = {
  description:
    'Serves POST /ingestion/insert_process, /insert_stream and /insert_block (the upstream micromegas protocol),\n' +
    'OTLP/HTTP on /ingestion/otlp/v1/{logs,metrics,traces} and /v1/{logs,metrics,traces}, OTLP/gRPC on\n' +
    '--otlp-grpc-listen, GET /health and GET /ready. Without MICROMEGAS_API_KEYS it refuses to start unless --disable-auth is given.',
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
