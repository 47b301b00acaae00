// Call tree of one thread over one contiguous chain of blocks (upstream call_tree.rs semantics),
// stored as flat arrays: a node is an index; children form a linked list in completion order.
// Times are ns as numbers on any common base (callers use offsets from the process start).
import type { BlockMeta, StreamMeta } from '../metadata.ts';
import { F64Col, I32Col } from './columns.ts';
import type { ScopeTable } from './scope_hash.ts';

/** Id of nodes without an event (the synthetic thread root); emitted as is. */
export const NO_ID = -1;

/** Upstream get_thread_name_from_stream_metadata. */
export function threadNameFromStream(stream: Pick<StreamMeta, 'streamId' | 'properties'>): string {
  if (stream.properties.size === 0) return stream.streamId;
  const name = stream.properties.get('thread-name');
  const id = stream.properties.get('thread-id') ?? stream.streamId;
  return name === undefined ? id : `${name}-${id}`;
}

/**
 * Splits blocks (in event order) into chains without gaps: a block starting after the running max
 * end of the chain so far starts a new chain; touching or overlapping blocks extend it.
 */
export function groupContiguousBlockChains<T extends { block: Pick<BlockMeta, 'beginTicks' | 'endTicks'> }>(blocks: readonly T[]): T[][] {
  const chains: T[][] = [];
  let chain: T[] = [];
  let chainEnd: bigint | undefined;
  for (const b of blocks) {
    if (chainEnd !== undefined && b.block.beginTicks > chainEnd) {
      chains.push(chain);
      chain = [];
      chainEnd = b.block.endTicks;
    } else if (chainEnd === undefined || b.block.endTicks > chainEnd) {
      chainEnd = b.block.endTicks;
    }
    chain.push(b);
  }
  if (chain.length > 0) chains.push(chain);
  return chains;
}

export class ScopeMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScopeMismatchError';
  }
}

/** Rows of span tables, depth-first pre-order; `scope` indexes the builder's ScopeTable. */
export class SpanRows {
  readonly ids: F64Col;
  readonly parents: F64Col;
  readonly depths: I32Col;
  readonly scopes: I32Col;
  readonly begins: F64Col;
  readonly ends: F64Col;
  constructor(capacity = 1024) {
    this.ids = new F64Col(capacity);
    this.parents = new F64Col(capacity);
    this.depths = new I32Col(capacity);
    this.scopes = new I32Col(capacity);
    this.begins = new F64Col(capacity);
    this.ends = new F64Col(capacity);
  }
  get length(): number {
    return this.ids.n;
  }
}

export class CallTreeBuilder {
  // node storage
  private cap: number;
  private count = 0;
  private id: Float64Array;
  private scope: Int32Array;
  private begin: Float64Array;
  private end: Float64Array;
  private parent: Int32Array;
  private firstChild: Int32Array;
  private lastChild: Int32Array;
  private nextSibling: Int32Array;
  private readonly stack: number[] = [];
  private readonly rootScope: number;

  /** `capacityHint`: expected node count (about half the chain's objects), to avoid regrowing. */
  constructor(
    readonly beginRangeNs: number,
    readonly endRangeNs: number,
    threadName: string,
    readonly scopes: ScopeTable,
    capacityHint = 256,
  ) {
    this.rootScope = scopes.intern(threadName, '', '', 0);
    const cap = (this.cap = Math.max(16, capacityHint));
    this.id = new Float64Array(cap);
    this.scope = new Int32Array(cap);
    this.begin = new Float64Array(cap);
    this.end = new Float64Array(cap);
    this.parent = new Int32Array(cap);
    this.firstChild = new Int32Array(cap);
    this.lastChild = new Int32Array(cap);
    this.nextSibling = new Int32Array(cap);
  }

