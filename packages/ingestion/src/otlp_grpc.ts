// OTLP/gRPC: the three opentelemetry.proto.collector.*.v1 Export services on the standard port 4317.
// Requests are taken as raw bytes (no full decode) and stored by the same OtlpIngestor as OTLP/HTTP;
// grpc-js handles gzip/deflate message compression.
import * as grpc from '@grpc/grpc-js';
import type { Signal } from '@micromegas/otlp';
import type { Keyring } from './auth.ts';
import { BadRequestError, UnavailableError } from './errors.ts';
import type { OtlpIngestor } from './otlp_ingest.ts';
import { OTLP_WIRE_LIMIT_BYTES } from './otlp_http.ts';

export const DEFAULT_OTLP_GRPC_PORT = 4317;

const SERVICES: [Signal, string][] = [
  ['logs', '/opentelemetry.proto.collector.logs.v1.LogsService/Export'],
  ['metrics', '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export'],
  ['traces', '/opentelemetry.proto.collector.trace.v1.TraceService/Export'],
];

const identity = (b: Buffer): Buffer => b;
const EMPTY_RESPONSE = Buffer.alloc(0); // an empty Export*ServiceResponse

export interface OtlpGrpcServerOptions {
  ingestor: OtlpIngestor;
  host?: string;
  port?: number;
  keyring?: Keyring | null;
  log?: (line: string) => void;
  /** Largest accepted message (grpc-js applies it to the decompressed size too). */
  maxMessageBytes?: number;
}

export interface OtlpGrpcServer {
  readonly port: number;
  /** host:port for a gRPC client. */
  readonly address: string;
  close(): Promise<void>;
}

function fail(code: grpc.status, details: string): Partial<grpc.StatusObject> {
  return { code, details };
}

export async function startOtlpGrpcServer(options: OtlpGrpcServerOptions): Promise<OtlpGrpcServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const keyring = options.keyring ?? null;
  const limit = options.maxMessageBytes ?? OTLP_WIRE_LIMIT_BYTES;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': limit,
    'grpc.max_send_message_length': 1024 * 1024,
  });

  for (const [signal, path] of SERVICES) {
    const definition: grpc.ServiceDefinition = {
      Export: {
        path,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    };
    const handler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
      if (keyring) {
        const auth = call.metadata.get('authorization')[0];
        if (keyring.authenticate(typeof auth === 'string' ? auth : undefined) === undefined) {
          return callback(fail(grpc.status.UNAUTHENTICATED, 'Invalid token'));
        }
      }
      options.ingestor.ingest(signal, call.request).then(
        () => callback(null, EMPTY_RESPONSE),
        (err: unknown) => {
          if (err instanceof BadRequestError) {
            options.ingestor.service.stats.badRequests++;
            log(`ingestion: grpc INVALID_ARGUMENT otlp ${signal}: ${err.message}`);
            return callback(fail(grpc.status.INVALID_ARGUMENT, err.message));
          }
          if (err instanceof UnavailableError) {
            log(`ingestion: grpc UNAVAILABLE otlp ${signal}: ${err.message}`);
            return callback(fail(grpc.status.UNAVAILABLE, 'storage or database failure, retry later'));
          }
          log(`ingestion: grpc INTERNAL otlp ${signal}: ${err instanceof Error ? err.stack : String(err)}`);
          return callback(fail(grpc.status.INTERNAL, 'internal server error'));
        },
      );
    };
    server.addService(definition, { Export: handler as grpc.UntypedHandleCall });
  }

  const host = options.host ?? '127.0.0.1';
  const bindHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${bindHost}:${options.port ?? DEFAULT_OTLP_GRPC_PORT}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  return {
    port,
    address: `${bindHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), 5000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
