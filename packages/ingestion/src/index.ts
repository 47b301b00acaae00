export { startIngestionServer, DEFAULT_INGESTION_PORT, MAX_BODY_BYTES } from './server.ts';
export type { IngestionServer, IngestionServerOptions } from './server.ts';
export { IngestionService, blockObjectKey } from './service.ts';
export type { IngestionStats } from './service.ts';
export { Keyring, parseApiKeys, KeyringError } from './auth.ts';
export type { ApiKey } from './auth.ts';
export { BadRequestError, UnavailableError } from './errors.ts';
export { toPgTimestamp } from './timestamp.ts';
