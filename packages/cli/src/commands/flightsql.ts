import { LakehouseQueryEngine, type Lakehouse } from '@micromegas/analytics';
import { DEFAULT_FLIGHTSQL_PORT, makeBulkIngest, startFlightSqlServer } from '@micromegas/flightsql';
import { parseListen, type CommandSpec, type OptionSpec } from '../command.ts';
import { runLakehouseRole } from '../lakehouse_role.ts';
import { LAKE_ENVIRONMENT, LAKE_OPTIONS, keyringFromEnvironment } from '../lake_options.ts';

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
  const engine = new LakehouseQueryEngine(house);
  const server = await startFlightSqlServer({
    engine,
    host,
    port,
    keyring: keyring ?? undefined,
    disableAuth: keyring === null,
    bulkIngest: makeBulkIngest(house.lake),
    log: (line) => console.error(line),
  });
  return async () => {
    await server.close();
    await engine.close();
  };
}

export const flightsqlCommand: CommandSpec = {
  name: 'flightsql',
  summary: 'Run the FlightSQL query service alone against a configured data lake.',
  description:
    'Answers SQL over Arrow FlightSQL (gRPC) on the lakehouse views, for the micromegas clients, pyarrow,\n' +
    'Grafana and other FlightSQL tools. Without MICROMEGAS_API_KEYS it refuses to start unless --disable-auth.',
  options: {
    ...FLIGHTSQL_OPTIONS,
    'disable-auth': { type: 'boolean', description: 'accept requests without a bearer token (every caller is admin)' },
    ...LAKE_OPTIONS,
  },
  environment: {
    ...LAKE_ENVIRONMENT,
    MICROMEGAS_API_KEYS: 'JSON keyring [{"name": "...", "key": "..."}]; clients send authorization: Bearer <key>',
  },
  run(values) {
    keyringFromEnvironment({ disableAuth: values['disable-auth'] === true, requireKeys: true }); // fail before opening the lake
    return runLakehouseRole('flightsql', values, (house) => startFlightSqlRole(house, values, true));
  },
};
