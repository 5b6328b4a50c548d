import { createPipeline } from '../src/ingest/pipeline.ts';
import { openPostgres } from '../src/platform/db.ts';
import { ScratchDatabases } from '../test/support/scratch-database.ts';
import { loadDataset, datasetMessages } from './dataset.ts';
const n = Number(process.argv[2] ?? 50000);
const bs = Number(process.argv[3] ?? 5000);
const spec = { bookings: n, events: 200, days: 365, endAt: Date.now(), seed: 42 };
let t = performance.now(); let c = 0; const types: Record<string, number> = {};
for (const m of datasetMessages(spec)) { c++; const ty = (JSON.parse(m) as {type:string}).type; types[ty] = (types[ty] ?? 0) + 1; }
console.log('gen', c, types, ((performance.now() - t) / 1000).toFixed(2));
const dbs = new ScratchDatabases('bench');
try {
  const { url } = await dbs.create();
  const database = await openPostgres(url, 2);
  const p = createPipeline({ db: database.db, config: { baseCurrency: 'USD', reportingTimezone: 'UTC' } });
  const r = await loadDataset(p, spec, bs, (m, s) => { if (m % 50000 < bs) console.log(m, s.toFixed(1), Math.round(m / s)); });
  console.log(r, Math.round(r.messages / r.seconds));
  await database.close();
} finally { await dbs.dropAll(); }
