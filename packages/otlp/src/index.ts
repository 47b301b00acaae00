export * from './types.ts';
export { OtlpDecodeError } from './errors.ts';
export { PROTO_DIR, PROTO_FILES, Types, root as protoRoot } from './proto.ts';
export * from './codec.ts';
export { anyValueToString, attributesToRecord, findAttribute, rustFloatDisplay } from './attributes.ts';
export * from './identity.ts';
export { scanExportRequest, SUMMARY_ROWS_PER_POINT } from './scan.ts';
export type { ScannedResource } from './scan.ts';
