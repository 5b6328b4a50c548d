/**
 * Ingest throughput: a realistic Evently workload (>= 200,000 messages) through the Redis Stream
 * consumer and the pipeline into PostgreSQL, once per batch size, against the raw COPY rate of the
 * same payloads on the same server. Everything runs in a bench database and stream of its own,
 * dropped at the end.
 *
 *   npm run bench:ingest -- [--messages 200000] [--batch-sizes 500,1000,2000,5000]
 *     [--profile] [--pg-log /var/log/postgresql/postgresql-15-main.log [--explain]]
 */
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline as pipe } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import pino from 'pino';
import { createPipeline, type Pipeline } from '../src/ingest/pipeline.ts';
import { findProcessedKeys, writeLog } from '../src/store/event-log.repository.ts';
import { lockWriter } from '../src/store/ingest.repository.ts';
import { createStreamConsumer } from '../src/ingest/stream-consumer.ts';
import { openPostgres, type Db } from '../src/platform/db.ts';
import { ScratchDatabases, TEST_REDIS_URL, uniqueName } from '../test/support/scratch-database.ts';
import { profileQueries, profileServer } from './query-profile.ts';
import { backendCpuBetween, backendCpuByPid, backendCpuSeconds, processCpuSeconds } from './server-cpu.ts';
import { generateWorkload, type Workload } from './workload.ts';

const TARGET_RATE = 20_000;
const TARGET_RATIO = 0.2;
const XADD_CHUNK = 5_000;
const RUN_TIMEOUT_MS = 20 * 60_000;
const FAILING_LIMIT_MS = 30_000;
let runs = 0;

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '200000' },
    'batch-sizes': { type: 'string', default: '500,1000,2000,5000' },
    profile: { type: 'boolean', default: false },
    'pg-log': { type: 'string' },
    explain: { type: 'boolean', default: false },
  },
});
const messageTarget = Number(args.messages);
const batchSizes = args['batch-sizes'].split(',').map(Number);
const logger = pino({ level: 'warn' });
const rate = (n: number, ms: number): number => Math.round(n / (ms / 1000));
const fmt = (n: number): string => n.toLocaleString('en-US');

interface RunResult {
  batchSize: number;
  ms: number;
  rate: number;
  /** The rate the measured CPU cost allows on an otherwise idle machine. */
  cpuRate: number | undefined;
  correct: boolean;
  detail: string;
}

async function counts(
  db: Db,
): Promise<{ handled: number; processed: number; duplicates: number; ignored: number; rejected: number }> {
  const { rows } = await sql<{ processed: number; duplicates: number; ignored: number; rejected: number }>`
    select processed::float8 as processed, duplicates::float8 as duplicates, ignored::float8 as ignored,
      rejected::float8 as rejected from totals`.execute(db);
  const t = rows[0] ?? { processed: 0, duplicates: 0, ignored: 0, rejected: 0 };
  return { handled: t.processed + t.duplicates + t.ignored + t.rejected, ...t };
}

/** Wall time of processBatch, to split the run into pipeline time and consumer/Redis time. */
function timed(inner: Pipeline): { pipeline: Pipeline; ms: () => number; batches: () => number } {
  let ms = 0;
  let batches = 0;
  return {
    pipeline: {
      async processBatch(items) {
        const start = performance.now();
        try {
          return await inner.processBatch(items);
        } finally {
          ms += performance.now() - start;
          batches++;
        }
      },
    },
    ms: () => ms,
    batches: () => batches,
  };
}

