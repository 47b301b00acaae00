// Transit buffers: metadata builders and string encoding for producers, metadata-driven decoder for readers.
export * from './udt.ts';
export * from './dyn_string.ts';
export * from './parser.ts';
export * from './block_payload.ts';
