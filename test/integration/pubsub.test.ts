import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { Consumer } from '../../src/ingest/consumer.ts';
import pg from 'pg';
import type { Pipeline } from '../../src/ingest/pipeline.ts';
import { createPubSubConsumer } from '../../src/ingest/pubsub-consumer.ts';
import { waitFor, when } from '../helpers/db.ts';
import {
  countBookings,
  countLogRows,
  IngestHarness,
  rejections,
  silentLogger,
  totalsWhen,
} from '../support/ingest-harness.ts';
import { bookingMessage, eventCreated, jazzNightAround } from '../support/messages.ts';
import { TEST_REDIS_URL, uniqueName } from '../support/scratch-database.ts';

const harness = new IngestHarness();
const publisher = new Redis(TEST_REDIS_URL);
const run = uniqueName('test');
const consumers: Consumer[] = [];
const cleanupKeys: string[] = [];
let channels = 0;

afterAll(async () => {
  for (const consumer of consumers) await consumer.stop();
  if (cleanupKeys.length > 0) await publisher.del(...cleanupKeys);
  publisher.disconnect();
  await harness.close();
});

const { event, booking, lifecycle } = jazzNightAround(Date.UTC(2026, 10, 3, 12));

/**
 * Channels of one test: `evently:<id>:…` and the service's own `analytics-internal:<id>:…`, both
 * matched by the test's pattern so that ignoring the internal ones is the consumer's doing.
 */
function channelsOfTest() {
  const id = `${run}-${channels++}`;
  return {
    pattern: `*:${id}:*`,
    bookings: `evently:${id}:bookings`,
    internal: `analytics-internal:${id}:changed`,
  };
}

function consumer(
  pipeline: Pipeline,
  channelPattern: string,
  extra: { maxBuffered?: number; logger?: pino.Logger; streamKey?: string } = {},
) {
  const created = createPubSubConsumer({
    redis: publisher,
    pipeline,
    config: { channelPattern, batchSize: 100, streamKey: extra.streamKey ?? `${run}:stream` },
    logger: extra.logger ?? silentLogger,
    ...(extra.maxBuffered ? { maxBuffered: extra.maxBuffered } : {}),
  });
  consumers.push(created);
  return created;
}

/** A logger whose lines (parsed) the test reads. */
function capturedLog() {
  const logs: { level: number; msg: string; lost?: number; handed?: number }[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => logs.push(JSON.parse(line) as (typeof logs)[number]) },
  );
  return { logs, logger };
}

/** Pub/sub keeps nothing for absent listeners: publish (internal, ignored) probes until one is heard. */
async function subscribed(channel: string): Promise<void> {
  await waitFor(
    'the subscription',
    when(
      () => publisher.publish(channel, '{"type": "probe"}'),
      (listeners) => listeners > 0,
    ),
  );
}

async function publish(channel: string, payloads: string[]): Promise<void> {
  for (const payload of payloads) await publisher.publish(channel, payload);
}

