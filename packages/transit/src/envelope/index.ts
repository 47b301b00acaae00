export * from './types.ts';
export { TransitFormatError } from './errors.ts';
export {
  CborSimple,
  CborTag,
  CborWriter,
  DEFAULT_CBOR_MAX_DEPTH,
  decodeCbor,
  encodeCbor,
  type CborDecodeOptions,
  type CborEncodable,
  type CborEncodeOptions,
  type CborMap,
  type CborValue,
} from './cbor.ts';
export {
  compressLz4Frame,
  compressLz4Raw,
  decompressLz4Frame,
  decompressLz4Raw,
  DEFAULT_LZ4_MAX_OUTPUT,
  Lz4Scratch,
  type Lz4BlockMaxSize,
  type Lz4CompressOptions,
  type Lz4DecompressOptions,
} from './lz4.ts';
export { useWasmXxh32, xxh32 } from './xxhash32.ts';
export { decodeProcessInfo, encodeProcessInfo } from './process_info.ts';
export { decodeStreamInfo, decodeUdtList, encodeStreamInfo, encodeUdtList } from './stream_info.ts';
export { decodeBlock, decodeBlockPayload, encodeBlock, encodeBlockPayload } from './block.ts';
