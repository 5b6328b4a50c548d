/**
 * `npm run bench:scale`: read latency at 10^3 and 10^6 bookings. Both datasets go through the
 * real ingest pipeline into their own bench database; the real app serves each with the response
 * cache off (ANALYTICS_CACHE_TTL=0) so every request pays for its queries. The small dataset is
 * the baseline: each endpoint passes when its p50 at 10^6 is under 2x its p50 at 10^3.
 *
 * Knobs (environment): BENCH_BIG_BOOKINGS (default 1000000), BENCH_BIG_EVENTS (events of the big
 * dataset, default 200 as the small one: `BENCH_BIG_EVENTS=100000 BENCH_BIG_BOOKINGS=100000` times
 * the reads as the events grow instead), BENCH_SAMPLES (300),
 * BENCH_BATCH (5000 messages per processBatch), BENCH_NO_VACUUM=1 (measure straight after the load,
 * without the vacuum autovacuum would do; see `settle`), BENCH_EXPLAIN=1 (print EXPLAIN (ANALYZE,
 * BUFFERS) of the top-events query on both datasets).
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.ts';
import { mintToken } from '../src/auth/tokens.ts';
import { createDeps, type Deps } from '../src/deps.ts';
import { createPipeline } from '../src/ingest/pipeline.ts';
import { loadConfig } from '../src/platform/config.ts';
import { openPostgres, type Db } from '../src/platform/db.ts';
import { createLogger } from '../src/platform/logger.ts';
import { rankedEvents } from '../src/store/rankings.repository.ts';
import { ScratchDatabases } from '../test/support/scratch-database.ts';
import { loadDataset, type DatasetSpec } from './dataset.ts';
import { explainReads } from './explain.ts';
import { closeAgent, percentile, sample } from './http.ts';
import { once, onInterrupt } from './cleanup.ts';

const BIG = Number(process.env.BENCH_BIG_BOOKINGS ?? 1_000_000);
const EVENTS = 200;
const BIG_EVENTS = Number(process.env.BENCH_BIG_EVENTS ?? EVENTS);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 300);
const BATCH = Number(process.env.BENCH_BATCH ?? 5_000);
const NO_VACUUM = process.env.BENCH_NO_VACUUM === '1';
const EXPLAIN = process.env.BENCH_EXPLAIN === '1';
const ROUNDS = 3;
const WARMUP = 30;
const TARGET_RATIO = 2.0;
const SETTINGS = { baseCurrency: 'USD', reportingTimezone: 'UTC' };

interface Size {
  label: string;
  bookings: number;
  events: number;
}

interface Served {
  size: Size;
  base: string;
  app: FastifyInstance;
  deps: Deps;
  headers: Record<string, string>;
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const utcDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Tables the read endpoints scan: the aggregates that every ingest batch rewrites in place. */
const READ_MODEL = [
  'events',
  'event_currency_revenue',
  'flow_day',
  'flow_day_event',
  'flow_bucket',
  'flow_bucket_event',
  'totals',
];

/**
 * Every batch rewrites the rows of the events it touches, so a bulk load leaves the small `events`
 * table with one dead version per batch and event. In production autovacuum removes them within
 * about a minute; here it may be off, so the bench vacuums the read model itself (and says so), so
 * that both sizes are measured in the steady state. BENCH_NO_VACUUM=1 measures the bloated state.
 */
async function settle(db: Db, label: string): Promise<void> {
  const { rows } = await sql<{ autovacuum: string; live: number; dead: number; pages: number }>`
    select current_setting('autovacuum') as autovacuum, (select count(*) from events)::int as live,
      n_dead_tup::int as dead, (pg_relation_size('events') / 8192)::int as pages
    from pg_stat_user_tables where relname = 'events'`.execute(db);
  const e = rows[0];
  // n_dead_tup comes from the statistics collector and may lag a few hundred ms behind.
  const state = e
    ? `events: ${e.live} live rows, ${int(e.dead)} dead, ${int(e.pages)} pages; autovacuum=${e.autovacuum}`
    : '';
  if (NO_VACUUM) {
    await sql`analyze`.execute(db);
    console.log(`[${label}] ${state}; analyzed, NOT vacuumed (BENCH_NO_VACUUM)`);
    return;
  }
  const started = performance.now();
  await sql.raw(`vacuum (analyze) ${READ_MODEL.join(', ')}`).execute(db);
  await sql`analyze`.execute(db);
  console.log(
    `[${label}] ${state}; vacuumed the read model in ${fmt((performance.now() - started) / 1000, 1)} s`,
  );
}

