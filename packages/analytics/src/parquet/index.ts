export { writeParquetFile, type ParquetWriteOptions } from './writer.ts';
