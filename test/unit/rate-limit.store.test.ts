import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createCounter, LocalWindows } from '../../src/auth/rate-limit.store.ts';

describe('LocalWindows', () => {
  it('counts within a window and starts again once it has passed', () => {
    let now = 1_000;
    const windows = new LocalWindows(100, () => now);
    expect(windows.incr('k', 60_000)).toEqual({ current: 1, ttl: 60_000 });
    now += 10_000;
    expect(windows.incr('k', 60_000)).toEqual({ current: 2, ttl: 50_000 });
    now += 50_000;
    expect(windows.incr('k', 60_000)).toEqual({ current: 1, ttl: 60_000 });
  });

  it('holds at most maxKeys windows, dropping the oldest first', () => {
    const now = 0;
    const windows = new LocalWindows(3, () => now);
    for (const key of ['a', 'b', 'c', 'd', 'e']) windows.incr(key, 60_000);
    expect(windows.size).toBe(3);
    windows.incr('e', 60_000);
    expect(windows.incr('e', 60_000).current).toBe(3);
    expect(windows.incr('a', 60_000).current).toBe(1);
  });
});

/** Just enough of ioredis for the counter: a status and an `eval` that answers as told. */
function fakeRedis(
  answer: () => Promise<unknown>,
  status = 'ready',
): Redis & { status: string; calls: number } {
  const redis = {
    status,
    calls: 0,
    eval: () => {
      redis.calls++;
      return answer();
    },
  };
  return redis as unknown as Redis & { status: string; calls: number };
}

describe('createCounter', () => {
  it('answers with the shared count from Redis while Redis answers', async () => {
    const count = createCounter({ redis: fakeRedis(() => Promise.resolve([7, 42_000])), prefix: 'p:' });
    expect(await count('user:1', 60_000)).toEqual({ current: 7, ttl: 42_000 });
  });

  it('falls back to its own count, without failing, when Redis errs, is not ready or is too slow', async () => {
    const modes: string[] = [];
    const redis = fakeRedis(() => Promise.reject(new Error('ECONNRESET')));
    const count = createCounter({ redis, prefix: 'p:', onModeChange: (mode) => modes.push(mode) });
    expect(await count('user:1', 60_000)).toMatchObject({ current: 1 });
    expect(await count('user:1', 60_000)).toMatchObject({ current: 2 });

    redis.status = 'reconnecting';
    expect(await count('user:1', 60_000)).toMatchObject({ current: 3 });

    const slow = createCounter({
      redis: fakeRedis(() => new Promise(() => {})),
      prefix: 'p:',
      timeoutMs: 20,
    });
    expect(await slow('user:1', 60_000)).toMatchObject({ current: 1 });
    // Told once on the way down, not once per request.
    expect(modes).toEqual(['local']);
  });

  it('counts the hits of one loop turn with one Redis call, answering each as separate INCRs would', async () => {
    const calls: unknown[][] = [];
    const redis = {
      status: 'ready',
      eval: (...args: unknown[]) => {
        calls.push(args);
        // Two keys: 'a' had 10 hits before, 'b' is new.
        return Promise.resolve([13, 50_000, 1, 60_000]);
      },
    } as unknown as Redis;
    const count = createCounter({ redis, prefix: 'p:' });
    const answers = await Promise.all([
      count('a', 60_000),
      count('b', 60_000),
      count('a', 60_000),
      count('a', 60_000),
    ]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.slice(1)).toEqual([2, 'p:a', 'p:b', '3', '60000', '1', '60000']);
    expect(answers).toEqual([
      { current: 11, ttl: 50_000 },
      { current: 1, ttl: 60_000 },
      { current: 12, ttl: 50_000 },
      { current: 13, ttl: 50_000 },
    ]);
    // The next turn is a new call.
    await count('a', 60_000);
    expect(calls).toHaveLength(2);
  });

  it('answers every hit of a failed multi-key call with its own count, even if the listener throws', async () => {
    // Made when asked for: a rejected promise made up front would be unhandled until then.
    const answers = [
      () => Promise.reject(new Error('ECONNRESET')),
      () => Promise.resolve(['not', 'a', 'count']),
    ];
    const redis = { status: 'ready', eval: () => answers.shift()?.() } as unknown as Redis;
    const count = createCounter({
      redis,
      prefix: 'p:',
      onModeChange: () => {
        throw new Error('a broken listener');
      },
    });
    expect(await Promise.all([count('a', 60_000), count('b', 60_000), count('a', 60_000)])).toMatchObject([
      { current: 1 },
      { current: 1 },
      { current: 2 },
    ]);
    // A reply of the wrong shape is a failure too, not NaN counts.
    expect(await count('a', 60_000)).toMatchObject({ current: 3 });
  });

  it('says when Redis is back', async () => {
    const modes: string[] = [];
    let up = false;
    const redis = fakeRedis(() => (up ? Promise.resolve([5, 1_000]) : Promise.reject(new Error('down'))));
    const count = createCounter({
      redis,
      prefix: 'p:',
      onModeChange: (mode) => modes.push(mode),
      redisPauseMs: 0,
    });
    await count('k', 60_000);
    up = true;
    expect(await count('k', 60_000)).toEqual({ current: 5, ttl: 1_000 });
    expect(modes).toEqual(['local', 'redis']);
  });

  it('leaves a Redis that failed alone for a while instead of waiting on it at every request', async () => {
    let hung = true;
    const redis = fakeRedis(() => (hung ? new Promise<never>(() => undefined) : Promise.resolve([9, 1_000])));
    const count = createCounter({ redis, prefix: 'p:', timeoutMs: 20, redisPauseMs: 200 });
    expect(await count('k', 60_000)).toMatchObject({ current: 1 });
    expect(redis.calls).toBe(1);
    // Paused: counted here at once, Redis not asked.
    const started = performance.now();
    for (let i = 2; i <= 5; i++) expect(await count('k', 60_000)).toMatchObject({ current: i });
    expect(performance.now() - started).toBeLessThan(20);
    expect(redis.calls).toBe(1);
    // After the pause, one call tries it again, and a success ends the pause.
    hung = false;
    await new Promise((resolve) => setTimeout(resolve, 220));
    expect(await count('k', 60_000)).toEqual({ current: 9, ttl: 1_000 });
    expect(await count('k', 60_000)).toEqual({ current: 9, ttl: 1_000 });
    expect(redis.calls).toBe(3);
  });
});
