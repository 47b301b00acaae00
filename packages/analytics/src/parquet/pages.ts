// Page framing for one column chunk: page headers, the chunk's codec choice and its size accounting.
import { compressPageLz4 } from './lz4.ts';
import { CompactWriter, type ByteSink } from './sink.ts';

export const enum PageType {
  Data = 0,
  Dictionary = 2,
}

export const enum Encoding {
  Plain = 0,
  Rle = 3,
  DeltaBinaryPacked = 5,
  DeltaLengthByteArray = 6,
  RleDictionary = 8,
}

export const enum Codec {
  Uncompressed = 0,
  Lz4Raw = 7,
}

/** Pages this small, or that LZ4 shrinks by less than 10 %, are not worth decompressing on every read. */
const MIN_COMPRESS_BYTES = 256;
const MIN_COMPRESS_GAIN = 0.9;

export class ChunkWriter {
  /** undefined until the first page decides the chunk's codec (it applies to every page of the chunk). */
  codec: Codec | undefined;
  uncompressed = 0;
  compressed = 0;
  dataPageOffset = -1;
  dictionaryPageOffset = -1;
  readonly start: number;
  readonly encodings = new Set<Encoding>();

  constructor(
    private readonly out: ByteSink,
    wantLz4: boolean,
  ) {
    this.start = out.pos;
    if (!wantLz4) this.codec = Codec.Uncompressed;
  }

  page(type: PageType, raw: Uint8Array, numValues: number, encoding: Encoding): void {
    const out = this.out;
    let body = raw;
    if (this.codec === undefined) {
      if (raw.length < MIN_COMPRESS_BYTES) this.codec = Codec.Uncompressed;
      else {
        const packed = compressPageLz4(raw);
        if (packed.length <= raw.length * MIN_COMPRESS_GAIN) {
          this.codec = Codec.Lz4Raw;
          body = packed;
        } else this.codec = Codec.Uncompressed;
      }
    } else if (this.codec === Codec.Lz4Raw) body = compressPageLz4(raw);

    const offset = out.pos;
    if (type === PageType.Dictionary) this.dictionaryPageOffset = offset;
    else if (this.dataPageOffset < 0) this.dataPageOffset = offset;
    const w = new CompactWriter(out);
    w.i32(1, type);
    w.i32(2, raw.length);
    w.i32(3, body.length);
    if (type === PageType.Data) {
      w.beginStruct(5); // DataPageHeader
      w.i32(1, numValues);
      w.i32(2, encoding);
      w.i32(3, Encoding.Rle); // definition levels
      w.i32(4, Encoding.Rle); // repetition levels
      w.endStruct();
    } else {
      w.beginStruct(7); // DictionaryPageHeader
      w.i32(1, numValues);
      w.i32(2, encoding);
      w.endStruct();
    }
    w.stop();
    const headerSize = out.pos - offset;
    out.bytes(body);
    this.uncompressed += headerSize + raw.length;
    this.compressed += headerSize + body.length;
    this.encodings.add(encoding);
  }
}
