// FlightSQL URIs: grpc://host:port (plain), grpc+tls://host:port (TLS); http(s):// are accepted as
// their grpc spellings, as upstream's Python client does.
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';

export const DEFAULT_URI = 'grpc://localhost:50051';

export interface Endpoint {
  /** host:port for grpc-js. */
  target: string;
  tls: boolean;
  credentials: ChannelCredentials;
}

export function parseFlightUri(uri: string, tlsOptions: { rootCerts?: Buffer } = {}): Endpoint {
  const m = /^(grpc|grpc\+tcp|grpc\+tls|http|https):\/\/(\[[^\]]+\]|[^/:?#]+)(?::(\d{1,5}))?\/?$/i.exec(uri.trim());
  if (!m) throw new TypeError(`not a FlightSQL URI (grpc://host:port or grpc+tls://host:port): ${JSON.stringify(uri)}`);
  const scheme = m[1]!.toLowerCase();
  const tls = scheme === 'grpc+tls' || scheme === 'https';
  const port = m[3] ? Number(m[3]) : tls ? 443 : scheme === 'http' ? 80 : 50051;
  if (port < 1 || port > 65535) throw new TypeError(`port out of range in ${JSON.stringify(uri)}`);
  return {
    target: `${m[2]}:${port}`,
    tls,
    credentials: tls ? credentials.createSsl(tlsOptions.rootCerts ?? null) : credentials.createInsecure(),
  };
}
