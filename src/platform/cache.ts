/**
 * Response cache keyed by route, parameters and data version: an in-process LRU in front of Redis
 * (shared by instances). A key embeds the data version, so a committed batch makes every older
 * entry unreachable at once; nothing is ever served older than the data version it was asked at.
 */
import type { Redis } from 'ioredis';

export interface ResponseCache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  clear(): Promise<void>;
  stats(): { hits: number; misses: number };
}

export function createResponseCache(opts: {
  ttlSeconds: number;
  redis?: Redis | undefined;
  prefix?: string;
  maxEntries?: number;
  onRedisError?: (error: unknown) => void;
}): ResponseCache {
  const local = new Map<string, { value: string; expires: number }>();
  const maxEntries = opts.maxEntries ?? 500;
  const prefix = opts.prefix ?? 'evently:analytics:cache:';
  const ttlMs = opts.ttlSeconds * 1000;
  let generation = 0;
  let hits = 0;
  let misses = 0;

  function remember(key: string, value: string): void {
    if (local.size >= maxEntries) {
      const oldest = local.keys().next().value;
      if (oldest !== undefined) local.delete(oldest);
    }
    local.set(key, { value, expires: Date.now() + ttlMs });
  }

  return {
    async get(key) {
      if (ttlMs === 0) return undefined;
      const entry = local.get(key);
      if (entry && entry.expires > Date.now()) {
        hits++;
        local.delete(key);
        local.set(key, entry);
        return entry.value;
      }
      if (opts.redis?.status === 'ready') {
        try {
          const value = await opts.redis.get(`${prefix}${generation}:${key}`);
          if (value !== null) {
            hits++;
            remember(key, value);
            return value;
          }
        } catch (error) {
          opts.onRedisError?.(error);
        }
      }
      misses++;
      return undefined;
    },
    async set(key, value) {
      if (ttlMs === 0) return;
      remember(key, value);
      if (opts.redis?.status === 'ready') {
        try {
          await opts.redis.set(`${prefix}${generation}:${key}`, value, 'PX', ttlMs);
        } catch (error) {
          opts.onRedisError?.(error);
        }
      }
    },
    async clear() {
      local.clear();
      generation++;
      if (opts.redis?.status === 'ready') {
        try {
          let cursor = '0';
          do {
            const [next, keys] = await opts.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
            cursor = next;
            if (keys.length > 0) await opts.redis.del(...keys);
          } while (cursor !== '0');
        } catch (error) {
          opts.onRedisError?.(error);
        }
      }
    },
    stats: () => ({ hits, misses }),
  };
}
