import { LakehouseQueryEngine, type Lakehouse } from '@micromegas/analytics';
import { DEFAULT_FLIGHTSQL_PORT, QueryDenyList, makeBulkIngest, startFlightSqlServer } from '@micromegas/flightsql';
import { parseListen, type CommandBody, type OptionSpec } from '../command.ts';
import { runLakehouseRole } from '../lakehouse_role.ts';
import { LAKE_ENVIRONMENT, LAKE_OPTIONS, keyringFromEnvironment } from '../lake_options.ts';
import { SELF_TELEMETRY_ENVIRONMENT, SELF_TELEMETRY_OPTIONS, startSelfTelemetry } from '../self_telemetry.ts';

export const QUERY_DENY_ENVIRONMENT: Record<string, string> = {
  MICROMEGAS_QUERY_DENY_REFRESH_SECONDS: 'seconds between reloads of the query deny list (default 10)',
  MICROMEGAS_QUERY_DENY_MAX_RULES: 'most deny rules in force at once (default 100)',
};

export const FLIGHTSQL_OPTIONS: Record<string, OptionSpec> = {
  'flightsql-listen': {
    type: 'string',
    valueName: '[host:]port',
    description: 'address of the FlightSQL (gRPC) service',
    defaultText: `127.0.0.1:${DEFAULT_FLIGHTSQL_PORT}`,
  },
};

/** Starts the FlightSQL query service on an opened lakehouse; returns a function that stops it. */
export async function startFlightSqlRole(
  house: Lakehouse,
  values: Record<string, string | boolean | undefined>,
  requireKeys: boolean,
): Promise<() => Promise<void>> {
  const { host, port } = parseListen((values['flightsql-listen'] as string | undefined) ?? String(DEFAULT_FLIGHTSQL_PORT));
  const disableAuth = values['disable-auth'] === true;
  const keyring = keyringFromEnvironment({ disableAuth, requireKeys });
  // Rules from the catalog's query_deny_list, refreshed every MICROMEGAS_QUERY_DENY_REFRESH_SECONDS.
  const denyList = await QueryDenyList.open(house.lake.db, { warn: (line) => console.error(line) });
  await denyList.start();
  const engine = new LakehouseQueryEngine(house, { queryDenials: denyList });
  const server = await startFlightSqlServer({
    engine,
    host,
    port,
    keyring: keyring ?? undefined,
    disableAuth: keyring === null,
    bulkIngest: makeBulkIngest(house.lake),
    denyList,
    log: (line) => console.error(line),
  });
  return async () => {
    await server.close();
    await engine.close();
    await denyList.close();
  };
}

export const flightsqlCommand: CommandBody = {
  description:
    'Answers SQL over Arrow FlightSQL (gRPC) on the lakehouse views, for the micromegas clients, pyarrow,\n' +
    'Grafana and other FlightSQL tools. Without MICROMEGAS_API_KEYS it refuses to start unless --disable-auth.',
  options: {
    ...FLIGHTSQL_OPTIONS,
    'disable-auth': { type: 'boolean', description: 'accept requests without a bearer token (every caller is admin)' },
    ...SELF_TELEMETRY_OPTIONS,
    ...LAKE_OPTIONS,
  },
  environment: {
    ...LAKE_ENVIRONMENT,
    ...QUERY_DENY_ENVIRONMENT,
    ...SELF_TELEMETRY_ENVIRONMENT,
    MICROMEGAS_API_KEYS: 'JSON keyring [{"name": "...", "key": "..."}]; clients send authorization: Bearer <key>',
  },
  run(values) {
    keyringFromEnvironment({ disableAuth: values['disable-auth'] === true, requireKeys: true }); // fail before opening the lake
    return runLakehouseRole('flightsql', values, async (house) => {
      // Only with MICROMEGAS_TELEMETRY_URL: there is no ingestion service of our own here.
      const stopTelemetry = startSelfTelemetry('flightsql', values);
      const stop = await startFlightSqlRole(house, values, true);
      return async () => {
        await stop();
        await stopTelemetry?.();
      };
    });
  },
};
