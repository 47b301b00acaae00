// Where an instrumentation call comes from, captured once per descriptor (not per event), so
// descriptors carry file and line like upstream's static metadata.
import { fileURLToPath } from 'node:url';
import { basename, dirname, extname } from 'node:path';

const ownDir = dirname(fileURLToPath(import.meta.url));

export interface CallSite {
  file: string;
  line: number;
}

const unknown: CallSite = { file: '', line: 0 };

/** The first stack frame outside this package's src/ directory. */
export function callerSite(): CallSite {
  const saved = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  try {
    let frames: NodeJS.CallSite[] = [];
    Error.stackTraceLimit = 20;
    Error.prepareStackTrace = (_e, stack) => stack;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, callerSite);
    if (Array.isArray(holder.stack)) frames = holder.stack as NodeJS.CallSite[];
    for (const frame of frames) {
      let file = frame.getFileName() ?? '';
      if (file.startsWith('file://')) file = fileURLToPath(file);
      if (file === '' || file.startsWith(ownDir) || file.startsWith('node:')) continue;
      return { file, line: frame.getLineNumber() ?? 0 };
    }
    return unknown;
  } catch {
    return unknown;
  } finally {
    Error.prepareStackTrace = saved;
    Error.stackTraceLimit = savedLimit;
  }
}

/** A default target for a file: its name without extension ("server" for /app/src/server.ts). */
export function targetOfFile(file: string): string {
  if (file === '') return 'js';
  return basename(file, extname(file)) || 'js';
}
