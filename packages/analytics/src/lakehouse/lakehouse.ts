// Opening the lakehouse over a lake: its catalog schema, the embedded DuckDB, and a logger.
import type { Lake } from '@micromegas/lake';
import { migrateLakehouse } from './catalog/index.ts';
import { DuckEngine } from './duck.ts';
import type { LakehouseContext } from './view.ts';

export interface Lakehouse extends LakehouseContext {
  close(): Promise<void>;
}

export type LakehouseLogger = LakehouseContext['log'];

export const consoleLogger: LakehouseLogger = (level, message) => {
  const line = `[lakehouse] ${level}: ${message}`;
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
};

export async function openLakehouse(lake: Pick<Lake, 'db' | 'blobs'>, options: { log?: LakehouseLogger; migrate?: boolean } = {}): Promise<Lakehouse> {
  if (options.migrate ?? true) await migrateLakehouse(lake.db);
  const duck = await DuckEngine.create();
  return {
    lake,
    duck,
    log: options.log ?? consoleLogger,
    async close() {
      duck.close();
    },
  };
}
