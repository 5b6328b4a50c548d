/**
 * The response cache and the change bus against the shared Redis, and against a Redis that is not
 * there: instances share answers and last good answers; an absent Redis costs neither errors nor time.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createLocalBus,
  createRedisBus,
  internalChannel,
  type Bus,
  type BusMessage,
} from '../../src/platform/bus.ts';
import { createResponseCache } from '../../src/platform/cache.ts';
import { REDIS_URL, uniqueKey, waitFor } from '../helpers/db.ts';

const options = { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true } as const;
const clients: Redis[] = [];
const buses: Bus[] = [];

async function connected(): Promise<Redis> {
  const redis = new Redis(REDIS_URL, options);
  clients.push(redis);
  await redis.connect();
  return redis;
}

/** A client of a Redis that is not there (nothing listens on port 1). */
function absent(): Redis {
  const redis = new Redis('redis://127.0.0.1:1', {
    ...options,
    lazyConnect: false,
    retryStrategy: () => 1_000,
  });
  redis.on('error', () => undefined);
  clients.push(redis);
  return redis;
}

function listen(bus: Bus): BusMessage[] {
  const heard: BusMessage[] = [];
  bus.subscribe((m) => heard.push(m));
  return heard;
}

afterAll(async () => {
  for (const bus of buses) await bus.close();
  for (const redis of clients) redis.disconnect();
});

const change = (v: number): BusMessage => ({
  kind: 'change',
  notice: { data_version: v, changed: ['events'] },
});

describe('response cache on Redis', () => {
  it('shares answers and last good answers between instances, never replacing a newer one', async () => {
    const prefix = `${uniqueKey('evently:analytics:cache')}:`;
    const a = createResponseCache({ ttlSeconds: 60, redis: await connected(), prefix });
    const b = createResponseCache({ ttlSeconds: 60, redis: await connected(), prefix });
    await a.set('/system|', 3, 'answer@3');
    expect(await b.get('/system|', 3)).toBe('answer@3');
    await a.set('/capacity|', 5, 'capacity@5');
    await b.set('/capacity|', 4, 'capacity@4'); // a slower instance, finishing late
    const c = createResponseCache({ ttlSeconds: 60, redis: await connected(), prefix });
    expect(await c.lastGood('/capacity|')).toEqual({ version: 5, body: 'capacity@5' });
    // An instance's own copy does not hide a newer one another instance wrote since.
    await a.set('/daily|', 1, 'daily@1');
    await b.set('/daily|', 2, 'daily@2');
    expect(await a.lastGood('/daily|')).toEqual({ version: 2, body: 'daily@2' });
    await c.clear();
    const d = createResponseCache({ ttlSeconds: 60, redis: await connected(), prefix });
    expect(await d.lastGood('/capacity|')).toBeUndefined();
    expect(await d.get('/system|', 3)).toBeUndefined();
  });

  it('keeps a bounded number of last good answers in Redis, the least recently written dropped first', async () => {
    const prefix = `${uniqueKey('evently:analytics:cache')}:`;
    const redis = await connected();
    const a = createResponseCache({
      ttlSeconds: 60,
      redis,
      prefix,
      maxSharedLastGood: 4,
      maxSharedLastGoodChars: 100,
    });
    for (const key of ['/a', '/b', '/c']) await a.set(key, 1, `${key}@1`);
    await a.set('/a', 2, '/a@2'); // written again: now the most recent
    await a.set('/d', 1, '/d@1');
    await a.set('/big', 1, 'small@1');
    await a.set('/big', 2, 'x'.repeat(101)); // over the bound: kept in process only, the old copy gone
    const fresh = createResponseCache({ ttlSeconds: 60, redis: await connected(), prefix });
    expect(await fresh.lastGood('/b')).toBeUndefined();
    expect(await fresh.lastGood('/big')).toBeUndefined();
    for (const key of ['/a', '/c', '/d']) expect(await fresh.lastGood(key), key).toBeDefined();
    expect((await redis.keys(`${prefix}last:*`)).sort()).toEqual(
      ['/a', '/c', '/d'].map((k) => `${prefix}last:${k}`),
    );
    expect(await a.lastGood('/big')).toEqual({ version: 2, body: 'x'.repeat(101) });
    // A slower instance's big answer at an older version leaves a newer shared copy alone.
    await a.set('/e', 5, '/e@5');
    await createResponseCache({ ttlSeconds: 60, redis, prefix, maxSharedLastGoodChars: 100 }).set(
      '/e',
      4,
      'y'.repeat(101),
    );
    expect(await fresh.lastGood('/e')).toEqual({ version: 5, body: '/e@5' });
    await fresh.clear();
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
  });

  it('works from memory alone, at once and without errors, while Redis is not there', async () => {
    const errors: unknown[] = [];
    const cache = createResponseCache({
      ttlSeconds: 60,
      redis: absent(),
      onRedisError: (e) => errors.push(e),
    });
    const started = performance.now();
    for (let v = 1; v <= 50; v++) {
      expect(await cache.get('/system|', v)).toBeUndefined();
      await cache.set('/system|', v, `answer@${v}`);
      expect(await cache.get('/system|', v)).toBe(`answer@${v}`);
    }
    expect(await cache.lastGood('/system|')).toEqual({ version: 50, body: 'answer@50' });
    expect(performance.now() - started).toBeLessThan(200);
    expect(errors).toEqual([]);
  });
});

describe('change bus on Redis', () => {
  it('delivers a notice once to the instance that published it and once to every other', async () => {
    const store = `test-${Math.random().toString(16).slice(2)}`;
    const a = createRedisBus(await connected(), store, () => undefined);
    const b = createRedisBus(await connected(), store, () => undefined);
    const elsewhere = createRedisBus(await connected(), `${store}-other`, () => undefined);
    buses.push(a, b, elsewhere);
    const heardElsewhere = listen(elsewhere);
    const heardByA = listen(a);
    const heardByB = listen(b);
    const probe = await connected();
    // Both subscriptions are live once a publish reaches two subscribers.
    await waitFor('both buses to subscribe', async () =>
      ((await probe.pubsub('NUMSUB', internalChannel(store))) as [string, number])[1] >= 2 ? true : undefined,
    );
    await a.publish(change(7));
    expect(heardByA).toEqual([change(7)]); // in process, before Redis carried anything
    await waitFor('the other instance to hear it', async () => (heardByB.length > 0 ? true : undefined));
    await b.publish({ kind: 'users' });
    await waitFor('the first instance to hear the second', async () =>
      heardByA.length === 2 ? true : undefined,
    );
    expect(heardByA).toEqual([change(7), { kind: 'users' }]);
    expect(heardByB).toEqual([change(7), { kind: 'users' }]);
    // Another deployment on the same Redis hears nothing of this one.
    expect(heardElsewhere).toEqual([]);
  });

  it('delivers in process, without an error, while Redis is not there', async () => {
    const errors: unknown[] = [];
    const bus = createRedisBus(absent(), 'absent', (e: unknown) => errors.push(e));
    buses.push(bus);
    const heard = listen(bus);
    await bus.publish(change(3));
    expect(heard).toEqual([change(3)]);
    expect(errors.filter((e) => !/ECONNREFUSED/.test(String(e)))).toEqual([]);
  });

  it('behaves as the in-process bus when there is no Redis at all', async () => {
    const bus = createLocalBus();
    const heard = listen(bus);
    await bus.publish(change(1));
    expect(heard).toEqual([change(1)]);
  });
});