describe('pub/sub consumer', () => {
  it('processes published messages', async () => {
    const { db, pipeline } = await harness.freshPipeline();
    const ch = channelsOfTest();
    consumer(pipeline, ch.pattern).start();
    await subscribed(ch.internal);

    await publish(ch.bookings, lifecycle);
    await totalsWhen(db, '4 processed', (t) => t.processed === 4);
    expect(await countBookings(db)).toBe(2);
  });

  it('counts a duplicate delivery once', async () => {
    const { db, pipeline } = await harness.freshPipeline();
    const ch = channelsOfTest();
    consumer(pipeline, ch.pattern).start();
    await subscribed(ch.internal);

    const created = bookingMessage('BookingCreated', booking(1));
    await publish(ch.bookings, [eventCreated(event), created, created]);
    const t = await totalsWhen(db, '3 handled', (t) => t.processed + t.duplicates === 3);
    expect(t).toMatchObject({ processed: 2, duplicates: 1 });
    expect(await countBookings(db)).toBe(1);
  });

  it('rejects a malformed message and keeps it with its reason and channel', async () => {
    const { db, pipeline } = await harness.freshPipeline();
    const ch = channelsOfTest();
    consumer(pipeline, ch.pattern).start();
    await subscribed(ch.internal);

    await publish(ch.bookings, ['not json', '[1, 2]', eventCreated(event)]);
    const t = await totalsWhen(db, '3 handled', (t) => t.processed + t.rejected === 3);
    expect(t).toMatchObject({ processed: 1, rejected: 2 });
    expect(await rejections(db)).toEqual([
      { reason: 'invalid_json', transport: 'pubsub', channel: ch.bookings },
      { reason: 'not_object', transport: 'pubsub', channel: ch.bookings },
    ]);
  });

  it("ignores the service's own analytics-internal notifications", async () => {
    const { db, pipeline } = await harness.freshPipeline();
    const ch = channelsOfTest();
    consumer(pipeline, ch.pattern).start();
    await subscribed(ch.internal);

    await publish(ch.internal, [eventCreated(event)]);
    await publish(ch.bookings, [bookingMessage('BookingCreated', booking(1))]);
    // Messages of one subscription arrive in order: once the booking is stored, the notification was seen.
    await totalsWhen(db, '1 processed', (t) => t.processed === 1);
    expect(await countLogRows(db)).toBe(1);
  });

  it('keeps messages in memory while the database is down and stores them once it is back', async () => {
    const { name, db, pipeline } = await harness.freshPipeline();
    const ch = channelsOfTest();
    await harness.databases.setReachable(name, false);
    const resilient = consumer(pipeline, ch.pattern);
    resilient.start();
    await subscribed(ch.internal);

    await publish(ch.bookings, lifecycle);
    await waitFor(
      '4 buffered during the outage',
      when(
        () => resilient.stats(),
        (s) => s.lastError !== null && s.pending === 4,
      ),
    );
    await harness.databases.setReachable(name, true);

    await totalsWhen(db, '4 processed', (t) => t.processed === 4);
    expect(resilient.stats()).toMatchObject({ pending: 0, lastError: null });
  });

  it('hands what it holds to the stream when a batch is stuck at shutdown, within its bound', async () => {
    const ch = channelsOfTest();
    const streamKey = `${run}:${ch.bookings}:stuck-stream`;
    cleanupKeys.push(streamKey);
    // A batch that does not commit in time: it waits for the writer lock, held as a rebuild holds it.
    const { url, pipeline } = await harness.freshPipeline();
    const rebuild = new pg.Client({ connectionString: url });
    await rebuild.connect();
    await rebuild.query('select pg_advisory_lock(7335001)');
    try {
      const held = createPubSubConsumer({
        redis: publisher,
        pipeline,
        config: { channelPattern: ch.pattern, batchSize: 2, streamKey },
        logger: silentLogger,
        stopWaitMs: 300,
      });
      held.start();
      await subscribed(ch.internal);
      await publish(ch.bookings, lifecycle);
      await waitFor(
        'the messages in memory',
        when(
          () => held.stats(),
          (st) => st.pending === 4,
        ),
      );
      const started = Date.now();
      await held.stop();
      expect(Date.now() - started).toBeLessThan(3_000);
      // All of it, the stuck batch included (if it commits after all, its copies are duplicates).
      const raws = (await publisher.xrange(streamKey, '-', '+')).map(([, f]) => f[f.indexOf('payload') + 1]);
      expect(raws.sort()).toEqual([...lifecycle].sort());
    } finally {
      await rebuild.end();
    }
  });

  it('counts and reports the messages that neither the database nor the stream could take', async () => {
    const { name, pipeline } = await harness.freshPipeline();
    const ch = channelsOfTest();
    // A key of another type: Redis refuses the XADD (WRONGTYPE), as it would while out of memory.
    const notAStream = `${run}:${ch.bookings}:not-a-stream`;
    cleanupKeys.push(notAStream);
    await publisher.set(notAStream, 'x');
    const { logs, logger } = capturedLog();
    await harness.databases.setReachable(name, false);
    const bounded = consumer(pipeline, ch.pattern, { maxBuffered: 3, logger, streamKey: notAStream });
    bounded.start();
    await subscribed(ch.internal);
    await publish(ch.bookings, lifecycle);
    await waitFor(
      'the loss to be counted',
      when(
        () => bounded.stats(),
        (st) => st.dropped === 1,
      ),
    );
    expect(logs.some((e) => e.level >= 50 && e.lost === 1)).toBe(true);
    await harness.databases.setReachable(name, true);
  });

  it('hands what does not fit in its bounded buffer to the stream, and what it holds at shutdown', async () => {
    const { name, db, pipeline } = await harness.freshPipeline();
    const ch = channelsOfTest();
    const streamKey = `${run}:${ch.bookings}:stream`;
    cleanupKeys.push(streamKey);
    const { logs, logger } = capturedLog();
    await harness.databases.setReachable(name, false);
    const bounded = consumer(pipeline, ch.pattern, { maxBuffered: 3, logger, streamKey });
    bounded.start();
    await subscribed(ch.internal);

    await publish(ch.bookings, lifecycle);
    const streamed = async () =>
      (await publisher.xrange(streamKey, '-', '+')).map(
        ([, fields]) => fields[fields.indexOf('payload') + 1],
      );
    // The fourth message does not fit: it is on the stream, whole, for the stream consumers.
    await waitFor(
      'the overflow on the stream',
      when(streamed, (raws) => raws.length === 1),
    );
    expect(await streamed()).toEqual([lifecycle[3]]);
    expect(bounded.stats()).toMatchObject({ pending: 3, handedToStream: 1, dropped: 0, bufferFull: true });
    expect(logs.some((e) => e.msg.includes('buffer full; new messages go to the stream'))).toBe(true);

    // Stopped while the database is still down: what it holds goes to the stream too, not lost.
    await bounded.stop();
    expect(await streamed()).toEqual([lifecycle[3], ...lifecycle.slice(0, 3)]);
    expect(bounded.stats()).toMatchObject({ pending: 0, handedToStream: 4, dropped: 0 });
    await harness.databases.setReachable(name, true);
    expect(await countLogRows(db)).toBe(0);
  });
});
