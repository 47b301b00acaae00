// The ingestion server alone in its own process, for the benchmark: prints its URL, stops on SIGTERM.
import { openLake } from '@micromegas/lake';
import { startIngestionServer } from '@micromegas/ingestion';

const [connectionString, objectStoreUri, dataDir] = process.argv.slice(2);
const lake = await openLake({ connectionString, objectStoreUri: objectStoreUri!, dataDir: dataDir! });
const server = await startIngestionServer({ lake, port: 0 });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.on('SIGTERM', () => {
  const cpu = process.cpuUsage();
  const s = server.service.stats;
  process.stderr.write(`server: ${s.blocks} blocks, cpu user ${(cpu.user / 1e6).toFixed(2)} s, system ${(cpu.system / 1e6).toFixed(2)} s\n`);
  void server.close().then(() => lake.close()).then(() => process.exit(0));
});
