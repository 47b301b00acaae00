// A pino destination writing into micromegas logs: `pino({}, micromegasPinoDestination())`.
// pino is not imported: the destination only parses the JSON lines pino writes.
import { Level, logInterop } from './recording.ts';

export interface PinoDestinationOptions {
  /** Log target when the line has no `name` (the pino logger's name). Default "pino". */
  target?: string;
  /** Also write each line to this stream (e.g. process.stdout), unchanged. */
  echo?: { write(line: string): unknown };
}

// Fields every pino line carries that say nothing about the event itself.
const ENVELOPE_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'name', 'v']);

/** pino's numeric levels (trace 10 … fatal 60, custom levels in between) to micromegas levels. */
export function pinoLevel(level: unknown): Level {
  if (typeof level !== 'number') return Level.Info;
  if (level >= 60) return Level.Fatal;
  if (level >= 50) return Level.Error;
  if (level >= 40) return Level.Warn;
  if (level >= 30) return Level.Info;
  if (level >= 20) return Level.Debug;
  return Level.Trace;
}

/**
 * A stream for pino: each line becomes one log entry whose message is `msg` followed by the other
 * fields as compact JSON (`{"user":"ann"}`); an `err` field contributes its stack. Lines that are
 * not JSON are logged as they are, at Info.
 */
export function micromegasPinoDestination(options: PinoDestinationOptions = {}): { write(line: string): void } {
  const defaultTarget = options.target ?? 'pino';
  return {
    write(line: string): void {
      try {
        options.echo?.write(line);
      } catch {
        // The echo is best effort.
      }
      try {
        const text = line.endsWith('\n') ? line.slice(0, -1) : line;
        let entry: unknown;
        try {
          entry = JSON.parse(text);
        } catch {
          entry = undefined;
        }
        if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
          logInterop(Level.Info, defaultTarget, text);
          return;
        }
        const record = entry as Record<string, unknown>;
        const target = typeof record.name === 'string' && record.name !== '' ? record.name : defaultTarget;
        logInterop(pinoLevel(record.level), target, messageOf(record));
      } catch {
        // A logging destination must never throw into the program.
      }
    },
  };
}

function messageOf(record: Record<string, unknown>): string {
  const extra: Record<string, unknown> = {};
  let stack = '';
  for (const [key, value] of Object.entries(record)) {
    if (ENVELOPE_FIELDS.has(key)) continue;
    if (key === 'err' && value !== null && typeof value === 'object' && typeof (value as { stack?: unknown }).stack === 'string') {
      stack = (value as { stack: string }).stack;
      continue;
    }
    extra[key] = value;
  }
  const parts: string[] = [];
  if (record.msg !== undefined) parts.push(typeof record.msg === 'string' ? record.msg : JSON.stringify(record.msg));
  if (Object.keys(extra).length > 0) parts.push(JSON.stringify(extra));
  if (stack) parts.push(stack);
  return parts.join(' ');
}
