export * from './envelope/index.ts';
export * from './buffers/index.ts';
