// The ingestion server (HTTP incl. OTLP/HTTP, plus OTLP/gRPC) alone in its own process, for the OTLP
// benchmark: prints its addresses; on SIGUSR2 prints its CPU time so far; stops on SIGTERM.
import { openLake } from '@micromegas/lake';
import { startIngestionServer, startOtlpGrpcServer } from '@micromegas/ingestion';

const [connectionString, objectStoreUri, dataDir] = process.argv.slice(2);
const lake = await openLake({ connectionString: connectionString || undefined, objectStoreUri: objectStoreUri!, dataDir: dataDir! });
const server = await startIngestionServer({ lake, port: 0 });
const grpc = await startOtlpGrpcServer({ ingestor: server.otlp, port: 0 });
process.stdout.write(`${JSON.stringify({ url: server.url, grpc: `127.0.0.1:${grpc.port}` })}\n`);
process.on('SIGUSR2', () => {
  const cpu = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ cpuSeconds: (cpu.user + cpu.system) / 1e6, blocks: server.service.stats.blocks })}\n`);
});
process.on('SIGTERM', () => {
  void grpc.close().then(() => server.close()).then(() => lake.close()).then(() => process.exit(0));
});
