// The maintenance daemon (reference analytics.md §3.8): materializes the global views every second
// and merges them per minute, hour and day, in update-group order; hourly, applies retention and
// deletes expired temporary files. One failing view never stops the others.
import { deleteExpiredTemporaryFiles, deleteOldData } from './catalog/index.ts';
import { CronTask, msToNanos } from './cron_task.ts';
import { materializePartitionRange, type MaterializeStats } from './batch_update.ts';
import { DEFAULT_GLOBAL_VIEWS } from './global/index.ts';
import type { GlobalView, LakehouseContext } from './view.ts';
import { NS_PER_DAY, NS_PER_HOUR, NS_PER_MINUTE, NS_PER_SECOND } from './view.ts';
import type { Nanos } from '../time.ts';

export const DEFAULT_RETENTION_DAYS = 90;

export interface DaemonOptions {
  retentionDays?: number;
  views?: readonly GlobalView[];
  now?: () => number;
}

export interface DaemonCounters {
  passes: number;
  viewFailures: Map<string, number>;
  lastPass: Record<string, MaterializeStats>;
}

/** Materializes [begin, end) in buckets of `delta` for every view, by ascending update group. */
export async function materializeGlobalViews(
  ctx: LakehouseContext,
  views: readonly GlobalView[],
  begin: Nanos,
  end: Nanos,
  delta: Nanos,
  counters?: DaemonCounters,
): Promise<Record<string, MaterializeStats>> {
  const ordered = [...views].sort((a, b) => a.updateGroup - b.updateGroup);
  const results: Record<string, MaterializeStats> = {};
  for (const view of ordered) {
    try {
      results[view.setName] = await materializePartitionRange(ctx, view, begin, end, delta);
    } catch (err) {
      counters?.viewFailures.set(view.setName, (counters.viewFailures.get(view.setName) ?? 0) + 1);
      ctx.log('error', `materialize ${view.setName} [${begin}, ${end}) failed: ${(err as Error).message}`);
    }
  }
  if (counters) {
    counters.passes++;
    counters.lastPass = results;
  }
  return results;
}

export class MaintenanceDaemon {
  readonly counters: DaemonCounters = { passes: 0, viewFailures: new Map(), lastPass: {} };
  private readonly tasks: CronTask[] = [];
  private readonly views: readonly GlobalView[];
  private readonly retentionDays: number;

  constructor(
    private readonly ctx: LakehouseContext,
    options: DaemonOptions = {},
  ) {
    this.views = options.views ?? DEFAULT_GLOBAL_VIEWS;
    this.retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    const now = options.now;
    const onError = (name: string, err: unknown) => ctx.log('error', `${name} task failed: ${(err as Error)?.message ?? err}`);
    const task = (name: string, periodMs: number, offsetMs: number, maxParallel: number, run: (t: number) => Promise<void>) =>
      this.tasks.push(new CronTask({ name, periodMs, offsetMs, maxParallel, run, onError, now }));
    const trunc = (t: number, period: number) => msToNanos(Math.floor(t / period) * period);
    task('every second', 1000, 500, 5, async (t) => {
      if ((now ?? Date.now)() - t > 10_000) return; // far behind: the minute task catches up
      const T = trunc(t, 1000);
      // The second that just ended is materialized at once for freshness; the one before it is
      // checked again (a source-count comparison, nearly free) to pick up blocks whose transaction
      // committed after the first look.
      await this.pass(T - 2n * NS_PER_SECOND, T, NS_PER_SECOND);
    });
    task('every minute', 60_000, 30_000, 5, async (t) => {
      const T = trunc(t, 60_000);
      await this.pass(T - 2n * NS_PER_MINUTE, T - NS_PER_MINUTE, NS_PER_MINUTE);
    });
    task('every hour', 3_600_000, 600_000, 1, async (t) => {
      await this.cleanup();
      const T = trunc(t, 3_600_000);
      await this.pass(T - 2n * NS_PER_HOUR, T, NS_PER_HOUR);
    });
    task('every day', 86_400_000, 4 * 3_600_000, 1, async (t) => {
      const T = trunc(t, 86_400_000);
      await this.pass(T - 2n * NS_PER_DAY, T, NS_PER_DAY);
    });
  }

  start(): void {
    for (const t of this.tasks) t.start();
    this.ctx.log('info', `maintenance daemon started: ${this.views.map((v) => v.setName).join(', ')}; retention ${this.retentionDays} days`);
  }

  /** One materialization pass over every view (also what the tasks run). */
  pass(begin: Nanos, end: Nanos, delta: Nanos): Promise<Record<string, MaterializeStats>> {
    return materializeGlobalViews(this.ctx, this.views, begin, end, delta, this.counters);
  }

  /** Retention of blocks, payloads, streams, processes and partitions, then expired temporary files. */
  async cleanup(): Promise<void> {
    const { db, blobs } = this.ctx.lake;
    try {
      const counts = await deleteOldData(db, blobs, this.retentionDays);
      this.ctx.log('info', `retention (${this.retentionDays} days): ${JSON.stringify(counts, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    } catch (err) {
      this.ctx.log('error', `retention failed: ${(err as Error).message}`);
    }
    try {
      await deleteExpiredTemporaryFiles(db, blobs);
    } catch (err) {
      this.ctx.log('error', `temporary file cleanup failed: ${(err as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.tasks.map((t) => t.stop()));
  }
}
