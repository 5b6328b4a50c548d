import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import type { Consumer } from '../../src/ingest/consumer.ts';
import type { Pipeline } from '../../src/ingest/pipeline.ts';
import { createStreamConsumer } from '../../src/ingest/stream-consumer.ts';
import { allConsumers, readEntries } from '../../src/ingest/stream-replies.ts';
import { trimAcknowledged } from '../../src/ingest/stream-trim.ts';
import { waitFor, when } from '../helpers/db.ts';
import {
  countBookings,
  IngestHarness,
  rejections,
  silentLogger,
  totals,
  totalsWhen,
} from '../support/ingest-harness.ts';
import { bookingMessage, eventCreated, jazzNightAround } from '../support/messages.ts';
import { TEST_REDIS_URL, uniqueName } from '../support/scratch-database.ts';

const harness = new IngestHarness();
const redis = new Redis(TEST_REDIS_URL);
const run = uniqueName('test');
const streams: string[] = [];
const consumers: Consumer[] = [];
const GROUP = 'analytics';

afterAll(async () => {
  for (const consumer of consumers) await consumer.stop();
  if (streams.length > 0) await redis.del(...streams);
  redis.disconnect();
  await harness.close();
});

const { event, booking, lifecycle } = jazzNightAround(Date.UTC(2026, 10, 3, 12));

function newStream(): string {
  const key = `${run}:stream:${streams.length}`;
  streams.push(key);
  return key;
}

async function add(key: string, payloads: string[]): Promise<void> {
  for (const payload of payloads) await redis.xadd(key, '*', 'payload', payload);
}

async function pendingCount(key: string): Promise<number> {
  const reply = (await redis.call('XPENDING', [key, GROUP])) as unknown[];
  return Number(reply[0]);
}

/** Waits until `n` entries of the stream are pending in the group. */
function pendingWhen(key: string, n: number): Promise<number> {
  return waitFor(
    n === 0 ? 'no pending entries' : `${n} pending entries`,
    when(
      () => pendingCount(key),
      (count) => count === n,
    ),
  );
}

function consumer(
  pipeline: Pipeline,
  streamKey: string,
  consumerName = 'c1',
  claimIdleMs?: number,
  timing: { trimEveryMs?: number; goneAfterMs?: number } = {},
): Consumer {
  const config = { streamKey, consumerGroup: GROUP, consumerName, batchSize: 100 };
  const created = createStreamConsumer({
    redis,
    pipeline,
    config,
    logger: silentLogger,
    ...(claimIdleMs ? { claimIdleMs } : {}),
    ...timing,
  });
  consumers.push(created);
  return created;
}

