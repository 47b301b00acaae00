// Object store on S3 or an S3-compatible server (MinIO, moto, ...), configured by the standard AWS
// variables. Create-only writes use a conditional PutObject (If-None-Match: *), like upstream.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { ObjectStoreError } from './errors.ts';
import { validateListPrefix, validateObjectKey } from './object_key.ts';
import type { ObjectStore } from './object_store.ts';

export interface S3StoreOptions {
  /** TCP connect timeout per attempt (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Whole-request socket timeout per attempt (default 30000 ms). */
  requestTimeoutMs?: number;
  /** Attempts per request, including the first (default 3). */
  maxAttempts?: number;
}

/** Conditional puts answered 409 (concurrent write of the same key) are re-asked this many times. */
const CONFLICT_ATTEMPTS = 5;

function isTrue(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.trim().toLowerCase());
}

/** Builds the S3 client configuration from the standard AWS environment variables. */
export function s3ClientConfigFrom(env: NodeJS.ProcessEnv, options: S3StoreOptions = {}): S3ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const forcePathStyleVar = env.AWS_S3_FORCE_PATH_STYLE;
  const config: S3ClientConfig = {
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    // Custom endpoints (MinIO, moto, localstack) rarely resolve virtual-hosted bucket names.
    forcePathStyle: forcePathStyleVar !== undefined && forcePathStyleVar !== '' ? isTrue(forcePathStyleVar) : !!endpoint,
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: options.connectTimeoutMs ?? 3000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      // Without this the SDK only logs a warning and the request can wait forever on a silent peer.
      throwOnRequestTimeout: true,
    },
  };
  if (endpoint) config.endpoint = endpoint;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    config.credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
  }
  return config;
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function errorName(err: unknown): string {
  return (err as { name?: string; Code?: string }).Code ?? (err as Error).name ?? 'Error';
}

export function openS3Store(uri: string, env: NodeJS.ProcessEnv = process.env, options: S3StoreOptions = {}): ObjectStore {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(uri);
  if (!m || !m[1]) throw new ObjectStoreError(`invalid S3 URI '${uri}' (expected s3://bucket/prefix)`);
  const bucket = m[1];
  const rootPrefix = m[2] ? `${m[2].replace(/\/+$/, '')}/` : '';
  const client = new S3Client(s3ClientConfigFrom(env, options));

  const fail = (action: string, key: string, err: unknown): ObjectStoreError => {
    const status = httpStatus(err);
    const detail = status !== undefined ? `${errorName(err)} (HTTP ${status})` : `${errorName(err)}: ${(err as Error).message}`;
    return new ObjectStoreError(`s3 store: ${action} 's3://${bucket}/${rootPrefix}${key}' failed: ${detail}`, { cause: err });
  };

  async function listPage(prefix: string, maxKeys: number, token?: string) {
    return client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: rootPrefix + prefix, MaxKeys: maxKeys, ContinuationToken: token }),
    );
  }

  return {
    uri,
    async putIfAbsent(key, bytes) {
      validateObjectKey(key);
      for (let attempt = 1; ; attempt++) {
        try {
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: rootPrefix + key, Body: bytes, IfNoneMatch: '*' }));
          return 'created';
        } catch (err) {
          const status = httpStatus(err);
          const name = errorName(err);
          // 412: an object already has this key.
          if (status === 412 || name === 'PreconditionFailed') return 'exists';
          // 409: a concurrent conditional write of the same key was in flight. It may still fail, so
          // ask again rather than assume it landed: the retry answers 412 (exists) or 200 (created).
          if ((status === 409 || name === 'ConditionalRequestConflict') && attempt < CONFLICT_ATTEMPTS) {
            await new Promise((r) => setTimeout(r, 20 * attempt));
            continue;
          }
          throw fail('put', key, err);
        }
      }
    },
    async get(key) {
      validateObjectKey(key);
      try {
        const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: rootPrefix + key }));
        if (!res.Body) return new Uint8Array(0);
        return await res.Body.transformToByteArray();
      } catch (err) {
        if (errorName(err) === 'NoSuchKey' || (httpStatus(err) === 404 && errorName(err) !== 'NoSuchBucket')) return undefined;
        throw fail('get', key, err);
      }
    },
    async list(prefix, limit = Infinity) {
      validateListPrefix(prefix);
      const keys: string[] = [];
      let token: string | undefined;
      try {
        while (keys.length < limit) {
          const page = await listPage(prefix, Math.min(1000, limit - keys.length), token);
          for (const o of page.Contents ?? []) {
            if (o.Key !== undefined && keys.length < limit) keys.push(o.Key.slice(rootPrefix.length));
          }
          if (!page.IsTruncated || !page.NextContinuationToken) break;
          token = page.NextContinuationToken;
        }
      } catch (err) {
        throw fail('list', prefix, err);
      }
      return keys;
    },
    async delete(key) {
      validateObjectKey(key);
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: rootPrefix + key }));
      } catch (err) {
        if (httpStatus(err) === 404 && errorName(err) !== 'NoSuchBucket') return;
        throw fail('delete', key, err);
      }
    },
    async probe() {
      try {
        await listPage('', 1);
      } catch (err) {
        throw fail('probe', '', err);
      }
    },
    async close() {
      client.destroy();
    },
  };
}
