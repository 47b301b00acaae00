import { parseListen, untilStopSignal, type CommandBody } from '../command.ts';
import { LAKE_ENVIRONMENT, LAKE_OPTIONS, describeLake, openLakeFromOptions } from '../lake_options.ts';
import { DAEMON_ENVIRONMENT, DAEMON_OPTIONS, retentionDays, startDaemonRole } from './daemon.ts';
import { FLIGHTSQL_OPTIONS, QUERY_DENY_ENVIRONMENT, startFlightSqlRole } from './flightsql.ts';
import { INGESTION_OPTIONS, startIngestionRole } from './ingestion.ts';
import { SELF_TELEMETRY_ENVIRONMENT, SELF_TELEMETRY_OPTIONS, startSelfTelemetry } from '../self_telemetry.ts';
import { DEFAULT_INGESTION_PORT } from '@micromegas/ingestion';
import { openLakehouse } from '@micromegas/analytics';

export const serveCommand: CommandBody = {
  description:
    'Roles started: ingestion (HTTP, port 9000, including OTLP/HTTP; OTLP/gRPC on port 4317), the\n' +
    'maintenance daemon (global views, merges, retention) and the FlightSQL query service (gRPC, port\n' +
    '50051). With no configuration the data lake is an embedded PGlite database and a file object store\n' +
    'under --data-dir. Authentication is on when\n' +
    'MICROMEGAS_API_KEYS is set, off otherwise (a local, single-user default).',
  options: { ...INGESTION_OPTIONS, ...FLIGHTSQL_OPTIONS, ...DAEMON_OPTIONS, ...SELF_TELEMETRY_OPTIONS, ...LAKE_OPTIONS },
  environment: {
    ...LAKE_ENVIRONMENT,
    ...DAEMON_ENVIRONMENT,
    ...QUERY_DENY_ENVIRONMENT,
    ...SELF_TELEMETRY_ENVIRONMENT,
    MICROMEGAS_API_KEYS: 'JSON keyring [{"name": "...", "key": "..."}] that turns authentication on',
  },
  async run(values) {
    retentionDays(values);
    const lake = await openLakeFromOptions(values);
    const stops: (() => Promise<void>)[] = [];
    try {
      console.error(describeLake(lake));
      stops.push(await startIngestionRole(lake, values, false));
      // The service's own telemetry goes to its own ingestion role (stopped after the others, before ingestion).
      const ingestion = parseListen((values.listen as string | undefined) ?? String(DEFAULT_INGESTION_PORT));
      const ingestionHost = ['0.0.0.0', '::'].includes(ingestion.host) ? '127.0.0.1' : ingestion.host;
      const stopTelemetry = startSelfTelemetry('serve', values, ingestion.port === 0 ? undefined : `http://${ingestionHost.includes(':') ? `[${ingestionHost}]` : ingestionHost}:${ingestion.port}`);
      if (stopTelemetry) stops.push(stopTelemetry);
      const house = await openLakehouse(lake);
      stops.push(() => house.close());
      stops.push(await startDaemonRole(house, values));
      stops.push(await startFlightSqlRole(house, values, false));
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
