/**
 * Response cache keyed by request and data version: an in-process LRU in front of Redis (shared by
 * instances). A committed batch raises the data version, so every older entry becomes unreachable
 * at once; nothing is served as current that is older than the version it was asked at.
 *
 * Beside it, the last good answer of each request, whatever its version, kept in process (bounded)
 * and in Redis (so another instance can use it): what an outage of PostgreSQL is answered with,
 * marked stale. Redis is only used while it is connected, with a short deadline on every command:
 * a Redis outage makes the cache smaller, never a request slower or failed.
 */
import type { Redis } from 'ioredis';
import { createPause, withTimeout } from './deadline.ts';

export interface CachedAnswer {
  version: number;
  body: string;
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** Answers handed out from the last-good copies (while the database was down). */
  stale: number;
}

export interface ResponseCache {
  /** The answer cached for this request at exactly this data version (and period, when given). */
  get(key: string, version: number, period?: number): Promise<string | undefined>;
  /** Caches an answer computed at `version`; it also becomes the request's last good answer. */
  set(key: string, version: number, body: string, period?: number): Promise<void>;
  /** The newest answer ever cached for this request, whatever its version (for outages). */
  lastGood(key: string): Promise<CachedAnswer | undefined>;
  /** Drops every cached answer, the last good ones too. */
  clear(): Promise<void>;
  stats(): CacheStats;
}

export interface ResponseCacheOptions {
  ttlSeconds: number;
  redis?: Redis | undefined;
  prefix?: string;
  /** Entries of the versioned in-process cache (default 500), and their bytes (default 64 MiB). */
  maxEntries?: number;
  maxBytes?: number;
  /** Requests whose last good answer is kept in process (default 1,000)... */
  maxLastGood?: number;
  /** ...and the bytes they may take together (default 32 MiB). */
  maxLastGoodBytes?: number;
  /** How long Redis keeps a last good answer (default 24 h)... */
  lastGoodTtlSeconds?: number;
  /**
   * ...and how many it keeps for the store, the least recently written dropped first (default
   * 2,000). An answer over `maxSharedLastGoodChars` characters (default 256 Ki: a long page of
   * events) has its last good copy in process only.
   */
  maxSharedLastGood?: number;
  maxSharedLastGoodChars?: number;
  /** A Redis command that takes longer is given up (default 250 ms). */
  redisTimeoutMs?: number;
  /** After a failed command, how long Redis is left alone before the next try (default 5 s). */
  redisPauseMs?: number;
  onRedisError?: (error: unknown) => void;
}

/**
 * Stores a last good answer, `version:body` under KEYS[1], unless a newer version is already there;
 * KEYS[2] indexes these keys in the order they were last written (each write scores one above the
 * highest: no two tie, whatever the instances' clocks), and beyond ARGV[4] of them the least
 * recently written go, so the copies of a store take bounded room in the Redis that also holds its
 * stream. (The keys it drops are the index's members: a standalone Redis, not Cluster.)
 */
const SET_IF_NEWER = `
local current = redis.call('GET', KEYS[1])
local older = true
if current then
  local v = tonumber(string.match(current, '^(%d+):'))
  if v and v > tonumber(ARGV[1]) then older = false end
end
if older then redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[3]) end
local top = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
redis.call('ZADD', KEYS[2], (tonumber(top[2]) or 0) + 1, KEYS[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if extra > 0 then
  local dropped = redis.call('ZPOPMIN', KEYS[2], extra)
  for i = 1, #dropped, 2 do redis.call('DEL', dropped[i]) end
end
return older and 1 or 0`;

/** Drops the last good answer under KEYS[1] (indexed in KEYS[2]) unless a newer one is there. */
const DROP_IF_NOT_NEWER = `
local current = redis.call('GET', KEYS[1])
if current then
  local v = tonumber(string.match(current, '^(%d+):'))
  if v and v > tonumber(ARGV[1]) then return 0 end
  redis.call('DEL', KEYS[1])
end
redis.call('ZREM', KEYS[2], KEYS[1])
return 1`;

function decode(stored: string | null): CachedAnswer | undefined {
  if (stored === null) return undefined;
  const at = stored.indexOf(':');
  const version = Number(stored.slice(0, at));
  return at > 0 && Number.isInteger(version) ? { version, body: stored.slice(at + 1) } : undefined;
}

/** An LRU by insertion order of a Map: a read moves the entry to the end. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  private bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.delete(key);
    const size = this.sizeOf(value);
    if (size > this.maxBytes) return;
    this.map.set(key, value);
    this.bytes += size;
    for (const [oldest, old] of this.map) {
      if (this.map.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.map.delete(oldest);
      this.bytes -= this.sizeOf(old);
    }
  }

  delete(key: string): void {
    const old = this.map.get(key);
    if (old === undefined) return;
    this.map.delete(key);
    this.bytes -= this.sizeOf(old);
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}

/**
 * @example
 * const cache = createResponseCache({ ttlSeconds: 60, redis, prefix: 'evently:analytics:cache:store1:' });
 * const body = (await cache.get(key, version)) ?? (await compute());
 * await cache.set(key, version, body);
 * // PostgreSQL down:
 * const stale = await cache.lastGood(key); // { version, body } | undefined
 */
