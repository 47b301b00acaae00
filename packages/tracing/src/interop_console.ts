// Routes console.* into micromegas logs (target "console"), still printing to the terminal unless told
// not to. Each thread has its own console: call this in every worker thread that should be captured.
import { format } from 'node:util';
import { Level, logInterop } from './recording.ts';

export interface InterceptConsoleOptions {
  /** Keep printing through the original console methods. Default true. */
  echo?: boolean;
  /** Log target of the entries. Default "console". */
  target?: string;
}

type ConsoleMethod = 'log' | 'info' | 'warn' | 'error' | 'debug' | 'trace';

export const CONSOLE_LEVELS: Record<ConsoleMethod, Level> = {
  log: Level.Info,
  info: Level.Info,
  warn: Level.Warn,
  error: Level.Error,
  debug: Level.Debug,
  trace: Level.Trace,
};

let installed: (() => void) | null = null;

/** Replaces console.log/info/warn/error/debug/trace; returns a function restoring the originals. */
export function interceptConsole(options: InterceptConsoleOptions = {}): () => void {
  installed?.(); // one interception at a time; the newest options win
  const echo = options.echo ?? true;
  const target = options.target ?? 'console';
  const originals = new Map<ConsoleMethod, (...args: unknown[]) => void>();
  let recording = false;
  for (const method of Object.keys(CONSOLE_LEVELS) as ConsoleMethod[]) {
    const original = console[method] as (...args: unknown[]) => void;
    originals.set(method, original);
    const level = CONSOLE_LEVELS[method];
    console[method] = function intercepted(...args: unknown[]): void {
      // Re-entry (something printing while we record) goes straight to the original.
      if (!recording) {
        recording = true;
        try {
          const message = format(...args);
          logInterop(level, target, method === 'trace' ? `Trace: ${message}` : message);
        } catch {
          // Telemetry must never break printing.
        } finally {
          recording = false;
        }
      }
      if (echo) original.apply(console, args);
    };
  }
  const restore = (): void => {
    for (const [method, original] of originals) console[method] = original;
    if (installed === restore) installed = null;
  };
  installed = restore;
  return restore;
}