async function buildDataset(databases: ScratchDatabases, size: Size, endAt: number): Promise<string> {
  const { name, url } = await databases.create();
  const database = await openPostgres(url, 2);
  try {
    const pipeline = createPipeline({ db: database.db, config: SETTINGS });
    const spec: DatasetSpec = {
      bookings: size.bookings,
      events: size.events,
      days: 365,
      endAt,
      seed: 20_240_601,
    };
    let nextReport = 100_000;
    console.log(
      `[${size.label}] loading ${int(size.bookings)} bookings into ${name} (batches of ${int(BATCH)})`,
    );
    const report = await loadDataset(pipeline, spec, BATCH, (messages, seconds) => {
      if (messages >= nextReport) {
        nextReport += 100_000;
        console.log(
          `[${size.label}]   ${int(messages)} messages, ${fmt(seconds, 1)} s, ${int(messages / seconds)} msg/s`,
        );
      }
    });
    if (report.rejected > 0)
      throw new Error(`${report.rejected} messages were rejected while loading ${size.label}`);
    console.log(
      `[${size.label}] loaded ${int(report.messages)} messages in ${report.batches} batches, ${fmt(report.seconds, 1)} s: ` +
        `pipeline rate ${int(report.messages / report.seconds)} msg/s = ${int(size.bookings / report.seconds)} bookings/s`,
    );
    await settle(database.db, size.label);
    const { rows } = await sql<Record<string, number>>`
      select (select count(*) from bookings)::int as bookings, (select count(*) from event_log)::int as event_log,
        (select count(*) from flow_day)::int as flow_day, (select count(*) from flow_day_event)::int as flow_day_event,
        (select count(*) from flow_bucket_event)::int as flow_bucket_event,
        pg_size_pretty(pg_database_size(current_database())) as size`.execute(database.db);
    console.log(`[${size.label}] rows: ${JSON.stringify(rows[0])}`);
    return url;
  } finally {
    await database.close();
  }
}

async function serve(size: Size, url: string, secret: string): Promise<Served> {
  const config = loadConfig({
    DATABASE_URL: url,
    JWT_SECRET: secret,
    ANALYTICS_CACHE_TTL: '0',
    RATE_LIMIT_ANALYTICS: '1000000',
    LOG_LEVEL: 'warn',
    REPORTING_TIMEZONE: 'UTC',
  });
  const deps = await createDeps(config, createLogger(config.logLevel));
  const app = await buildApp(deps);
  deps.startBackground();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const token = await mintToken({
    secret: config.jwt.secret,
    algorithm: config.jwt.algorithm,
    userId: 1,
    role: 'admin',
    expiresInSeconds: 3600,
  });
  return {
    size,
    base: `http://127.0.0.1:${address.port}`,
    app,
    deps,
    headers: { authorization: `Bearer ${token}` },
  };
}

