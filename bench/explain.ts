/**
 * EXPLAIN (ANALYZE, BUFFERS) of the exact statements a read makes: the read runs once on a Kysely
 * that records its compiled queries, then each is explained with its parameters.
 */
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import type { Db } from '../src/platform/db.ts';

export async function explainReads(url: string, read: (db: Db) => Promise<unknown>): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const queries: CompiledQuery[] = [];
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query') queries.push(event.query);
    },
  }) as Db;
  try {
    await read(db);
    const plans: string[] = [];
    for (const q of queries) {
      const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${q.sql}`, [
        ...q.parameters,
      ]);
      plans.push(
        `${q.sql.replace(/\s+/g, ' ').trim()}\n  parameters: ${JSON.stringify(q.parameters)}\n${rows.map((r) => `  ${r['QUERY PLAN']}`).join('\n')}`,
      );
    }
    return plans;
  } finally {
    await db.destroy();
  }
}
