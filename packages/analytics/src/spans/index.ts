// Span views' row builders: thread_spans (call trees), async_events, net_spans.
export { computeScopeHash, ScopeTable, EventScopeResolver, type ScopeDesc } from './scope_hash.ts';
export { CallTreeBuilder, SpanRows, ScopeMismatchError, NO_ID, groupContiguousBlockChains, threadNameFromStream } from './call_tree.ts';
export { threadSpansSchema, THREAD_SPANS_SCHEMA_HASH, buildThreadSpans, spanRowsToBatch, BeginRegressionError, type ThreadSpansInput, type ThreadSpansOutput } from './thread_spans.ts';
export { asyncEventsSchema, ASYNC_EVENTS_SCHEMA_HASH, buildAsyncEvents, type AsyncEventsInput } from './async_events.ts';
export { netSpansSchema, NET_SPANS_SCHEMA_HASH, buildNetSpans, ROOT_PARENT_SPAN_ID, type NetSpansInput, type NetSpansOutput } from './net_spans.ts';
export { buildThreadSpansFromBuffers, buildAsyncEventsFromBuffers, type SpanBlockBuffers, type ThreadSpansBuffersInput, type AsyncEventsBuffersInput } from './span_buffers.ts';
