/**
 * `npm run bench:rebuild`: what an operator waits for on a large store. A dataset goes through the
 * real ingest pipeline into its own bench database; then `reconcile` (a recomputation compared
 * with the incremental figures) and `rebuild` (every aggregate recomputed from the event log, in
 * one transaction) run on it, and `reconcile` once more after the rebuild. Each is timed against
 * the ingest of the same log in the same run (messages/s and the ratio), with the process's peak
 * memory. PASS when both reconciles find no drift (the incremental figures, and those of the
 * rebuild, equal a recomputation) and each step keeps its share of the ingest rate (MIN_RATIO): a
 * replay reads the log in order, page after page, so its rate must not fall as the log grows.
 *
 * Knobs (environment): BENCH_REBUILD_BOOKINGS (default 200000; about 2 messages per booking),
 * BENCH_EVENTS (200), BENCH_BATCH (5000 messages per processBatch).
 */
import { sql } from 'kysely';
import { createPipeline } from '../src/ingest/pipeline.ts';
import { rebuildAggregates } from '../src/ingest/rebuild.ts';
import { reconcile, type ReconcileReport } from '../src/ingest/reconcile.ts';
import { openPostgres, type Db } from '../src/platform/db.ts';
import { ScratchDatabases } from '../test/support/scratch-database.ts';
import { loadDataset } from './dataset.ts';
import { once, onInterrupt } from './cleanup.ts';

const BOOKINGS = Number(process.env.BENCH_REBUILD_BOOKINGS ?? 200_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 200);
const BATCH = Number(process.env.BENCH_BATCH ?? 5_000);
const SETTINGS = { baseCurrency: 'USD', reportingTimezone: 'UTC' };
/**
 * The least share of the ingest rate each step keeps. A rebuild replays what ingest did, without the
 * stream, the idempotency check or the event log's writes; a reconcile replays into copies and then
 * compares every table, which grows with the store (0.70-0.77 at 2 M messages, 1.1 at 400,000).
 */
const MIN_RATIO: Record<string, number> = {
  reconcile: 0.6,
  rebuild: 0.8,
  'reconcile after the rebuild': 0.6,
};

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const mib = (bytes: number) => `${int(bytes / 2 ** 20)} MiB`;

/** The highest resident set size seen while `work` runs, sampled every 50 ms. */
async function withPeakMemory<T>(
  work: () => Promise<T>,
): Promise<{ result: T; peak: number; seconds: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  const started = performance.now();
  try {
    const result = await work();
    return {
      result,
      peak: Math.max(peak, process.memoryUsage.rss()),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    clearInterval(timer);
  }
}

async function logSize(db: Db): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from event_log`.execute(db);
  return rows[0]?.n ?? 0;
}

function verdict(label: string, report: ReconcileReport): boolean {
  const clean = !report.drift && report.comparable;
  console.log(
    `${clean ? 'PASS' : 'FAIL'}  ${label}: ${report.difference_count} differences` +
      (report.differences.length > 0 ? ` (first: ${JSON.stringify(report.differences[0])})` : ''),
  );
  return clean;
}

async function main(): Promise<boolean> {
  const databases = new ScratchDatabases('bench');
  const { name, url } = await databases.create();
  const database = await openPostgres(url, 2);
  // Dropped first (with force): on Ctrl-C a rebuild may hold a connection for minutes.
  const cleanup = once(async () => {
    await databases.dropAll();
    await database.close().catch(() => undefined);
  });
  const removeInterrupt = onInterrupt(cleanup);
  try {
    const { db } = database;
    console.log(
      `loading ${int(BOOKINGS)} bookings of ${int(EVENTS)} events into ${name} (batches of ${int(BATCH)})`,
    );
    const load = await withPeakMemory(() =>
      loadDataset(
        createPipeline({ db, config: SETTINGS }),
        {
          bookings: BOOKINGS,
          events: EVENTS,
          days: 365,
          endAt: Date.now(),
          seed: 20_240_601,
        },
        BATCH,
      ),
    );
    if (load.result.rejected > 0)
      throw new Error(`${load.result.rejected} messages were rejected while loading`);
    const messages = await logSize(db);
    const ingestRate = messages / load.seconds;
    await sql`vacuum analyze`.execute(db);
    const rows: [string, number, number][] = [['ingest (the baseline)', load.seconds, load.peak]];

    const before = await withPeakMemory(() => reconcile({ db, config: SETTINGS }));
    rows.push(['reconcile', before.seconds, before.peak]);
    const rebuilt = await withPeakMemory(() => rebuildAggregates({ db, config: SETTINGS }));
    rows.push(['rebuild', rebuilt.seconds, rebuilt.peak]);
    const after = await withPeakMemory(() => reconcile({ db, config: SETTINGS }));
    rows.push(['reconcile after the rebuild', after.seconds, after.peak]);

    console.log(`\n${int(messages)} messages in the event log, ${int(rebuilt.result.bookings)} bookings\n`);
    console.log('step                           seconds     msg/s   vs ingest   peak RSS');
    for (const [label, seconds, peak] of rows) {
      const rate = messages / seconds;
      console.log(
        `${label.padEnd(30)} ${seconds.toFixed(1).padStart(7)} ${int(rate).padStart(9)} ${(rate / ingestRate).toFixed(2).padStart(10)}x ${mib(peak).padStart(10)}`,
      );
    }
    console.log('');
    const fastEnough = rows.slice(1).map(([label, seconds]) => {
      const ratio = load.seconds / seconds;
      const least = MIN_RATIO[label] ?? 1;
      const ok = ratio >= least;
      console.log(
        `${ok ? 'PASS' : 'FAIL'}  ${label}: ${ratio.toFixed(2)}x the ingest rate (target >= ${least})`,
      );
      return ok;
    });
    const clean = [
      verdict('incremental figures = recomputation', before.result),
      verdict('rebuilt figures = recomputation', after.result),
    ];
    return [...fastEnough, ...clean].every(Boolean);
  } finally {
    removeInterrupt();
    await cleanup();
  }
}

main().then(
  (ok) => {
    console.log(ok ? 'bench:rebuild PASS' : 'bench:rebuild FAIL');
    process.exitCode = ok ? 0 : 1;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
