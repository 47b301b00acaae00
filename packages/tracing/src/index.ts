export * from './sink.ts';