  private newNode(id: number, scope: number, begin: number, end: number): number {
    if (this.count === this.cap) this.grow();
    const n = this.count++;
    this.id[n] = id;
    this.scope[n] = scope;
    this.begin[n] = begin;
    this.end[n] = end;
    this.parent[n] = -1;
    this.firstChild[n] = -1;
    this.lastChild[n] = -1;
    this.nextSibling[n] = -1;
    return n;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const f = (a: Float64Array) => { const b = new Float64Array(cap); b.set(a); return b; };
    const i = (a: Int32Array) => { const b = new Int32Array(cap); b.set(a); return b; };
    this.id = f(this.id);
    this.begin = f(this.begin);
    this.end = f(this.end);
    this.scope = i(this.scope);
    this.parent = i(this.parent);
    this.firstChild = i(this.firstChild);
    this.lastChild = i(this.lastChild);
    this.nextSibling = i(this.nextSibling);
    this.cap = cap;
  }

  private attach(parent: number, child: number): void {
    const last = this.lastChild[parent]!;
    if (last === -1) this.firstChild[parent] = child;
    else this.nextSibling[last] = child;
    this.lastChild[parent] = child;
    this.parent[child] = parent;
  }

  /** A completed node goes under the stack top, or under a fresh thread root if the stack is empty. */
  private addChildToTop(node: number): void {
    const s = this.stack;
    if (s.length > 0) {
      this.attach(s[s.length - 1]!, node);
    } else {
      const root = this.newNode(NO_ID, this.rootScope, this.beginRangeNs, this.endRangeNs);
      this.attach(root, node);
      s.push(root);
    }
  }

  /** Returns false when the event is past the range (the caller stops reading the block). */
  onBegin(eventId: number, scope: number, timeNs: number): boolean {
    if (timeNs < this.beginRangeNs) return true;
    if (timeNs > this.endRangeNs) return false;
    this.stack.push(this.newNode(eventId, scope, timeNs, this.endRangeNs));
    return true;
  }

  onEnd(blockId: string, eventId: number, scope: number, timeNs: number): boolean {
    if (timeNs < this.beginRangeNs) return true;
    if (timeNs > this.endRangeNs) return false;
    const top = this.stack.pop();
    if (top === undefined) {
      // the span began before the chain: it starts at the range begin
      this.addChildToTop(this.newNode(eventId, scope, this.beginRangeNs, timeNs));
      return true;
    }
    const topScope = this.scope[top]!;
    if (topScope === scope) {
      this.end[top] = timeNs;
      this.addChildToTop(top);
    } else if (topScope === this.rootScope) {
      // Closing a span that began before the chain while spans it contained were already closed
      // under the thread root: the root becomes that span, and a new root goes above it.
      this.id[top] = eventId;
      this.scope[top] = scope;
      this.end[top] = timeNs;
      this.addChildToTop(top);
    } else {
      const names = this.scopes.scopes;
      throw new ScopeMismatchError(`top scope mismatch in block ${blockId}: closing '${names[scope]!.name}' but '${names[topScope]!.name}' is open`);
    }
    return true;
  }

  /** Closes what is still open (unclosed spans keep the range end) and returns the root, or -1. */
  finish(): number {
    const s = this.stack;
    while (s.length > 1) {
      const top = s.pop()!;
      this.attach(s[s.length - 1]!, top);
    }
    const root = s.length === 1 ? s[0]! : -1;
    s.length = 0;
    return root;
  }

  /** Appends the tree under `root` depth-first pre-order: the root has parent 0 and depth 0. */
  appendRows(root: number, rows: SpanRows): void {
    if (root < 0) return;
    const { id, scope, begin, end, parent, firstChild, nextSibling } = this;
    let node = root;
    let depth = 0;
    for (;;) {
      rows.ids.push(id[node]!);
      rows.parents.push(node === root ? 0 : id[parent[node]!]!);
      rows.depths.push(depth);
      rows.scopes.push(scope[node]!);
      rows.begins.push(begin[node]!);
      rows.ends.push(end[node]!);
      const child = firstChild[node]!;
      if (child !== -1) {
        node = child;
        depth++;
        continue;
      }
      // climb until a node with a next sibling, stopping at the root
      while (node !== root && nextSibling[node] === -1) {
        node = parent[node]!;
        depth--;
      }
      if (node === root) return;
      node = nextSibling[node]!;
    }
  }
}
