// Decoding a native block payload end to end: LZ4 frames → transit buffers → objects.
import { decompressLz4Frame } from '../envelope/lz4.ts';
import type { BlockPayload, UserDefinedType } from '../envelope/types.ts';
import { parseDependencies, parseObjects, type DependencyMap, type TransitValue } from './parser.ts';

export interface DecodedTransitPayload {
  dependencies: DependencyMap;
  objects: TransitValue[];
}

/** Decompresses both buffers of a native block and decodes them with the stream's metadata. */
export function decodeTransitPayload(
  stream: { dependenciesMetadata: readonly UserDefinedType[]; objectsMetadata: readonly UserDefinedType[] },
  payload: BlockPayload,
): DecodedTransitPayload {
  const dependencies = parseDependencies(stream.dependenciesMetadata, decompressLz4Frame(payload.dependencies));
  const objects = parseObjects(stream.objectsMetadata, dependencies, decompressLz4Frame(payload.objects));
  return { dependencies, objects };
}
