import { describe, expect, it } from 'vitest';
import { createResponseCache } from '../../src/platform/cache.ts';

describe('response cache without Redis', () => {
  it('answers a request only at the data version it was cached at', async () => {
    const cache = createResponseCache({ ttlSeconds: 60 });
    await cache.set('/daily|days=7', 4, 'answer@4');
    expect(await cache.get('/daily|days=7', 4)).toBe('answer@4');
    expect(await cache.get('/daily|days=7', 5)).toBeUndefined();
    expect(await cache.get('/daily|days=30', 4)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2 });
  });

  it('bounds the cached answers by their size too, dropping the least recently used', async () => {
    const cache = createResponseCache({ ttlSeconds: 60, maxBytes: 1_000 });
    await cache.set('/a', 1, 'a'.repeat(300)); // 600 bytes
    await cache.set('/b', 1, 'b'.repeat(200)); // 400 bytes: both fit
    expect(await cache.get('/a', 1)).toBeDefined();
    await cache.set('/c', 1, 'c'.repeat(100)); // /b, the least recently used, goes
    expect(await cache.get('/b', 1)).toBeUndefined();
    expect(await cache.get('/a', 1)).toBeDefined();
    await cache.set('/huge', 1, 'h'.repeat(600)); // over the bound on its own: not kept
    expect(await cache.get('/huge', 1)).toBeUndefined();
  });

  it('keeps the last good answer of a request whatever its version, the newest one', async () => {
    const cache = createResponseCache({ ttlSeconds: 60 });
    await cache.set('/system', 4, 'answer@4');
    await cache.set('/system', 6, 'answer@6');
    await cache.set('/system', 5, 'answer@5'); // computed late, by a slower request
    expect(await cache.lastGood('/system')).toEqual({ version: 6, body: 'answer@6' });
    expect(await cache.lastGood('/capacity')).toBeUndefined();
  });

  it('keeps last good answers even when response caching is off', async () => {
    const cache = createResponseCache({ ttlSeconds: 0 });
    await cache.set('/system', 3, 'answer@3');
    expect(await cache.get('/system', 3)).toBeUndefined();
    expect(await cache.lastGood('/system')).toEqual({ version: 3, body: 'answer@3' });
  });

  it('bounds the last good answers by count and by size, dropping the least recently used', async () => {
    const cache = createResponseCache({ ttlSeconds: 60, maxLastGood: 2, maxLastGoodBytes: 1_000 });
    await cache.set('a', 1, 'x');
    await cache.set('b', 1, 'x');
    await cache.lastGood('a'); // a is now more recent than b
    await cache.set('c', 1, 'x');
    expect(await cache.lastGood('b')).toBeUndefined();
    expect(await cache.lastGood('a')).toBeDefined();
    await cache.set('big', 1, 'y'.repeat(400)); // 800 bytes: a or c must go
    await cache.set('huge', 1, 'z'.repeat(600)); // over the bound on its own: not kept
    expect(await cache.lastGood('big')).toBeDefined();
    expect(await cache.lastGood('huge')).toBeUndefined();
  });

  it('drops the last good answers on clear', async () => {
    const cache = createResponseCache({ ttlSeconds: 60 });
    await cache.set('/system', 3, 'answer@3');
    await cache.clear();
    expect(await cache.get('/system', 3)).toBeUndefined();
    expect(await cache.lastGood('/system')).toBeUndefined();
  });
});
