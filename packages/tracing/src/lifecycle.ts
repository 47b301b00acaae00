// Exit hooks: deliver what was recorded when the program ends normally, is interrupted (SIGINT,
// SIGTERM) or dies of an uncaught exception, then end the way Node would have without us.
import { inspect } from 'node:util';
import { Level, flushAllStreams, logInterop } from './recording.ts';

export interface ExitHookTarget {
  /** Flushes and delivers (bounded), then stops recording. */
  shutdown(): Promise<void>;
  /** Flushes and delivers (bounded), recording goes on. */
  flush(): Promise<void>;
}

export interface ExitHookOptions {
  /** Upper bound of the delivery attempted on a signal or an uncaught exception. Default 5 s. */
  deadlineMs?: number;
  /** Exit, instead of process.exit (for tests). */
  exit?: (code: number) => void;
  /** Re-raises a signal with its default behaviour (for tests). */
  reraise?: (signal: NodeJS.Signals) => void;
}

const SIGNAL_EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Installs the hooks; returns a function removing them.
 * - beforeExit (the event loop ran dry): shut telemetry down, which delivers what is left.
 * - exit (process.exit() was called; nothing asynchronous can run any more): close the current blocks,
 *   which is enough for synchronous sinks such as the console sink.
 * - SIGINT/SIGTERM: deliver (bounded). If the program has no handler of its own for the signal, shut
 *   down and end with the signal's default behaviour (exit status 130/143); otherwise its handler decides.
 * - uncaughtException (and unhandled rejections, which Node turns into one): log it as fatal, print it
 *   like Node does, deliver (bounded) and exit with status 1. If the program has its own handler,
 *   only log and flush.
 */
export function installExitHooks(target: ExitHookTarget, options: ExitHookOptions = {}): () => void {
  const deadlineMs = options.deadlineMs ?? 5_000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const reraise = options.reraise ?? defaultReraise;
  let exiting = false;

  const bounded = (work: Promise<void>): Promise<void> =>
    new Promise((resolve) => {
      // Ref'd: the program must stay alive until delivery is done or the deadline passes.
      const timer = setTimeout(resolve, deadlineMs);
      work.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        () => {
          clearTimeout(timer);
          resolve();
        },
      );
    });

  const onBeforeExit = (): void => {
    if (exiting) return;
    exiting = true;
    void bounded(target.shutdown());
  };

  const onExit = (): void => {
    try {
      flushAllStreams();
    } catch {
      // Nothing can be done this late.
    }
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (exiting) {
      // Asked twice: stop waiting for delivery.
      exit(SIGNAL_EXIT_CODES[signal] ?? 1);
      return;
    }
    const programHandles = process.listenerCount(signal) > 1;
    if (programHandles) {
      void bounded(target.flush());
      return;
    }
    exiting = true;
    void bounded(target.shutdown()).then(() => {
      remove();
      reraise(signal);
    });
  };

  const onUncaught = (error: unknown, origin: string): void => {
    try {
      const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : inspect(error);
      const prefix = origin === 'unhandledRejection' ? 'unhandled promise rejection: ' : 'uncaught exception: ';
      logInterop(Level.Fatal, 'uncaught', prefix + text);
    } catch {
      // Recording must not hide the original error.
    }
    const programHandles = process.listenerCount('uncaughtException') > 1;
    if (programHandles) {
      void bounded(target.flush());
      return;
    }
    // Node prints the error to stderr and exits with status 1; we do the same after delivering.
    process.stderr.write(`${inspectUncaught(error)}\n\nNode.js ${process.version}\n`);
    process.exitCode = 1;
    if (exiting) return;
    exiting = true;
    void bounded(target.shutdown()).then(() => exit(1));
  };

  process.on('beforeExit', onBeforeExit);
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('uncaughtException', onUncaught);

  let removed = false;
  function remove(): void {
    if (removed) return;
    removed = true;
    process.off('beforeExit', onBeforeExit);
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('uncaughtException', onUncaught);
  }
  return remove;
}

function inspectUncaught(error: unknown): string {
  if (error instanceof Error) return inspect(error);
  return `Uncaught ${inspect(error)}`;
}

function defaultReraise(signal: NodeJS.Signals): void {
  // Our listener is gone, so the signal's default action (termination) applies again.
  try {
    process.kill(process.pid, signal);
  } catch {
    // Fall through to an explicit exit below.
  }
  // Platforms without POSIX signal delivery (Windows) end here.
  setTimeout(() => process.exit(SIGNAL_EXIT_CODES[signal] ?? 1), 100).unref();
}
