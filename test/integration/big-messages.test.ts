/**
 * A stream backlog of oversized messages (events.md §4: over 64 KiB, rejected and kept) among good
 * ones: read a few at a time and committed in parts of bounded size, so memory follows the budget
 * rather than the backlog, and every message still ends up counted once with its outcome.
 */
import { sql } from 'kysely';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from '../../src/ingest/consumer.ts';
import { MAX_BATCH_CHARACTERS } from '../../src/ingest/pipeline.ts';
import { createStreamConsumer } from '../../src/ingest/stream-consumer.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { REDIS_URL, waitFor } from '../helpers/db.ts';
import { bookingMessage, eventCreated } from '../support/messages.ts';

const HOUR = 3_600_000;
const at = Date.parse('2026-11-10T10:00:00Z');
const BIG = 40;
const BIG_SIZE = 600_000;

let t: TestApp;
let publisher: Redis;
let consumer: Consumer | undefined;

beforeAll(async () => {
  t = await startTestApp({ redis: true });
  publisher = new Redis(REDIS_URL);
});

afterAll(async () => {
  await consumer?.stop();
  await publisher.del(t.config.streamKey);
  publisher.disconnect();
  await t.close();
});

async function health(): Promise<{ processed: number; rejected: number }> {
  const res = await t.app.inject({ url: '/health' });
  return res.json<{ ingest: { processed: number; rejected: number } }>().ingest;
}

describe('a backlog of oversized messages', () => {
  it('is committed in parts within the budget, every message counted once', async () => {
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
    // Each good message is followed by an oversized one: a JSON object padded past 64 KiB.
    const pipeline = publisher.pipeline();
    good.forEach((raw, i) => {
      pipeline.xadd(t.config.streamKey, '*', 'payload', raw);
      if (i > 0)
        pipeline.xadd(
          t.config.streamKey,
          '*',
          'payload',
          JSON.stringify({ type: 'EventDeleted', event_id: 9, pad: 'x'.repeat(BIG_SIZE) }),
        );
    });
    await pipeline.exec();

    const redis = t.deps.redis;
    if (!redis) throw new Error('the service has no Redis');
    consumer = createStreamConsumer({
      redis,
      pipeline: t.deps.ingest,
      config: t.config,
      logger: t.deps.logger,
    });
    consumer.start();
    await waitFor('the backlog processed', async () => {
      const h = await health();
      return h.processed + h.rejected === good.length + BIG ? h : undefined;
    });

    const h = await health();
    expect(h).toMatchObject({ processed: good.length, rejected: BIG });
    const db = t.deps.database.db;
    const { rows } = await sql<{ reason: string | null; n: number; transactions: number }>`
      select reason, count(*)::int as n, count(distinct xmin::text)::int as transactions
      from event_log group by reason order by reason nulls first`.execute(db);
    expect(rows.map((r) => [r.reason, r.n])).toEqual([
      [null, good.length],
      ['too_large', BIG],
    ]);
    // 24 MB of oversized text: never more than the budget's worth in one transaction.
    const perTransaction = Math.floor(MAX_BATCH_CHARACTERS / BIG_SIZE);
    expect(rows[1]?.transactions).toBeGreaterThanOrEqual(Math.ceil(BIG / perTransaction));
    const event = await t.app.inject({
      url: '/api/v1/analytics/events/1',
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(event.json<{ data: { total_bookings: number } }>().data.total_bookings).toBe(BIG);
  }, 120_000);
});
