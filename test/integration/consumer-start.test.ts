/**
 * A normal start of the consumers, on the service's own Redis connection (no offline queue, lazy
 * connections) as the CLI builds them: waiting for a connection to come up is not an outage, so
 * nothing is logged as an error, and both transports deliver.
 */
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from '../../src/ingest/consumer.ts';
import { createPubSubConsumer } from '../../src/ingest/pubsub-consumer.ts';
import { createStreamConsumer } from '../../src/ingest/stream-consumer.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { REDIS_URL, uniqueKey, waitFor } from '../helpers/db.ts';

interface LogLine {
  level: number;
  msg: string;
  component?: string;
}

const lines: LogLine[] = [];
const logDestination = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    lines.push(JSON.parse(chunk.toString()) as LogLine);
    callback();
  },
});

const channelPrefix = uniqueKey('evently-start');
let t: TestApp;
let publisher: Redis;
const consumers: Consumer[] = [];

beforeAll(async () => {
  t = await startTestApp({
    redis: true,
    env: { LOG_LEVEL: 'info', EVENT_CHANNEL_PATTERN: `${channelPrefix}:*` },
    logDestination,
  });
  publisher = new Redis(REDIS_URL);
});

afterAll(async () => {
  for (const consumer of consumers) await consumer.stop();
  await publisher.del(t.config.streamKey);
  publisher.disconnect();
  await t.close();
});

async function processed(): Promise<number> {
  const res = await t.app.inject({ url: '/health' });
  return res.json<{ ingest: { processed: number } }>().ingest.processed;
}

describe('consumers at start-up', () => {
  it('connect without logging an error and deliver from the stream and pub/sub', async () => {
    const redis = t.deps.redis;
    if (!redis) throw new Error('the service has no Redis');
    // As the CLI builds them.
    const logger = t.deps.logger.child({ component: 'consumer' });
    consumers.push(
      createStreamConsumer({ redis, pipeline: t.deps.ingest, config: t.config, logger }),
      createPubSubConsumer({ redis, pipeline: t.deps.ingest, config: t.config, logger }),
    );
    for (const consumer of consumers) consumer.start();

    await waitFor('the subscription', async () =>
      lines.some((l) => l.msg === 'subscribed') ? true : undefined,
    );
    await publisher.xadd(t.config.streamKey, '*', 'payload', '{"type":"EventDeleted","event_id":901}');
    await publisher.publish(`${channelPrefix}:events:deleted`, '{"type":"EventDeleted","event_id":902}');
    await waitFor('both messages processed', async () => ((await processed()) === 2 ? true : undefined));

    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    expect(lines.filter((l) => /recovered|failed/.test(l.msg))).toEqual([]);
  });
});
