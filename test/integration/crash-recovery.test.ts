/**
 * A worker killed with SIGKILL in the middle of a stream backlog, then started again, loses
 * nothing and counts nothing twice: the figures equal the reference figures of the whole stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_SECRET } from '../helpers/app.ts';
import { assertFigures, loadCases } from '../helpers/conformance.ts';
import { createTestDatabase, REDIS_URL, uniqueKey, waitFor, type TestDatabase } from '../helpers/db.ts';
import { cachePrefix } from '../../src/platform/cache.ts';
import { openPostgres } from '../../src/platform/db.ts';
import { storeId } from '../../src/store/read.repository.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const c = loadCases().find((x) => x.name === '09-mixed-large');
if (!c) throw new Error('fixture 09-mixed-large is missing');

function startWorker(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--role', 'worker'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}

describe('a worker killed in the middle of a backlog', () => {
  let db: TestDatabase | undefined;
  const redis = new Redis(REDIS_URL);
  const stream = uniqueKey('evently:analytics:stream');
  const children: ChildProcess[] = [];

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await redis.del(stream);
    if (db) await dropCachedAnswers(db.url);
    redis.disconnect();
    await db?.drop();
  });

  /** The answers the workers cached in Redis, under their store's namespace. */
  async function dropCachedAnswers(url: string): Promise<void> {
    const store = await openPostgres(url, 1);
    try {
      const keys = await redis.keys(`${cachePrefix(await storeId(store.db))}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      await store.close();
    }
  }

  it('loses nothing and counts nothing twice after a restart', async () => {
    db = await createTestDatabase('crash');
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL,
      JWT_SECRET: TEST_SECRET,
      EVENT_STREAM_KEY: stream,
      EVENT_CHANNEL_PATTERN: `${stream}:nothing:*`,
      EVENT_PROCESSING_BATCH_SIZE: '300',
      REPORTING_TIMEZONE: c.config.REPORTING_TIMEZONE,
      CONSUMER_NAME: 'crash-test-worker',
      PORT: '0',
      LOG_LEVEL: 'warn',
    };
    for (let i = 0; i < c.lines.length; i += 1000) {
      const batch = redis.pipeline();
      for (const line of c.lines.slice(i, i + 1000)) batch.xadd(stream, '*', 'payload', line.raw);
      await batch.exec();
    }
    const client = new pg.Client({ connectionString: db.url });
    const processed = async (): Promise<number> => {
      const { rows } = await client.query<{ n: string }>(
        "select count(*) as n from event_log where outcome in ('processed', 'duplicate', 'ignored', 'rejected')",
      );
      return Number(rows[0]?.n ?? 0);
    };

    const first = startWorker(env);
    children.push(first);
    await waitFor('the migrations of the first worker', async () => {
      try {
        await client.connect();
        return true;
      } catch {
        return undefined;
      }
    });
    await waitFor(
      'a part of the backlog to be committed',
      async () => {
        const n = await processed().catch(() => 0);
        return n >= 2_000 ? n : undefined;
      },
      60_000,
    );
    first.kill('SIGKILL');
    await exited(first);
    const logged = await processed();
    expect(logged).toBeLessThan(c.lines.length);

    const second = startWorker(env);
    children.push(second);
    await waitFor(
      'the backlog to drain',
      async () => {
        const pending = (await redis.xpending(stream, 'analytics')) as [number, ...unknown[]];
        const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
        const lag = Number(groups[0]?.[groups[0].indexOf('lag') + 1] ?? 1);
        return pending[0] === 0 && lag === 0 ? true : undefined;
      },
      120_000,
    );
    second.kill('SIGTERM');
    await exited(second);
    expect(second.exitCode).toBe(0);

    const counts = await client.query<{ outcome: string; n: string }>(
      'select outcome, count(*) as n from event_log group by outcome',
    );
    await client.end();
    const byOutcome = Object.fromEntries(counts.rows.map((r) => [r.outcome, Number(r.n)]));
    expect(byOutcome.processed).toBe(c.expected.outcomes.processed);

    const t = await startTestApp({
      databaseUrl: db.url,
      env: { REPORTING_TIMEZONE: c.config.REPORTING_TIMEZONE },
    });
    try {
      await assertFigures(t.app, t.token, c);
    } finally {
      await t.close();
    }
  }, 240_000);
});
