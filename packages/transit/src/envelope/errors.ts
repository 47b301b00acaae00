/**
 * Raised for any malformed input to the envelope codecs (CBOR, LZ4, envelope shapes).
 * The message is one line naming the layer and what is wrong, e.g. "cbor: truncated input at offset 17",
 * so the ingestion server can log it and answer 400 without leaking a stack.
 */
export class TransitFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransitFormatError';
  }
}
