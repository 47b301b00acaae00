// Span API. Thread spans are scopes around synchronous work (Begin/EndThreadSpanEvent), nestable by
// construction. Async spans follow a promise across awaits: each gets an id from a process-global
// counter, its parent is the async span active where it started (AsyncLocalStorage), depth counts
// the nesting from 0 for a root. All events go to the cpu stream of the thread that runs them.
import { AsyncLocalStorage } from 'node:async_hooks';
import { SpanDescriptor, SpanLocation, defaultSpanLocation, type SiteOptions } from './descriptors.ts';
import { state } from './dispatch.ts';
import { newSpanId } from './ids.ts';
import { Verbosity } from './levels.ts';
import { ThreadObj } from './stream_layouts.ts';
import { internString } from './strings.ts';
import { ticksNow } from './time.ts';

/** The async span a piece of code runs in. */
export interface AsyncSpanFrame {
  readonly spanId: number;
  readonly depth: number;
}

const context = new AsyncLocalStorage<AsyncSpanFrame>();
const byName = new Map<string, SpanDescriptor>();
const MAX_CACHED = 10000;

function descriptorFor(name: string): SpanDescriptor {
  let d = byName.get(name);
  if (d === undefined) {
    if (byName.size >= MAX_CACHED) byName.clear();
    d = new SpanDescriptor(name);
    byName.set(name, d);
  }
  return d;
}

function resolve(span: string | SpanDescriptor): SpanDescriptor {
  return typeof span === 'string' ? descriptorFor(span) : span;
}

/** A span with a static name, created once. */
export function spanDescriptor(name: string, options?: SiteOptions, lod: Verbosity = Verbosity.Min): SpanDescriptor {
  return new SpanDescriptor(name, options, lod);
}

/** Where spans with run-time names come from (defaults to the caller's file and line). */
export function spanLocation(options?: SiteOptions, lod: Verbosity = Verbosity.Min): SpanLocation {
  return new SpanLocation(options, lod);
}

// --- thread spans --------------------------------------------------------------------------------

export function beginSpan(desc: SpanDescriptor): void {
  if (!state.active) return;
  state.thread!.threadSpan(ThreadObj.BeginThreadSpan, desc, ticksNow());
}

export function endSpan(desc: SpanDescriptor): void {
  if (!state.active) return;
  state.thread!.threadSpan(ThreadObj.EndThreadSpan, desc, ticksNow());
}

/** Runs `fn` inside a thread span; the span ends when `fn` returns or throws. */
export function spanScope<T>(span: string | SpanDescriptor, fn: () => T): T {
  if (!state.active) return fn();
  const desc = resolve(span);
  state.thread!.threadSpan(ThreadObj.BeginThreadSpan, desc, ticksNow());
  try {
    return fn();
  } finally {
    if (state.active) state.thread!.threadSpan(ThreadObj.EndThreadSpan, desc, ticksNow());
  }
}

/** Begins a thread span whose name is only known at run time. */
export function beginNamedSpan(name: string, location: SpanLocation = defaultSpanLocation()): void {
  if (!state.active) return;
  state.thread!.namedThreadSpan(ThreadObj.BeginThreadNamedSpan, location, internString(name), ticksNow());
}

export function endNamedSpan(name: string, location: SpanLocation = defaultSpanLocation()): void {
  if (!state.active) return;
  state.thread!.namedThreadSpan(ThreadObj.EndThreadNamedSpan, location, internString(name), ticksNow());
}

/** Runs `fn` inside a thread span with a run-time name. */
export function namedSpanScope<T>(name: string, fn: () => T, location: SpanLocation = defaultSpanLocation()): T {
  if (!state.active) return fn();
  const entry = internString(name);
  state.thread!.namedThreadSpan(ThreadObj.BeginThreadNamedSpan, location, entry, ticksNow());
  try {
    return fn();
  } finally {
    if (state.active) state.thread!.namedThreadSpan(ThreadObj.EndThreadNamedSpan, location, entry, ticksNow());
  }
}

// --- async spans ---------------------------------------------------------------------------------

/** The async span the caller runs in, if any. */
export function currentAsyncSpan(): AsyncSpanFrame | undefined {
  return context.getStore();
}

/** Runs `fn` (sync or async) inside an async span that ends when its promise settles. */
export async function asyncSpan<T>(span: string | SpanDescriptor, fn: () => T | Promise<T>): Promise<T> {
  if (!state.active) return fn();
  const desc = resolve(span);
  const parent = context.getStore();
  const frame: AsyncSpanFrame = { spanId: newSpanId(), depth: parent === undefined ? 0 : parent.depth + 1 };
  const parentId = parent === undefined ? 0 : parent.spanId;
  state.thread!.asyncSpan(ThreadObj.BeginAsyncSpan, desc, frame.spanId, parentId, frame.depth, ticksNow());
  try {
    return await context.run(frame, fn);
  } finally {
    if (state.active) state.thread!.asyncSpan(ThreadObj.EndAsyncSpan, desc, frame.spanId, parentId, frame.depth, ticksNow());
  }
}

/** An async span with a run-time name (Begin/EndAsyncNamedSpanEvent). */
export async function asyncNamedSpan<T>(name: string, fn: () => T | Promise<T>, location: SpanLocation = defaultSpanLocation()): Promise<T> {
  if (!state.active) return fn();
  const entry = internString(name);
  const parent = context.getStore();
  const frame: AsyncSpanFrame = { spanId: newSpanId(), depth: parent === undefined ? 0 : parent.depth + 1 };
  const parentId = parent === undefined ? 0 : parent.spanId;
  state.thread!.namedAsyncSpan(ThreadObj.BeginAsyncNamedSpan, location, entry, frame.spanId, parentId, frame.depth, ticksNow());
  try {
    return await context.run(frame, fn);
  } finally {
    if (state.active) {
      state.thread!.namedAsyncSpan(ThreadObj.EndAsyncNamedSpan, location, entry, frame.spanId, parentId, frame.depth, ticksNow());
    }
  }
}

const AsyncFunction = (async () => {}).constructor;

/**
 * Wraps a function so each call is a span named `name`: an async span for async functions, a
 * thread span otherwise.
 */
export function instrument<A extends unknown[], R>(name: string, fn: (...args: A) => R): (...args: A) => R {
  const desc = descriptorFor(name);
  if (fn instanceof AsyncFunction) {
    return function (this: unknown, ...args: A): R {
      return asyncSpan(desc, () => fn.apply(this, args) as Promise<unknown>) as R;
    };
  }
  return function (this: unknown, ...args: A): R {
    return spanScope(desc, () => fn.apply(this, args));
  };
}
