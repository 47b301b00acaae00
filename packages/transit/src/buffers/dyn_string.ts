// String encodings of transit buffers: the DynString layout (codec u8, byte length u32, bytes) used by
// dynamic events and StaticStringDependency, and the codecs upstream producers write.

export const StringCodec = { Ansi: 0, Wide: 1, Utf8: 2 } as const;
export type StringCodecValue = (typeof StringCodec)[keyof typeof StringCodec];

const utf8Encoder = new TextEncoder();

/** Exact UTF-8 byte length of a JS string (lone surrogates count as U+FFFD, 3 bytes, like TextEncoder). */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * Writes `text` as UTF-8 at `offset` and returns the number of bytes written. ASCII is copied by a
 * plain loop (no allocation); other text goes through TextEncoder.encodeInto. The caller guarantees
 * room for 3 × text.length bytes.
 */
export function writeUtf8(target: Uint8Array, offset: number, text: string): number {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) {
      const rest = utf8Encoder.encodeInto(text.slice(i), target.subarray(offset + i));
      return i + rest.written;
    }
    target[offset + i] = c;
  }
  return n;
}

/** Bytes a DynString of `text` may take at most: codec + length + 3 bytes per UTF-16 unit. */
export function dynStringMaxSize(text: string): number {
  return 5 + 3 * text.length;
}

/** Writes a UTF-8 DynString (codec 2) at `offset`; returns its total size (5 + byte length). */
export function writeDynStringUtf8(target: Uint8Array, view: DataView, offset: number, text: string): number {
  target[offset] = StringCodec.Utf8;
  const written = writeUtf8(target, offset + 5, text);
  view.setUint32(offset + 1, written, true);
  return 5 + written;
}

/** A standalone UTF-8 DynString. */
export function encodeDynStringUtf8(text: string): Uint8Array {
  const bytes = utf8Encoder.encode(text);
  const out = new Uint8Array(5 + bytes.length);
  out[0] = StringCodec.Utf8;
  new DataView(out.buffer).setUint32(1, bytes.length, true);
  out.set(bytes, 5);
  return out;
}