async function runStream(
  redis: Redis,
  databases: ScratchDatabases,
  streamKey: string,
  workload: Workload,
  batchSize: number,
): Promise<RunResult> {
  const { name, url } = await databases.create();
  const server = args['pg-log'] ? await profileServer(url, name, args['pg-log'], args.explain) : undefined;
  const database = await openPostgres(url, 4);
  const n = workload.messages.length;
  const measured = timed(
    createPipeline({ db: database.db, config: { baseCurrency: 'USD', reportingTimezone: 'UTC' } }),
  );
  // A group of its own per run, so a batch size named twice is measured twice (not read from an empty group).
  const group = `bench-${++runs}-${batchSize}`;
  const config = { streamKey, consumerGroup: group, consumerName: 'bench', batchSize };
  // Never trimmed: every batch size reads the same entries, through a group of its own.
  const consumer = createStreamConsumer({
    redis,
    pipeline: measured.pipeline,
    config,
    logger,
    trimEveryMs: Number.POSITIVE_INFINITY,
  });
  const profile = args.profile ? profileQueries() : undefined;
  try {
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    consumer.start();
    let failingSince: number | undefined;
    for (;;) {
      const { handled } = await counts(database.db);
      if (handled >= n) break;
      // The consumer retries a failing batch forever (at least once); a bench should not.
      const { lastError } = consumer.stats();
      failingSince = lastError === null ? undefined : (failingSince ?? performance.now());
      if (failingSince !== undefined && performance.now() - failingSince > FAILING_LIMIT_MS) {
        throw new Error(`batch size ${batchSize}: the pipeline keeps failing: ${lastError}`);
      }
      if (performance.now() - start > RUN_TIMEOUT_MS)
        throw new Error(`batch size ${batchSize}: ${handled}/${n} after timeout`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const ms = performance.now() - start;
    const cpu = process.cpuUsage(cpuBefore);
    const nodeCpu = (cpu.user + cpu.system) / 1e6;
    const pgCpu = await backendCpuSeconds(database.db, name);
    await consumer.stop();
    profile?.stop();
    const t = await counts(database.db);
    const e = workload.expected;
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from bookings`.execute(database.db);
    const stored = rows[0]?.n ?? 0;
    const correct =
      t.handled === n &&
      t.processed === e.processed &&
      t.duplicates === e.duplicates &&
      t.ignored === e.ignored &&
      t.rejected === 0 &&
      stored === e.bookings;
    const detail = `processed ${fmt(t.processed)}, duplicates ${fmt(t.duplicates)}, ignored ${fmt(t.ignored)}, rejected ${fmt(t.rejected)}, bookings ${fmt(stored)}`;
    const inPipeline = measured.ms();
    console.log(
      `  batch ${String(batchSize).padStart(5)}: ${fmt(rate(n, ms)).padStart(7)} msg/s  (${(ms / 1000).toFixed(1)} s, ` +
        `${measured.batches()} batches, ${((100 * inPipeline) / ms).toFixed(0)}% of the time in processBatch, ` +
        `${(inPipeline / measured.batches()).toFixed(1)} ms/batch)`,
    );
    // CPU per message does not depend on what else runs on the machine; wall time does.
    const cpuTotal = nodeCpu + (pgCpu ?? 0);
    console.log(
      `               CPU: Node ${nodeCpu.toFixed(1)} s + PostgreSQL backends ${pgCpu?.toFixed(1) ?? 'n/a'} s = ` +
        `${((1e6 * cpuTotal) / n).toFixed(0)} µs/msg → ${fmt(rate(n, cpuTotal * 1000))} msg/s if nothing else used the CPU`,
    );
    if (profile) profile.print(ms);
    if (server) await server.print(ms);
    const cpuRate = pgCpu === undefined ? undefined : rate(n, cpuTotal * 1000);
    return { batchSize, ms, rate: rate(n, ms), cpuRate, correct, detail };
  } finally {
    await consumer.stop();
    profile?.stop();
    await database.close();
    await databases.drop(name);
  }
}

/** COPY of the same payloads into `(key text primary key, payload text)`: the server's raw write rate. */
async function runCopy(
  databases: ScratchDatabases,
  messages: string[],
): Promise<{ rate: number; cpuRate: number | undefined }> {
  const { name, url } = await databases.create();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('create table bench_copy (key text primary key, payload text not null)');
    const escape = (s: string): string =>
      s.replaceAll('\\', '\\\\').replaceAll('\t', '\\t').replaceAll('\n', '\\n').replaceAll('\r', '\\r');
    function* rows(): Generator<string> {
      for (let i = 0; i < messages.length; i += 1_000) {
        let chunk = '';
        for (let j = i; j < Math.min(i + 1_000, messages.length); j++)
          chunk += `m${j}\t${escape(messages[j] as string)}\n`;
        yield chunk;
      }
    }
    const { rows: backend } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    const pid = backend[0]?.pid ?? 0;
    const cpuBefore = await processCpuSeconds(pid);
    const nodeBefore = process.cpuUsage();
    const start = performance.now();
    await pipe(Readable.from(rows()), client.query(copyFrom('COPY bench_copy (key, payload) FROM STDIN')));
    const ms = performance.now() - start;
    const node = process.cpuUsage(nodeBefore);
    const cpuAfter = await processCpuSeconds(pid);
    const pgCpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
    const { rows: check } = await client.query<{ n: number }>('select count(*)::int as n from bench_copy');
    if (check[0]?.n !== messages.length)
      throw new Error(`COPY stored ${check[0]?.n} of ${messages.length} rows`);
    const cpuTotal = pgCpu === undefined ? undefined : pgCpu + (node.user + node.system) / 1e6;
    const cpuRate = cpuTotal === undefined ? undefined : rate(messages.length, cpuTotal * 1000);
    console.log(
      `  COPY:        ${fmt(rate(messages.length, ms)).padStart(7)} rows/s (${(ms / 1000).toFixed(1)} s; ` +
        `${cpuRate === undefined ? 'CPU n/a' : `${fmt(cpuRate)} rows/s if nothing else used the CPU`})`,
    );
    return { rate: rate(messages.length, ms), cpuRate };
  } finally {
    await client.end();
    await databases.drop(name);
  }
}

/**
 * Informational: only the one write every message needs whatever else it does (events.md: every
 * message goes to the event log with its outcome), with the pipeline's own statements, in
 * transactions of `batchSize`, on the real schema. It bounds what the whole pipeline can reach.
 */
async function runLogOnly(
  databases: ScratchDatabases,
  messages: string[],
  batchSize: number,
): Promise<number> {
  const { name, url } = await databases.create();
  const database = await openPostgres(url, 1);
  try {
    const rows = messages.map((raw, i) => ({
      transport: 'stream',
      channel: null,
      outcome: 'processed',
      reason: null,
      detail: null,
      key: `bench:${i}`,
      messageType: 'booking.created',
      bookingId: i,
      raw,
      receivedAt: Date.now(),
    }));
    const pgBefore = await backendCpuByPid(database.db, name);
    const nodeBefore = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < rows.length; i += batchSize) {
      await database.db.transaction().execute(async (trx) => {
        await lockWriter(trx);
        const batch = rows.slice(i, i + batchSize);
        const before = await findProcessedKeys(
          trx,
          batch.map((r) => r.key),
        );
        await writeLog(
          trx,
          batch.filter((r) => !before.has(r.key)),
        );
      });
    }
    const ms = performance.now() - start;
    const node = process.cpuUsage(nodeBefore);
    const pgCpu = backendCpuBetween(pgBefore, await backendCpuByPid(database.db, name));
    const cpu =
      pgCpu === undefined
        ? 'CPU n/a'
        : `CPU: Node ${((node.user + node.system) / rows.length).toFixed(1)} + PostgreSQL ${((1e6 * pgCpu) / rows.length).toFixed(1)} µs/row`;
    console.log(
      `  event log only (batch ${batchSize}): ${fmt(rate(rows.length, ms)).padStart(7)} rows/s (${(ms / 1000).toFixed(1)} s; ${cpu})`,
    );
    return rate(rows.length, ms);
  } finally {
    await database.close();
    await databases.drop(name);
  }
}

async function fillStream(redis: Redis, streamKey: string, messages: string[]): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < messages.length; i += XADD_CHUNK) {
    const batch = redis.pipeline();
    for (const payload of messages.slice(i, i + XADD_CHUNK)) batch.xadd(streamKey, '*', 'payload', payload);
    const results = (await batch.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0] as Error;
  }
  console.log(
    `XADD ${fmt(messages.length)} entries: ${fmt(rate(messages.length, performance.now() - start))} msg/s`,
  );
}

async function main(): Promise<boolean> {
  const start = performance.now();
  const workload = generateWorkload(messageTarget);
  const n = workload.messages.length;
  const e = workload.expected;
  console.log(
    `generated ${fmt(n)} messages in ${((performance.now() - start) / 1000).toFixed(1)} s: ` +
      `${fmt(e.bookings)} bookings, ${fmt(e.processed)} to process, ${fmt(e.duplicates)} duplicates, ${fmt(e.ignored)} ignored`,
  );
  const redis = new Redis(TEST_REDIS_URL);
  const streamKey = `${uniqueName('bench')}:stream`;
  const databases = new ScratchDatabases('bench');
  let cleaning: Promise<void> | undefined;
  const cleanUp = (): Promise<void> =>
    (cleaning ??= (async () => {
      await redis.del(streamKey);
      redis.disconnect();
      await databases.dropAll();
    })());
  // Interrupted (Ctrl-C, `timeout`): still drop the bench database and stream.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`${signal}: cleaning up`);
      cleanUp().then(
        () => process.exit(130),
        () => process.exit(130),
      );
    });
  }
  try {
    await fillStream(redis, streamKey, workload.messages);
    console.log(
      `stream consumer → pipeline → PostgreSQL, until processed+duplicates+ignored+rejected = ${fmt(n)}:`,
    );
    const results: RunResult[] = [];
    for (const size of batchSizes) results.push(await runStream(redis, databases, streamKey, workload, size));
    const copy = await runCopy(databases, workload.messages);
    const best = results.reduce((a, b) => (b.rate > a.rate ? b : a));
    const logOnly = await runLogOnly(databases, workload.messages, best.batchSize);

    const ratio = best.rate / copy.rate;
    const cpuRatio = best.cpuRate && copy.cpuRate ? best.cpuRate / copy.cpuRate : undefined;
    console.log('');
    console.log(`best batch size: ${best.batchSize} (${fmt(best.rate)} msg/s)`);
    console.log(`COPY rate:       ${fmt(copy.rate)} rows/s`);
    console.log(`ratio:           ${ratio.toFixed(3)}`);
    console.log(
      `(informational) the event-log write alone runs at ${(logOnly / copy.rate).toFixed(3)} of COPY; ` +
        `the pipeline at ${(best.rate / logOnly).toFixed(3)} of it`,
    );
    if (cpuRatio !== undefined) {
      console.log(
        `CPU-cost view:   ${fmt(best.cpuRate ?? 0)} msg/s vs COPY ${fmt(copy.cpuRate ?? 0)} rows/s, ` +
          `ratio ${cpuRatio.toFixed(3)} (what an idle machine would allow; not a substitute for the checks)`,
      );
    }
    const checks: [string, boolean][] = [
      [`pipeline rate >= ${fmt(TARGET_RATE)} msg/s (best: ${fmt(best.rate)})`, best.rate >= TARGET_RATE],
      [`pipeline/COPY ratio >= ${TARGET_RATIO} (${ratio.toFixed(3)})`, ratio >= TARGET_RATIO],
      ...results.map((r): [string, boolean] => [
        `batch ${r.batchSize} totals as expected (${r.detail})`,
        r.correct,
      ]),
    ];
    for (const [what, ok] of checks) console.log(`${ok ? 'PASS' : 'FAIL'}  ${what}`);
    return checks.every(([, ok]) => ok);
  } finally {
    await cleanUp();
  }
}

main().then(
  (ok) => {
    process.exitCode = ok ? 0 : 1;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
