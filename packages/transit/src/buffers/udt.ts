// Builders for transit reflection metadata (UserDefinedType), the layout authority of every transit
// buffer: type index = position in the stream's list, member offsets/sizes say where each field lives.
import type { UdtMember, UserDefinedType } from '../envelope/types.ts';

export function udtMember(name: string, typeName: string, offset: number, size: number, isReference = false): UdtMember {
  return { name, typeName, offset, size, isReference };
}

/** A fixed-size (size > 0) or custom-serialized (size 0, length-prefixed) type. */
export function udt(name: string, size: number, members: UdtMember[] = [], isReference = false): UserDefinedType {
  return { name, size, members, isReference };
}

/** A reference member: 8 bytes at `offset` hold the id of a dependency; `size` may cover more (e.g. 16). */
export function refMember(name: string, offset: number, size = 8): UdtMember {
  return udtMember(name, 'usize', offset, size, true);
}

/**
 * Reference UDT whose instances resolve to the dependency named by their first 8 bytes. Upstream's
 * `StringId` and `StaticStringRef` (16 bytes: id u64, len u32, codec u8, padding) have this shape.
 */
export function referenceUdt(name: string, size = 16): UserDefinedType {
  return udt(name, size, [refMember('id', 0, 8)], true);
}

/** Upstream's `Property`: two StaticStringRef members (name @0, value @16), 32 bytes. */
export function propertyUdt(): UserDefinedType {
  return udt('Property', 32, [udtMember('name', 'StaticStringRef', 0, 16), udtMember('value', 'StaticStringRef', 16, 16)]);
}
