// A few long-lived, sandboxed DuckDB instances for queries. Creating and sandboxing an instance costs
// tens of milliseconds (instance, macros, JS functions, settings), more than many queries take, so
// each instance is configured once and then runs one query at a time, on a connection of its own.
// Settings are instance-wide, hence one query per instance: memory_limit and threads are the query's.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { MACROS, registerFunctions } from './functions.ts';
import { sqlString } from './views_sql.ts';

export interface PoolOptions {
  /** Instances at most (= queries at once). */
  size: number;
  /** Instances created ahead of the first query. */
  prewarm: number;
  threads: number;
  memoryLimit: string;
  /** Directories queries may read (the lake's partitions); nothing else is reachable. */
  readable: readonly string[];
  /** Statements run once on each instance, before the sandbox closes (e.g. the views' baseline). */
  setup: readonly string[];
}

/** An instance with the session functions defined, sandboxed and locked. */
/**
 * The last settings of a sandboxed DuckDB instance: no extension installed or loaded, no file or
 * network access beyond the directories allowed before, and no setting changed afterwards.
 */
export const SANDBOX_LOCKDOWN: readonly string[] = [
  'SET autoinstall_known_extensions = false',
  'SET autoload_known_extensions = false',
  'SET enable_external_access = false',
  'SET lock_configuration = true',
];

export class SandboxInstance {
  private constructor(
    private readonly instance: DuckDBInstance,
    /** Kept open for the instance's life: the JS functions were registered through it. */
    private readonly setup: DuckDBConnection,
    private readonly tempDir: string,
  ) {}

  static async create(options: PoolOptions): Promise<SandboxInstance> {
    const tempDir = await mkdtemp(join(tmpdir(), 'mm-query-'));
    let instance: DuckDBInstance | undefined;
    try {
      instance = await DuckDBInstance.create(':memory:', { threads: String(options.threads), memory_limit: options.memoryLimit });
      const setup = await instance.connect();
      for (const m of MACROS) await setup.run(m);
      registerFunctions(setup);
      for (const sql of options.setup) await setup.run(sql);
      // The sandbox: the lake's partition directories and the instance's spill directory are the
      // only files DuckDB can reach (paths escaping them with `..` are refused too), no extension
      // loads, and no setting can change afterwards. Writes inside the readable directories are
      // possible to DuckDB; the engine only runs SELECT/EXPLAIN statements, which cannot write.
      const dirs = [...options.readable, tempDir].map((d) => (d.endsWith(sep) ? d : d + sep));
      await setup.run(`SET GLOBAL TimeZone = 'UTC'`);
      await setup.run(`SET temp_directory = ${sqlString(tempDir)}`);
      await setup.run(`SET allowed_directories = [${dirs.map(sqlString).join(', ')}]`);
      for (const sql of SANDBOX_LOCKDOWN) await setup.run(sql);
      return new SandboxInstance(instance, setup, tempDir);
    } catch (err) {
      instance?.closeSync();
      await rm(tempDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** A fresh connection: its temporary views and tables disappear when it is closed. */
  connect(): Promise<DuckDBConnection> {
    return this.instance.connect();
  }

  async destroy(): Promise<void> {
    try {
      this.setup.closeSync();
      this.instance.closeSync();
    } finally {
      await rm(this.tempDir, { recursive: true, force: true });
    }
  }
}

export interface Lease {
  instance: SandboxInstance;
  /**
   * Gives the instance back. `healthy: false` after anything that may have left it unusable or
   * changed (interrupt, out of memory, fatal error, functions registered by the query): it is
   * destroyed and a new one is prepared in the background.
   */
  release(healthy: boolean): void;
}

export class InstancePool {
  private readonly idle: SandboxInstance[] = [];
  private readonly waiting: { resolve: (i: SandboxInstance) => void; reject: (e: unknown) => void }[] = [];
  /** Instances existing or being created (idle, leased, starting). */
  private live = 0;
  private closed = false;
  private readonly retiring = new Set<Promise<void>>();

  constructor(private readonly options: PoolOptions) {
    for (let i = 0; i < Math.min(options.prewarm, options.size); i++) this.spawn();
  }

  /** Starts an instance; it goes to the first waiter, else to the idle list. */
  private spawn(): void {
    this.live++;
    SandboxInstance.create(this.options).then(
      (instance) => this.give(instance),
      (err: unknown) => {
        this.live--;
        // Creation failed: a waiter gets the error rather than waiting forever.
        this.waiting.shift()?.reject(err);
      },
    );
  }

  private give(instance: SandboxInstance): void {
    if (this.closed) return this.retire(instance);
    const waiter = this.waiting.shift();
    if (waiter) waiter.resolve(instance);
    else this.idle.push(instance);
  }

  private retire(instance: SandboxInstance): void {
    this.live--;
    const done = instance.destroy().catch(() => {}).finally(() => this.retiring.delete(done));
    this.retiring.add(done);
  }

  /** A free instance, waiting for one when all are busy. */
  async acquire(): Promise<Lease> {
    if (this.closed) throw new Error('the query engine is closed');
    let instance = this.idle.pop();
    if (!instance) {
      const next = new Promise<SandboxInstance>((resolve, reject) => this.waiting.push({ resolve, reject }));
      if (this.live < this.options.size) this.spawn();
      instance = await next;
    }
    let released = false;
    const lease: Lease = {
      instance,
      release: (healthy) => {
        if (released) return;
        released = true;
        if (healthy && !this.closed) return this.give(instance);
        this.retire(instance);
        if (!this.closed) this.spawn();
      },
    };
    return lease;
  }

  /** Instances in the pool now (idle, busy or starting). */
  get size(): number {
    return this.live;
  }

  /** Destroys idle instances now and busy ones when released; later acquires fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new Error('the query engine is closed'));
    for (const i of this.idle.splice(0)) this.retire(i);
    await Promise.all([...this.retiring]);
  }
}
