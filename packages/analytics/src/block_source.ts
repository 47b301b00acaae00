// Reading one block's payload from the object store and undoing its LZ4 frames. Every failure is
// a BlockDecodeError naming the block, so one corrupt block never fails a whole partition silently.
import { blockObjectKey, type ObjectStore } from '@micromegas/lake';
import { decodeBlockPayload, decompressLz4Frame, Lz4Scratch, parseDependencies, useWasmXxh32, type BlockPayload, type DependencyMap } from '@micromegas/transit';
import type { BlockMeta, StreamMeta } from './metadata.ts';

// Analytics reads block after block: their LZ4 checksums are verified in WebAssembly (see xxhash32.ts).
await useWasmXxh32();

export class BlockDecodeError extends Error {
  constructor(
    readonly blockId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`block ${blockId}: ${message}`, options);
    this.name = 'BlockDecodeError';
  }
}

export const blobKey: (block: Pick<BlockMeta, 'processId' | 'streamId' | 'blockId'>) => string = blockObjectKey;

export async function fetchBlockPayload(store: ObjectStore, block: BlockMeta): Promise<BlockPayload> {
  const bytes = await store.get(blobKey(block));
  if (!bytes) throw new BlockDecodeError(block.blockId, `payload ${blobKey(block)} is missing from the object store`);
  try {
    return decodeBlockPayload(bytes);
  } catch (err) {
    throw new BlockDecodeError(block.blockId, `payload envelope: ${(err as Error).message}`, { cause: err });
  }
}

export interface TransitBuffers {
  dependencies: Uint8Array;
  objects: Uint8Array;
}

/** Reusable output buffers for decompressing one block after another (see Lz4Scratch). */
export class PayloadScratch {
  readonly dependencies = new Lz4Scratch();
  readonly objects = new Lz4Scratch();
}

/** With a scratch, the buffers are views valid until the scratch's next use. */
export function decompressPayload(block: BlockMeta, payload: BlockPayload, scratch?: PayloadScratch): TransitBuffers {
  try {
    return {
      dependencies: decompressLz4Frame(payload.dependencies, { scratch: scratch?.dependencies }),
      objects: decompressLz4Frame(payload.objects, { scratch: scratch?.objects }),
    };
  } catch (err) {
    throw new BlockDecodeError(block.blockId, `LZ4: ${(err as Error).message}`, { cause: err });
  }
}

export function decodeDependencies(block: BlockMeta, stream: StreamMeta, buffers: TransitBuffers): DependencyMap {
  try {
    return parseDependencies(stream.dependenciesMetadata, buffers.dependencies);
  } catch (err) {
    throw new BlockDecodeError(block.blockId, `dependencies: ${(err as Error).message}`, { cause: err });
  }
}

/** Wraps anything a block processor throws into a BlockDecodeError for that block. */
export function asBlockError(block: BlockMeta, err: unknown): BlockDecodeError {
  if (err instanceof BlockDecodeError) return err;
  return new BlockDecodeError(block.blockId, (err as Error)?.message ?? String(err), { cause: err });
}
