// Running one lakehouse role (daemon, flightsql) as its own command: open the lake and the lakehouse,
// start the role, wait for SIGINT/SIGTERM, stop the role, close everything.
import { openLakehouse, type Lakehouse } from '@micromegas/analytics';
import { untilStopSignal } from './command.ts';
import { describeLake, openLakeFromOptions } from './lake_options.ts';

export async function runLakehouseRole(
  name: string,
  values: Record<string, string | boolean | undefined>,
  start: (house: Lakehouse) => Promise<() => Promise<void>>,
): Promise<number> {
  const lake = await openLakeFromOptions(values);
  try {
    console.error(describeLake(lake));
    const house = await openLakehouse(lake);
    try {
      const stop = await start(house);
      const signal = await untilStopSignal();
      console.error(`${name}: ${signal} received, finishing the work in progress`);
      await stop();
    } finally {
      await house.close();
    }
  } finally {
    await lake.close();
  }
  return 0;
}
