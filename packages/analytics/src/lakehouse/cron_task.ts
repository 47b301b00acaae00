// A periodic task aligned on wall-clock multiples of its period plus an offset (upstream's CronTask):
// the callback gets its scheduled time; at most `maxParallel` runs overlap, later ones are skipped.
import type { Nanos } from '../time.ts';

export interface CronTaskOptions {
  name: string;
  periodMs: number;
  offsetMs: number;
  maxParallel: number;
  run: (scheduledMs: number) => Promise<void>;
  onError: (name: string, err: unknown) => void;
  now?: () => number;
}

export class CronTask {
  private timer: NodeJS.Timeout | undefined;
  private running = new Set<Promise<void>>();
  private nextRun: number;
  private stopped = false;
  skipped = 0;

  constructor(private readonly o: CronTaskOptions) {
    const now = (o.now ?? Date.now)();
    this.nextRun = Math.floor(now / o.periodMs) * o.periodMs + o.periodMs + o.offsetMs;
  }

  start(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = Math.max(0, this.nextRun - (this.o.now ?? Date.now)());
    this.timer = setTimeout(() => this.fire(), delay);
    this.timer.unref?.();
  }

  private fire(): void {
    const scheduled = this.nextRun;
    this.nextRun += this.o.periodMs;
    if (this.running.size >= this.o.maxParallel) this.skipped++;
    else {
      const p: Promise<void> = this.o
        .run(scheduled)
        .catch((err) => this.o.onError(this.o.name, err))
        .finally(() => this.running.delete(p));
      this.running.add(p);
    }
    this.schedule();
  }

  /** Stops scheduling and waits for the runs in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.running]);
  }
}

export const msToNanos = (ms: number): Nanos => BigInt(ms) * 1_000_000n;
