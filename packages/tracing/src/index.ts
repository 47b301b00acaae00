export * from './sink.ts';
export * from './time.ts';
export * from './recording.ts';
export * from './delivery.ts';