/** Where a store's cached answers live in Redis (instances on one store share it). */
export function cachePrefix(store: string): string {
  return `evently:analytics:cache:${store}:`;
}

export function createResponseCache(opts: ResponseCacheOptions): ResponseCache {
  const ttlMs = opts.ttlSeconds * 1000;
  const prefix = opts.prefix ?? 'evently:analytics:cache:';
  const lastGoodTtl = String(opts.lastGoodTtlSeconds ?? 86_400);
  const timeoutMs = opts.redisTimeoutMs ?? 250;
  const maxShared = String(opts.maxSharedLastGood ?? 2_000);
  const maxSharedChars = opts.maxSharedLastGoodChars ?? 256 * 1024;
  const local = new Lru<{ value: string; expires: number }>(
    opts.maxEntries ?? 500,
    opts.maxBytes ?? 64 * 1024 * 1024,
    (entry) => entry.value.length * 2,
  );
  const lastGood = new Lru<CachedAnswer>(
    opts.maxLastGood ?? 1_000,
    opts.maxLastGoodBytes ?? 32 * 1024 * 1024,
    (a) => a.body.length * 2,
  );
  const stats: CacheStats = { hits: 0, misses: 0, stale: 0 };
  const versioned = (key: string, version: number, period?: number) =>
    `${prefix}${key}|v${version}${period === undefined ? '' : `|p${period}`}`;
  const lastGoodKey = (key: string) => `${prefix}last:${key}`;
  const lastGoodIndex = `${prefix}last-index`;

  // After a failed command (a hung Redis times out) the cache does without Redis for a while, so
  // a Redis that is connected but answers nothing does not cost every request the deadline.
  const pause = createPause(opts.redisPauseMs ?? 5_000);

  /** Runs a Redis command when Redis is connected; undefined when it is not or the command failed. */
  async function redisCall<T>(
    command: (redis: Redis) => Promise<T>,
    ms = timeoutMs,
    evenIfPaused = false,
  ): Promise<T | undefined> {
    const redis = opts.redis;
    // With the offline queue off, a command sent while disconnected fails at once; asking the
    // status first also keeps an outage from filling the log with one error per request.
    if (redis?.status !== 'ready' || (pause.active() && !evenIfPaused)) return undefined;
    try {
      const result = await withTimeout(command(redis), ms);
      pause.end();
      return result;
    } catch (error) {
      pause.start();
      opts.onRedisError?.(error);
      return undefined;
    }
  }

  function rememberLastGood(key: string, answer: CachedAnswer): void {
    const known = lastGood.get(key);
    if (!known || known.version <= answer.version) lastGood.set(key, answer);
  }

  return {
    async get(key, version, period) {
      if (ttlMs === 0) return undefined;
      const k = versioned(key, version, period);
      const entry = local.get(k);
      if (entry && entry.expires > Date.now()) {
        stats.hits++;
        return entry.value;
      }
      const value = await redisCall((redis) => redis.get(k));
      if (typeof value === 'string') {
        stats.hits++;
        local.set(k, { value, expires: Date.now() + ttlMs });
        rememberLastGood(key, { version, body: value });
        return value;
      }
      stats.misses++;
      return undefined;
    },

    async set(key, version, body, period) {
      rememberLastGood(key, { version, body });
      const k = versioned(key, version, period);
      if (ttlMs > 0) local.set(k, { value: body, expires: Date.now() + ttlMs });
      await redisCall(async (redis) => {
        const batch = redis.pipeline();
        if (ttlMs > 0) batch.set(k, body, 'PX', ttlMs);
        // An answer too big to share leaves no older copy behind for other instances to serve.
        if (body.length > maxSharedChars)
          batch.eval(DROP_IF_NOT_NEWER, 2, lastGoodKey(key), lastGoodIndex, String(version));
        else
          batch.eval(
            SET_IF_NEWER,
            2,
            lastGoodKey(key),
            lastGoodIndex,
            String(version),
            body,
            lastGoodTtl,
            maxShared,
          );
        return batch.exec();
      });
    },

    async lastGood(key) {
      const mine = lastGood.get(key);
      const shared = decode((await redisCall((redis) => redis.get(lastGoodKey(key)))) ?? null);
      const newest = shared && (!mine || shared.version > mine.version) ? shared : mine;
      if (newest) stats.stale++;
      return newest;
    },

    async clear() {
      local.clear();
      lastGood.clear();
      await redisCall(
        async (redis) => {
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
            cursor = next;
            if (keys.length > 0) await redis.del(...keys);
          } while (cursor !== '0');
          // An operator's clear is tried whatever happened to the last request's command.
        },
        10_000,
        true,
      );
    },

    stats: () => ({ ...stats }),
  };
}
