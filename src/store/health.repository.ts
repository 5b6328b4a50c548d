/** What /health reads of the store, and the bound that keeps a probe from waiting on a lock. */
import { sql } from 'kysely';
import type { Db } from '../platform/db.ts';
import { withTimeout } from '../platform/deadline.ts';

/**
 * Runs `read` in a transaction whose statements PostgreSQL cancels after `ms` each, and stops
 * waiting for it after `ms` in all. A lock held elsewhere makes a query wait, not fail: without the
 * server-side bound an abandoned query would keep its pool connection until the lock went.
 */
export function readWithin<T>(db: Db, ms: number, read: (trx: Db) => Promise<T>): Promise<T> {
  const reading = db.transaction().execute(async (trx) => {
    await sql`select set_config('statement_timeout', ${String(ms)}, true)`.execute(trx);
    return read(trx);
  });
  return withTimeout(reading, ms, 'the store');
}

export interface IngestCounters {
  processed: number;
  duplicates: number;
  ignored: number;
  rejected: number;
  data_version: number;
}

/** One row of `totals`: unlike the system figures, it reads no event. */
export async function ingestCounters(db: Db): Promise<IngestCounters> {
  const { rows } = await sql<IngestCounters>`
    select processed::float8 as processed, duplicates::float8 as duplicates, ignored::float8 as ignored,
      rejected::float8 as rejected, data_version::float8 as data_version
    from totals where id = 1`.execute(db);
  return rows[0] as IngestCounters;
}
