// Decoding a native block payload end to end: LZ4 frames → transit buffers → objects.
import { decompressLz4Frame } from '../envelope/lz4.ts';
import type { BlockPayload, UserDefinedType } from '../envelope/types.ts';
import { parseDependencies, parseObjects, type DependencyMap, type TransitValue } from './parser.ts';

export interface DecodedTransitPayload {
  dependencies: DependencyMap;
  objects: TransitValue[];
}

/**
 * 256 MiB per decompressed buffer: producers flush at ~10 MiB (a single large image may exceed that),
 * and upstream's ingestion refuses requests over 100 MiB, so a larger buffer can only be a bomb.
 */
export const DEFAULT_MAX_TRANSIT_BUFFER = 256 << 20;

export interface DecodeTransitOptions {
  /** Largest decompressed size accepted for each of the two buffers (default DEFAULT_MAX_TRANSIT_BUFFER). */
  maxBufferSize?: number;
}

/** Decompresses both buffers of a native block and decodes them with the stream's metadata. */
export function decodeTransitPayload(
  stream: { dependenciesMetadata: readonly UserDefinedType[]; objectsMetadata: readonly UserDefinedType[] },
  payload: BlockPayload,
  options: DecodeTransitOptions = {},
): DecodedTransitPayload {
  const lz4 = { maxOutputSize: options.maxBufferSize ?? DEFAULT_MAX_TRANSIT_BUFFER };
  const dependencies = parseDependencies(stream.dependenciesMetadata, decompressLz4Frame(payload.dependencies, lz4));
  const objects = parseObjects(stream.objectsMetadata, dependencies, decompressLz4Frame(payload.objects, lz4));
  return { dependencies, objects };
}
