import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LakehouseQueryEngine, openLakehouse, QueryError } from '../src/index.ts';
import { openTestLake } from './fixtures.ts';

test('an error raised during execution fails the query instead of truncating its result', async () => {
  const lake = await openTestLake('pglite');
  const house = await openLakehouse(lake, { log: () => {} });
  const engine = new LakehouseQueryEngine(house);
  try {
    let rows = 0;
    await assert.rejects(
      (async () => {
        const result = await engine.execute({
          sql: "SELECT CAST(CASE WHEN range < 700000 THEN '1' ELSE 'not a number' END AS INTEGER) AS v FROM range(1000000)",
          caller: { name: 'test', admin: false },
          queryId: 'q-stream-error',
        });
        for await (const batch of result.batches) rows += batch.numRows;
      })(),
      (err: unknown) => err instanceof QueryError && err.kind === 'invalid_argument' && /not a number/.test(err.message) && /q-stream-error/.test(err.message),
    );
    assert.ok(rows < 1_000_000, `the failing query must not look complete (${rows} rows)`);
  } finally {
    await engine.close();
    await house.close();
    await lake.drop();
  }
});
