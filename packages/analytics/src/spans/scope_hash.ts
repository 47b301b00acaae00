// Scope identity as upstream computes it (scope.rs compute_scope_hash): an xxh32 chain seeded by
// the previous step, over the UTF-8 bytes of name, filename and target, then the line as 4 LE bytes.
import { TransitObject, xxh32, type TransitValue } from '@micromegas/transit';

const utf8 = new TextEncoder();
const lineBytes = new Uint8Array(4);
const lineView = new DataView(lineBytes.buffer);

export function computeScopeHash(name: string, filename: string, target: string, line: number): number {
  let h = xxh32(utf8.encode(name), 0);
  h = xxh32(utf8.encode(filename), h);
  h = xxh32(utf8.encode(target), h);
  lineView.setUint32(0, line >>> 0, true);
  return xxh32(lineBytes, h);
}

export interface ScopeDesc {
  readonly name: string;
  readonly filename: string;
  readonly target: string;
  readonly line: number;
  readonly hash: number;
}

/**
 * Interned scopes with dense indices, so rows carry an int instead of a scope object. With
 * `byHash` (thread spans) a hash keeps the first description seen, like upstream's ScopeHashMap
 * that names call-tree rows; without it (async events) every distinct description is kept, as
 * upstream writes each event's own strings.
 */
export class ScopeTable {
  readonly scopes: ScopeDesc[] = [];
  private readonly byHash = new Map<number, number>();
  private readonly byKey = new Map<string, number>();

  constructor(private readonly mergeByHash = true) {}

  intern(name: string, filename: string, target: string, line: number): number {
    // The text key spares re-hashing a scope met again in another block (descriptor objects are
    // per block, so their identity cache misses once per block and scope).
    const key = `${line}\u0000${name}\u0000${filename}\u0000${target}`;
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    const hash = computeScopeHash(name, filename, target, line);
    let index = this.mergeByHash ? this.byHash.get(hash) : undefined;
    if (index === undefined) {
      index = this.scopes.length;
      this.scopes.push({ name, filename, target, line: line >>> 0, hash });
      if (this.mergeByHash) this.byHash.set(hash, index);
    }
    this.byKey.set(key, index);
    return index;
  }
}

function str(o: TransitObject, member: string, what: string): string {
  const v = o.members.get(member);
  if (typeof v !== 'string') throw new Error(`reading ${what}: member ${member} is not a string`);
  return v;
}

function u32(o: TransitObject, member: string, what: string): number {
  const v = o.members.get(member);
  if (typeof v !== 'number') throw new Error(`reading ${what}: member ${member} is not an integer`);
  return v;
}

/**
 * Resolves events' scope references to ScopeTable indices. Within a block every event of a scope
 * references the same decoded descriptor object, so an identity cache makes the common case one
 * map lookup; call `nextBlock()` between blocks so old blocks' objects are not retained.
 */
export class EventScopeResolver {
  private byDesc = new Map<TransitObject, number>();
  private byLocation = new Map<TransitObject, Map<string, number>>();

  constructor(readonly table: ScopeTable) {}

  nextBlock(): void {
    this.byDesc.clear();
    this.byLocation.clear();
  }

  /** A `{name, file, target, line}` descriptor (thread_span_desc / span_desc). */
  fromDesc(desc: TransitValue | undefined, what: string): number {
    if (!(desc instanceof TransitObject)) throw new Error(`reading ${what}: missing span descriptor`);
    const known = this.byDesc.get(desc);
    if (known !== undefined) return known;
    const index = this.table.intern(str(desc, 'name', what), str(desc, 'file', what), str(desc, 'target', what), u32(desc, 'line', what));
    this.byDesc.set(desc, index);
    return index;
  }

  /** A `{file, target, line}` location plus the event's run-time name. */
  fromLocation(location: TransitValue | undefined, name: TransitValue | undefined, what: string): number {
    if (!(location instanceof TransitObject)) throw new Error(`reading ${what}: missing span location`);
    if (typeof name !== 'string') throw new Error(`reading ${what}: member name is not a string`);
    let names = this.byLocation.get(location);
    if (names === undefined) {
      names = new Map();
      this.byLocation.set(location, names);
    }
    const known = names.get(name);
    if (known !== undefined) return known;
    const index = this.table.intern(name, str(location, 'file', what), str(location, 'target', what), u32(location, 'line', what));
    names.set(name, index);
    return index;
  }
}

interface SpanEventKind {
  begin: boolean;
  named: boolean;
}

/** The span events of each family: which begin, which carry a run-time name, and their member names. */
const SPAN_EVENTS = {
  thread: {
    desc: 'thread_span_desc',
    location: 'thread_span_location',
    kinds: {
      BeginThreadSpanEvent: { begin: true, named: false },
      EndThreadSpanEvent: { begin: false, named: false },
      BeginThreadNamedSpanEvent: { begin: true, named: true },
      EndThreadNamedSpanEvent: { begin: false, named: true },
    } as Record<string, SpanEventKind>,
  },
  async: {
    desc: 'span_desc',
    location: 'span_location',
    kinds: {
      BeginAsyncSpanEvent: { begin: true, named: false },
      EndAsyncSpanEvent: { begin: false, named: false },
      BeginAsyncNamedSpanEvent: { begin: true, named: true },
      EndAsyncNamedSpanEvent: { begin: false, named: true },
    } as Record<string, SpanEventKind>,
  },
} as const;

/**
 * A decoded object's span event of a family (thread or async): its scope and whether it begins;
 * undefined for any other object.
 */
export function spanEventScope(o: TransitObject, resolver: EventScopeResolver, family: 'thread' | 'async'): { scope: number; begin: boolean } | undefined {
  const events = SPAN_EVENTS[family];
  const kind = events.kinds[o.typeName];
  if (!kind) return undefined;
  const m = o.members;
  const scope = kind.named ? resolver.fromLocation(m.get(events.location), m.get('name'), o.typeName) : resolver.fromDesc(m.get(events.desc), o.typeName);
  return { scope, begin: kind.begin };
}
