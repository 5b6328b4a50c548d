/**
 * A stream backlog of oversized messages (events.md §4: over 64 KiB, rejected and kept) among good
 * ones: read a few at a time and committed in parts of bounded size, each acknowledged as it
 * commits, so memory follows the budget rather than the backlog, and every message ends up counted
 * once with its outcome, also when a later part fails and is read again.
 */
import { sql } from 'kysely';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_BATCH_CHARACTERS } from '../../src/ingest/batch.ts';
import { startTestApp, streamConsumerOf, type TestApp } from '../helpers/app.ts';
import { REDIS_URL, waitFor } from '../helpers/db.ts';
import { failOnce } from '../support/fail-once.ts';
import { bookingMessage, eventCreated } from '../support/messages.ts';

const HOUR = 3_600_000;
const at = Date.parse('2026-11-10T10:00:00Z');
const BIG = 60;
const BIG_SIZE = 600_000;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A service whose stream holds BIG bookings, each followed by an oversized message (`marked` at `mark`). */
async function serviceWithBacklog(mark?: { at: number; text: string }): Promise<TestApp> {
  const t = await startTestApp({ redis: true });
  const publisher = new Redis(REDIS_URL);
  cleanups.push(async () => {
    await publisher.del(t.config.streamKey);
    publisher.disconnect();
    await t.close();
  });
  const good = [
    eventCreated({
      id: 1,
      name: 'Big Night',
      category: 'music',
      capacity: 100,
      price: 10,
      createdAt: at - 48 * HOUR,
      eventDate: at + 48 * HOUR,
    }),
  ];
  for (let b = 1; b <= BIG; b++)
    good.push(
      bookingMessage('BookingCreated', {
        id: b,
        eventId: 1,
        userId: b,
        quantity: 1,
        totalAmount: 10,
        createdAt: at + b * 60_000,
      }),
    );
  const pipeline = publisher.pipeline();
  good.forEach((raw, i) => {
    pipeline.xadd(t.config.streamKey, '*', 'payload', raw);
    if (i === 0) return;
    const pad = `${i === mark?.at ? mark.text : ''}${String(i)}`.padEnd(BIG_SIZE, 'x');
    pipeline.xadd(
      t.config.streamKey,
      '*',
      'payload',
      JSON.stringify({ type: 'EventDeleted', event_id: 9, pad }),
    );
  });
  await pipeline.exec();
  return t;
}

async function consume(t: TestApp): Promise<void> {
  const consumer = streamConsumerOf(t);
  cleanups.push(() => consumer.stop());
  consumer.start();
  await waitFor(
    'the backlog processed',
    async () => {
      const res = await t.app.inject({ url: '/health' });
      const h = res.json<{ ingest: { processed: number; rejected: number } }>().ingest;
      return h.processed + h.rejected === 1 + 2 * BIG ? h : undefined;
    },
    60_000,
  );
}

/** Each message's log rows: one each, the oversized ones rejected as too_large. */
async function expectCountedOnce(t: TestApp): Promise<void> {
  const res = await t.app.inject({ url: '/health' });
  expect(res.json<{ ingest: object }>().ingest).toMatchObject({ processed: 1 + BIG, rejected: BIG });
  const { rows } = await sql<{ reason: string | null; n: number; messages: number }>`
    select reason, count(*)::int as n, count(distinct md5(raw))::int as messages
    from event_log group by reason order by reason nulls first`.execute(t.deps.database.db);
  expect(rows.map((r) => [r.reason, r.n, r.messages])).toEqual([
    [null, 1 + BIG, 1 + BIG],
    ['too_large', BIG, BIG],
  ]);
  const event = await t.app.inject({
    url: '/api/v1/analytics/events/1',
    headers: { authorization: `Bearer ${t.token}` },
  });
  expect(event.json<{ data: { total_bookings: number } }>().data.total_bookings).toBe(BIG);
}

describe('a backlog of oversized messages', () => {
  it('is read a few at a time and committed in parts within the budget', async () => {
    // Watched on the real client: every read's COUNT (the consumer's connections are duplicates).
    const spy = vi.spyOn(Redis.prototype, 'call');
    const counts = (): number[] =>
      spy.mock.calls.flatMap((args) => {
        const [command, list] = args as unknown as [string, unknown];
        return command === 'XREADGROUP' && Array.isArray(list)
          ? [Number(list[list.indexOf('COUNT') + 1])]
          : [];
      });
    const t = await serviceWithBacklog();
    await consume(t);
    await expectCountedOnce(t);
    // The first read takes 100 entries (30 MB here: half of them oversized); the next ones what
    // fits in the budget at their average size.
    const fits = Math.floor(MAX_BATCH_CHARACTERS / BIG_SIZE);
    expect(counts()[0]).toBe(100);
    expect(Math.min(...counts())).toBeLessThanOrEqual(Math.ceil((2 * MAX_BATCH_CHARACTERS) / BIG_SIZE));
    const { rows } = await sql<{ transactions: number }>`
      select count(distinct xmin::text)::int as transactions from event_log where reason = 'too_large'`.execute(
      t.deps.database.db,
    );
    expect(rows[0]?.transactions).toBeGreaterThanOrEqual(Math.ceil(BIG / fits));
  }, 120_000);

  it('counts nothing twice when a later part fails and is read again', async () => {
    const t = await serviceWithBacklog({ at: 20, text: 'fail-here' });
    // The message after the 20th booking (in a later part) fails once, as a serialization failure would; the
    // sequence is not rolled back with it, so it goes through when read again.
    const failing = await failOnce(t.deps.database.db, {
      name: 'fail_once',
      table: 'event_log',
      on: 'insert',
      errcode: '40001',
      when: "new.raw like '%fail-here%'",
    });
    await consume(t);
    expect(await failing.tries()).toBe(2);
    await expectCountedOnce(t);
  }, 120_000);
});
