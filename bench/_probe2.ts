import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { createPipeline } from '../src/ingest/pipeline.ts';
import { ScratchDatabases } from '../test/support/scratch-database.ts';
import { loadDataset } from './dataset.ts';
const n = Number(process.argv[2] ?? 50000);
const bs = Number(process.argv[3] ?? 5000);
const spec = { bookings: n, events: 200, days: 365, endAt: Date.now(), seed: 42 };
const dbs = new ScratchDatabases('bench');
const stats = new Map<string, { n: number; ms: number }>();
try {
  const { url } = await dbs.create();
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }), log: (e) => {
    const k = e.query.sql.replace(/\s+/g, ' ').trim().slice(0, 70);
    const s = stats.get(k) ?? { n: 0, ms: 0 }; s.n++; s.ms += e.queryDurationMillis; stats.set(k, s);
  } });
  const p = createPipeline({ db, config: { baseCurrency: 'USD', reportingTimezone: 'UTC' } });
  const r = await loadDataset(p, spec, bs);
  console.log(r, Math.round(r.messages / r.seconds));
  const tot = [...stats.values()].reduce((a, s) => a + s.ms, 0);
  console.log('total sql ms', Math.round(tot));
  for (const [k, s] of [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20)) console.log(String(Math.round(s.ms)).padStart(7), String(s.n).padStart(5), k);
  await db.destroy();
} finally { await dbs.dropAll(); }