describe('stream consumer', () => {
  it('processes new entries and acknowledges them after the commit', async () => {
    const { db, pipeline } = await harness.freshPipeline();
    const key = newStream();
    await add(key, lifecycle);
    consumer(pipeline, key).start();

    await totalsWhen(db, '4 processed', (t) => t.processed === 4);
    expect(await countBookings(db)).toBe(2);
    await pendingWhen(key, 0);
  });

  it('keeps the channel of a pub/sub message the service handed to the stream', async () => {
    const { db, pipeline } = await harness.freshPipeline();
    const key = newStream();
    await redis.xadd(
      key,
      '*',
      'payload',
      lifecycle[0] as string,
      'channel',
      'evently:events:created',
      'via',
      'pubsub',
    );
    await add(key, [lifecycle[1] as string]);
    consumer(pipeline, key).start();
    await totalsWhen(db, '2 processed', (t) => t.processed === 2);
    const { rows } = await sql<{ transport: string; channel: string | null }>`
      select transport, channel from event_log order by id`.execute(db);
    expect(rows).toEqual([
      { transport: 'stream', channel: 'evently:events:created' },
      { transport: 'stream', channel: null },
    ]);
  });

  it('counts a duplicate delivery once', async () => {
    const { db, pipeline } = await harness.freshPipeline();
    const key = newStream();
    const created = bookingMessage('BookingCreated', booking(1));
    await add(key, [eventCreated(event), created, created]);
    consumer(pipeline, key).start();

    const t = await totalsWhen(db, '3 handled', (t) => t.processed + t.duplicates === 3);
    expect(t).toMatchObject({ processed: 2, duplicates: 1 });
    expect(await countBookings(db)).toBe(1);
  });

  it('rejects a malformed entry, keeps it with its reason and acknowledges it', async () => {
    const { db, pipeline } = await harness.freshPipeline();
    const key = newStream();
    await add(key, ['{"type": "BookingCreated", "booking_id": ']);
    await redis.xadd(key, '*', 'body', 'no payload field');
    await add(key, [eventCreated(event)]);
    consumer(pipeline, key).start();

    const t = await totalsWhen(db, '3 handled', (t) => t.processed + t.rejected === 3);
    expect(t).toMatchObject({ processed: 1, rejected: 2 });
    expect(await rejections(db)).toEqual([
      { reason: 'invalid_json', transport: 'stream', channel: null },
      { reason: 'invalid_json', transport: 'stream', channel: null },
    ]);
    await pendingWhen(key, 0);
  });

  it('keeps an entry without a payload field with its id and fields, so it can be found and re-sent', async () => {
    const { db, pipeline } = await harness.freshPipeline();
    const key = newStream();
    const message = '{"type":"EventDeleted","event_id":5}';
    const id = await redis.xadd(key, '*', 'data', message, 'producer', 'events-service');
    consumer(pipeline, key).start();

    await totalsWhen(db, '1 rejected', (t) => t.rejected === 1);
    const { rows } = await sql<{ reason: string; raw: string }>`
      select reason, raw from event_log where outcome = 'rejected'`.execute(db);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.reason).toBe('invalid_json');
    const raw = rows[0]?.raw ?? '';
    expect(raw).toContain(`${key} entry ${id} has no "payload" field`);
    const fields = JSON.parse(raw.slice(raw.indexOf('{'))) as Record<string, string>;
    expect(fields).toEqual({ data: message, producer: 'events-service' });
    await pendingWhen(key, 0);
  });

  it('leaves entries pending while the database is unreachable and a consumer with a working database processes them', async () => {
    const { db, pipeline } = await harness.freshPipeline();
    const key = newStream();
    await add(key, lifecycle);
    const failing = consumer(await harness.unreachablePipeline(), key, 'restarted');
    failing.start();

    await waitFor(
      'the outage to be reported',
      when(
        () => failing.stats(),
        (s) => s.lastError !== null,
      ),
    );
    await pendingWhen(key, 4);
    await failing.stop();
    expect(await pendingCount(key)).toBe(4);
    expect(await totals(db)).toMatchObject({ processed: 0 });

    consumer(pipeline, key, 'restarted').start();
    await totalsWhen(db, '4 processed', (t) => t.processed === 4);
    await pendingWhen(key, 0);
  });

  it('waits longer and longer between attempts while the database stays unreachable', async () => {
    const key = newStream();
    await add(key, lifecycle);
    const unreachable = await harness.unreachablePipeline();
    let attempts = 0;
    const counting: Pipeline = {
      processBatch: (items) => {
        attempts++;
        return unreachable.processBatch(items);
      },
    };
    const patient = consumer(counting, key, 'patient');
    patient.start();
    await waitFor(
      'the outage to be reported',
      when(
        () => patient.stats(),
        (s) => s.lastError !== null,
      ),
    );
    // What /health shows of it names the kind of failure, not the driver's host and port.
    expect(patient.stats().lastError).toMatch(/unreachable/);
    expect(patient.stats().lastError).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
    const before = attempts;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await patient.stop();
    // 100 ms doubling: 200, 400, 800, 1,600 ms apart, so a handful in 3 s. A backoff that starts
    // over at each retry makes it a retry every ~100 ms (some 20 or more).
    expect(attempts - before).toBeLessThanOrEqual(6);
    expect(await pendingCount(key)).toBe(4);
  });

  it('retries its own pending entries once the database is back', async () => {
    const { name, db, pipeline } = await harness.freshPipeline();
    const key = newStream();
    await harness.databases.setReachable(name, false);
    await add(key, lifecycle);
    const resilient = consumer(pipeline, key);
    resilient.start();

    await waitFor(
      'the outage to be reported',
      when(
        () => resilient.stats(),
        (s) => s.lastError !== null,
      ),
    );
    await pendingWhen(key, 4);
    await harness.databases.setReachable(name, true);

    await totalsWhen(db, '4 processed', (t) => t.processed === 4);
    await pendingWhen(key, 0);
    await waitFor(
      'the recovery',
      when(
        () => resilient.stats(),
        (s) => s.lastError === null,
      ),
    );
    expect(await totals(db)).toMatchObject({ processed: 4, duplicates: 0 });
  });

  it('takes over entries a dead consumer left pending', async () => {
    const { db, pipeline } = await harness.freshPipeline();
    const key = newStream();
    await redis.call('XGROUP', ['CREATE', key, GROUP, '0', 'MKSTREAM']);
    await add(key, lifecycle);
    // The dead consumer read everything and never acknowledged: only XAUTOCLAIM can deliver it again.
    await redis.call('XREADGROUP', ['GROUP', GROUP, 'dead', 'COUNT', '100', 'STREAMS', key, '>']);
    expect(await pendingCount(key)).toBe(4);

    consumer(pipeline, key, 'survivor', 200).start();
    await totalsWhen(db, '4 processed', (t) => t.processed === 4);
    await pendingWhen(key, 0);
  });

  it('finishes and acknowledges the batch in flight when stopped', async () => {
    const { db, pipeline } = await harness.freshPipeline();
    const key = newStream();
    await add(key, lifecycle);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let batches = 0;
    const slow: Pipeline = {
      async processBatch(items) {
        batches++;
        await gate;
        return pipeline.processBatch(items);
      },
    };
    const stopping = consumer(slow, key);
    stopping.start();
    await waitFor(
      'a batch in flight',
      when(
        () => batches,
        (n) => n === 1,
      ),
    );

    const stopped = stopping.stop();
    release();
    await stopped;
    expect(stopping.stats().running).toBe(false);
    expect(await totals(db)).toMatchObject({ processed: 4 });
    expect(await pendingCount(key)).toBe(0);
  });

  it('trims only the entries every consumer group on the stream has been given and has acknowledged', async () => {
    const { db, pipeline } = await harness.freshPipeline();
    const key = newStream();
    const created = eventCreated(event);
    await add(
      key,
      Array.from({ length: 300 }, () => created),
    );
    const trim = () => trimAcknowledged(redis, key, GROUP);
    // Before our group exists nothing goes: it will read the stream from its start.
    await redis.call('XGROUP', ['CREATE', key, 'other', '$']);
    expect(await trim()).toEqual({ removed: 0, more: false });
    await redis.call('XGROUP', ['DESTROY', key, 'other']);
    // Another service's group on the same stream, which has read nothing yet.
    await redis.call('XGROUP', ['CREATE', key, 'other', '0']);
    consumer(pipeline, key, 'trim', undefined, { trimEveryMs: 50 }).start();
    await totalsWhen(db, '300 handled', (t) => t.processed + t.duplicates === 300);
    await pendingWhen(key, 0);
    // The other group still needs everything.
    expect((await trim()).removed).toBe(0);
    expect(await redis.xlen(key)).toBe(300);

    // It reads 250 entries: read but not acknowledged, they are still needed.
    const ids = readEntries(
      await redis.call('XREADGROUP', ['GROUP', 'other', 'o1', 'COUNT', '250', 'STREAMS', key, '>']),
    ).map((entry) => entry.id);
    expect(ids).toHaveLength(250);
    expect((await trim()).removed).toBe(0);
    expect(await redis.xlen(key)).toBe(300);

    // Acknowledged, what precedes the 250th entry may go, and the consumer trims it by itself; the
    // 250th entry and what follows stay.
    await redis.call('XACK', [key, 'other', ...ids]);
    const last = ids.at(-1) as string;
    await waitFor(
      'the consumer to trim the stream',
      when(
        () => redis.xlen(key),
        (n) => n < 300,
      ),
      5_000,
    );
    expect((await redis.xrange(key, last, '+')).length).toBe(51);
  });

  it('trims a long backlog of acknowledged entries, past the limit of one XTRIM', async () => {
    const key = newStream();
    await redis.call('XGROUP', ['CREATE', key, GROUP, '0', 'MKSTREAM']);
    for (let i = 0; i < 5; i++) {
      const batch = redis.pipeline();
      for (let j = 0; j < 5_000; j++) batch.xadd(key, '*', 'payload', '{}');
      await batch.exec();
    }
    const ids = readEntries(
      await redis.call('XREADGROUP', ['GROUP', GROUP, 'bulk', 'COUNT', '25000', 'STREAMS', key, '>']),
    ).map((entry) => entry.id);
    expect(ids).toHaveLength(25_000);
    for (let i = 0; i < ids.length; i += 5_000)
      await redis.call('XACK', [key, GROUP, ...ids.slice(i, i + 5_000)]);

    let removed = 0;
    for (let turn = 0; turn < 10; turn++) {
      const result = await trimAcknowledged(redis, key, GROUP);
      removed += result.removed;
      if (!result.more) break;
    }
    // One XTRIM removes at most 10,000 entries; the whole backlog but the last block goes.
    expect(removed).toBeGreaterThan(24_000);
    expect(await redis.xlen(key)).toBe(25_000 - removed);
  });
  it('forgets consumers gone for a while that hold nothing, never one that still holds entries', async () => {
    const { pipeline } = await harness.freshPipeline();
    const key = newStream();
    await redis.call('XGROUP', ['CREATE', key, GROUP, '0', 'MKSTREAM']);
    await redis.xadd(key, '*', 'payload', '{}');
    // Two earlier processes: one read nothing (gone clean), one still holds an entry it read.
    await redis.call('XGROUP', ['CREATECONSUMER', key, GROUP, 'gone-clean']);
    await redis.call('XREADGROUP', ['GROUP', GROUP, 'gone-holding', 'COUNT', '1', 'STREAMS', key, '>']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const names = async () =>
      allConsumers(await redis.call('XINFO', ['CONSUMERS', key, GROUP]))
        .map((c) => c.name)
        .sort();
    // The held entry is left to its holder here (claims after a minute): only forgetting is under test.
    consumer(pipeline, key, 'living', 60_000, { trimEveryMs: 50, goneAfterMs: 200 }).start();
    await waitFor(
      'the clean one to be forgotten',
      when(names, (n) => !n.includes('gone-clean')),
    );
    expect(await names()).toEqual(['gone-holding', 'living']);
  });
});
