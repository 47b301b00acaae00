// The request metadata every call carries, the same attribution headers as upstream's Python client
// (reference analytics.md §5.1) with x-client-type "typescript", plus the query range when given.
import { randomUUID } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { formatTime, type TimeInput } from './time.ts';

export const CLIENT_TYPE = 'typescript';
export const CLIENT_VERSION = '0.1.0';

export interface AttributionOptions {
  /** x-client-type (default "typescript"). */
  clientType?: string;
  /** x-client-agent: default $MICROMEGAS_CLIENT_AGENT, "claude-code" when $CLAUDECODE is set, else "none". */
  agent?: string;
  /** x-client-entrypoint: default $MICROMEGAS_CLIENT_ENTRYPOINT, else "script". */
  entrypoint?: string;
  /** x-client-session: default $CLAUDE_CODE_SESSION_ID, else a UUID per client. */
  sessionId?: string;
}

export function attributionHeaders(o: AttributionOptions, env: NodeJS.ProcessEnv): Record<string, string> {
  return {
    'x-client-type': o.clientType ?? CLIENT_TYPE,
    'x-client-version': CLIENT_VERSION,
    'x-client-agent': o.agent ?? env.MICROMEGAS_CLIENT_AGENT ?? (env.CLAUDECODE ? 'claude-code' : 'none'),
    'x-client-entrypoint': o.entrypoint ?? env.MICROMEGAS_CLIENT_ENTRYPOINT ?? 'script',
    'x-client-session': o.sessionId ?? env.CLAUDE_CODE_SESSION_ID ?? randomUUID(),
  };
}

/** The metadata of one call: fixed headers, then the range (each bound sent when given, as upstream). */
export function callMetadata(fixed: Record<string, string>, begin?: TimeInput, end?: TimeInput): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(fixed)) md.set(k, v);
  if (begin !== undefined) md.set('query_range_begin', formatTime(begin));
  if (end !== undefined) md.set('query_range_end', formatTime(end));
  return md;
}
