// Inserts block rows in groups. Requests that arrive while earlier inserts are in flight are sent
// together as one multi-row INSERT: one round trip and one WAL flush for many blocks, with no
// added delay when the server is idle. Every caller still waits for the commit of its own row.
import type { SqlExecutor } from '@micromegas/lake';
import { isDataException } from './errors.ts';

const COLUMNS = 10; // insert_time is now()
const MAX_ROWS_PER_STATEMENT = 500;

interface Pending {
  params: unknown[];
  resolve(inserted: boolean): void;
  reject(err: unknown): void;
}

function insertSql(rows: number): string {
  const values: string[] = [];
  for (let r = 0; r < rows; r++) {
    const p = Array.from({ length: COLUMNS }, (_, c) => `$${r * COLUMNS + c + 1}`);
    values.push(`(${p.join(', ')}, now())`);
  }
  return `INSERT INTO blocks VALUES ${values.join(', ')} ON CONFLICT (block_id) DO NOTHING RETURNING block_id::text`;
}

export class BlockRowWriter {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private readonly sqlCache = new Map<number, string>();

  constructor(
    private readonly db: SqlExecutor,
    private readonly maxStatementsInFlight = 4,
  ) {}

  /** Params in blocks column order without insert_time; resolves true when a new row was written. */
  insert(params: unknown[]): Promise<boolean> {
    if (params.length !== COLUMNS) throw new Error(`block row needs ${COLUMNS} values, got ${params.length}`);
    return new Promise((resolve, reject) => {
      this.queue.push({ params, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxStatementsInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_ROWS_PER_STATEMENT);
      this.inFlight++;
      void this.write(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private sql(rows: number): string {
    let sql = this.sqlCache.get(rows);
    if (!sql) {
      sql = insertSql(rows);
      if (this.sqlCache.size < 64) this.sqlCache.set(rows, sql);
    }
    return sql;
  }

  private async write(batch: Pending[]): Promise<void> {
    try {
      const { rows } = await this.db.query<{ block_id: string }>(this.sql(batch.length), batch.flatMap((p) => p.params));
      const inserted = new Set(rows.map((r) => r.block_id));
      for (const p of batch) p.resolve(inserted.has(String(p.params[0])));
    } catch (err) {
      if (batch.length > 1 && isDataException(err)) {
        // One bad row must not fail its neighbours: retry them one by one.
        await Promise.all(batch.map((p) => this.write([p])));
        return;
      }
      for (const p of batch) p.reject(err);
    }
  }
}
