/** Raised when an OTLP payload (protobuf or JSON) cannot be decoded; `message` names the offending place. */
export class OtlpDecodeError extends Error {
  override name = 'OtlpDecodeError';
}