async function main(): Promise<void> {
  const databases = new ScratchDatabases('bench');
  const served: Served[] = [];
  const cleanup = once(async () => {
    closeAgent();
    for (const s of served) {
      await s.app.close();
      await s.deps.close();
    }
    await databases.dropAll();
  });
  const removeInterrupt = onInterrupt(cleanup);
  try {
    const sizes: Size[] = [
      { label: '10^3', bookings: 1_000, events: EVENTS },
      {
        label: `${BIG === 1_000_000 ? '10^6' : int(BIG)}${BIG_EVENTS === EVENTS ? '' : ` (${int(BIG_EVENTS)} events)`}`,
        bookings: BIG,
        events: BIG_EVENTS,
      },
    ];
    const endAt = Date.now();
    const urls: string[] = [];
    for (const size of sizes) urls.push(await buildDataset(databases, size, endAt));
    const secret = randomBytes(48).toString('base64url');
    for (const [i, size] of sizes.entries()) served.push(await serve(size, urls[i] as string, secret));

    const today = utcDate(Date.now());
    const yearAgo = utcDate(Date.parse(today) - 364 * 86_400_000);
    const endpoints = [
      { name: 'events/{id}', path: '/api/v1/analytics/events/1' },
      { name: 'daily (30 d)', path: '/api/v1/analytics/daily' },
      { name: 'daily (365 d)', path: `/api/v1/analytics/daily?from=${yearAgo}&to=${today}` },
      // Other zones than the reporting zone: a day of 24 hours is a shifted day (one row); the two
      // days a year the clocks change in Europe/Berlin sum their quarter-hours and activity masks.
      {
        name: 'daily (365 d, tz=Asia/Kolkata)',
        path: `/api/v1/analytics/daily?from=${yearAgo}&to=${today}&tz=Asia/Kolkata`,
      },
      {
        name: 'daily (365 d, tz=Europe/Berlin)',
        path: `/api/v1/analytics/daily?from=${yearAgo}&to=${today}&tz=Europe/Berlin`,
      },
      { name: 'top-events', path: '/api/v1/analytics/top-events' },
      // Informational, not checked: active events per week in another zone still come from the
      // activity masks, one row per event and UTC day (docs/design.md, Storage and time zones).
      {
        name: 'daily (365 d, weeks, tz=Asia/Kolkata)',
        path: `/api/v1/analytics/daily?from=${yearAgo}&to=${today}&granularity=week&tz=Asia/Kolkata`,
        informational: true,
      },
      // Informational, not checked: one event's days in another zone (summed from its quarter-hours,
      // up to 96 rows a day) and weeks in the reporting zone (distinct events per week).
      {
        name: 'events/{id} (365 d, tz=Asia/Kolkata)',
        path: `/api/v1/analytics/events/1?from=${yearAgo}&to=${today}&tz=Asia/Kolkata`,
        informational: true,
      },
      {
        name: 'events/{id} (365 d, tz=Europe/Berlin)',
        path: `/api/v1/analytics/events/1?from=${yearAgo}&to=${today}&tz=Europe/Berlin`,
        informational: true,
      },
      {
        name: 'daily (365 d, weeks)',
        path: `/api/v1/analytics/daily?from=${yearAgo}&to=${today}&granularity=week`,
        informational: true,
      },
      // Informational, not checked: the other analytics reads, each with its defaults.
      ...[
        'dashboard',
        'events?sort=total_revenue&order=desc&limit=20',
        'events?q=night&category=music',
        'booking-trends',
        'revenue',
        'capacity',
        'top-events?sort_by=utilization',
        'system',
        'overview',
      ].map((name) => ({ name, path: `/api/v1/analytics/${name}`, informational: true })),
    ];
    console.log(
      `\nmeasuring: ${SAMPLES} sequential requests per endpoint and size (${ROUNDS} interleaved rounds, ` +
        `${WARMUP} warm-up requests each), cache off`,
    );
    const times = new Map<string, number[]>();
    for (const e of endpoints) {
      for (const s of served) await sample(s.base + e.path, s.headers, WARMUP);
      for (let round = 0; round < ROUNDS; round++) {
        for (const s of served) {
          const key = `${e.name}|${s.size.label}`;
          const got = await sample(s.base + e.path, s.headers, Math.ceil(SAMPLES / ROUNDS));
          times.set(key, [...(times.get(key) ?? []), ...got]);
        }
      }
    }

    const [small, big] = sizes as [Size, Size];
    const header = [
      'endpoint',
      `${small.label} p50`,
      `${small.label} p95`,
      `${big.label} p50`,
      `${big.label} p95`,
      'ratio p50',
      'ratio p95',
      `target p50 ratio < ${TARGET_RATIO}`,
    ];
    const rows = endpoints.map((e) => {
      const a = times.get(`${e.name}|${small.label}`) ?? [];
      const b = times.get(`${e.name}|${big.label}`) ?? [];
      const ratio50 = percentile(b, 50) / percentile(a, 50);
      const ratio95 = percentile(b, 95) / percentile(a, 95);
      return [
        e.name,
        `${fmt(percentile(a, 50))} ms`,
        `${fmt(percentile(a, 95))} ms`,
        `${fmt(percentile(b, 50))} ms`,
        `${fmt(percentile(b, 95))} ms`,
        fmt(ratio50),
        fmt(ratio95),
        'informational' in e ? '(not checked)' : ratio50 < TARGET_RATIO ? 'PASS' : 'FAIL',
      ];
    });
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
    console.log(`\n${line(header)}\n${line(widths.map((w) => '-'.repeat(w)))}`);
    for (const r of rows) console.log(line(r));
    if (EXPLAIN) {
      for (const [i, size] of sizes.entries()) {
        const plans = await explainReads(urls[i] as string, (db) => rankedEvents(db, 'bookings', 10));
        console.log(`\n[${size.label}] top-events: EXPLAIN (ANALYZE, BUFFERS)\n${plans.join('\n')}`);
      }
    }
    const checked = rows.filter((r) => r[7] !== '(not checked)');
    const failed = checked.filter((r) => r[7] === 'FAIL').length;
    console.log(
      `\nbench:scale ${failed === 0 ? 'PASS' : 'FAIL'}: ${checked.length - failed}/${checked.length} endpoints within ${TARGET_RATIO}x`,
    );
  } finally {
    removeInterrupt();
    await cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(
    `bench:scale failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exitCode = 1;
});
