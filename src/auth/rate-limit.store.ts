/**
 * A fixed-window counter store for @fastify/rate-limit that is shared through Redis while Redis
 * answers and degrades to this process's own counters when it does not: a Redis outage makes the
 * limit per instance for a while, it never makes a request fail or wait.
 */
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import { createPause, withTimeout } from '../platform/deadline.ts';

export interface Count {
  current: number;
  /** Milliseconds until the window resets. */
  ttl: number;
}

/**
 * INCRBY for every key counted since the last flush (KEYS[i], with ARGV[2i-1] hits and a window
 * of ARGV[2i] ms), starting the window on a key's first hits (or if it somehow lost its expiry, or
 * has longer left than a window: one begun before the window was configured shorter).
 * Answers the new total and the milliseconds left of each key's window, flattened.
 */
/** How long the counters stay in process after Redis failed a call, before trying it again. */
export const REDIS_PAUSE_MS = 5_000;

const INCR_SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do
  local hits = tonumber(ARGV[2 * i - 1])
  local current = redis.call('INCRBY', key, hits)
  local ttl = redis.call('PTTL', key)
  if current == hits or ttl < 0 or ttl > tonumber(ARGV[2 * i]) then
    redis.call('PEXPIRE', key, ARGV[2 * i])
    ttl = tonumber(ARGV[2 * i])
  end
  out[2 * i - 1] = current
  out[2 * i] = ttl
end
return out`;

/** In-process fixed windows, bounded so a flood of distinct keys cannot grow memory without end. */
export class LocalWindows {
  private readonly windows = new Map<string, { current: number; resetAt: number }>();

  constructor(
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  incr(key: string, windowMs: number): Count {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      this.windows.delete(key);
      window = { current: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
      this.evict(now);
    }
    window.current++;
    return { current: window.current, ttl: window.resetAt - now };
  }

  get size(): number {
    return this.windows.size;
  }

  private evict(now: number): void {
    if (this.windows.size <= this.maxKeys) return;
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key);
    // Still full of live windows: drop the oldest (Map keeps insertion order).
    for (const key of this.windows.keys()) {
      if (this.windows.size <= this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}

export interface FallbackStoreOptions {
  redis: Redis | undefined;
  /** Key prefix in Redis; instances that share it share the limit. */
  prefix: string;
  /** A Redis that is connected but slow must not slow requests down. */
  timeoutMs?: number;
  /** Told once when counting moves to this process, and once when it moves back to Redis. */
  onModeChange?: (mode: 'redis' | 'local', error?: unknown) => void;
  /** After a failed call, how long counting stays in process before Redis is tried again. */
  redisPauseMs?: number;
  local?: LocalWindows;
}

interface PendingKey {
  windowMs: number;
  /** One per hit, in arrival order: how to answer it, and its count in this process. */
  hits: { resolve: (count: Count) => void; local: Count }[];
}

/**
 * The counting itself, as a plain async function (the plugin's callback shape is added below).
 *
 * Hits are not sent one by one: those that arrive within one turn of the event loop are counted
 * with a single script call (one INCRBY per key), and hit i of n on a key whose new total is T
 * gets T - n + i, exactly what n separate INCRs in a row would have answered. Under load this
 * turns a Redis round trip per request into one per loop turn, and the limit stays exact and shared.
 */
export function createCounter(opts: FallbackStoreOptions): (key: string, windowMs: number) => Promise<Count> {
  const { redis, prefix, timeoutMs = 250, onModeChange = () => {} } = opts;
  const local = opts.local ?? new LocalWindows();
  let mode: 'redis' | 'local' = redis ? 'redis' : 'local';
  const switchTo = (next: 'redis' | 'local', error?: unknown) => {
    if (next === mode) return;
    mode = next;
    try {
      onModeChange(next, error);
    } catch {
      // Being told is a courtesy: it must never keep a request from its answer.
    }
  };
  let pending = new Map<string, PendingKey>();
  let scheduled = false;
  // After a failure (a hung Redis times out), count here for a while instead of waiting each time.
  const pause = createPause(opts.redisPauseMs ?? REDIS_PAUSE_MS);

  const flush = async (client: Redis): Promise<void> => {
    scheduled = false;
    const batch = [...pending];
    pending = new Map();
    const args: string[] = [];
    for (const [, { windowMs, hits }] of batch) args.push(String(hits.length), String(windowMs));
    try {
      const reply = await withTimeout<unknown>(
        client.eval(INCR_SCRIPT, batch.length, ...batch.map(([key]) => prefix + key), ...args),
        timeoutMs,
      );
      if (!Array.isArray(reply) || reply.length !== 2 * batch.length)
        throw new Error('unexpected reply from the rate-limit script');
      pause.end();
      switchTo('redis');
      batch.forEach(([, { hits }], k) => {
        const total = Number(reply[2 * k]);
        const ttl = Number(reply[2 * k + 1]);
        hits.forEach((hit, i) => hit.resolve({ current: total - hits.length + 1 + i, ttl }));
      });
    } catch (error) {
      pause.start();
      switchTo('local', error);
      for (const [, { hits }] of batch) for (const hit of hits) hit.resolve(hit.local);
    }
  };

  return (key, windowMs) => {
    // Always counted here too, so a Redis outage mid-window starts from this instance's share
    // rather than from zero.
    const counted = local.incr(key, windowMs);
    if (!redis) return Promise.resolve(counted);
    if (redis.status !== 'ready') {
      switchTo('local', new Error(`redis is ${redis.status}`));
      return Promise.resolve(counted);
    }
    if (pause.active()) return Promise.resolve(counted);
    return new Promise<Count>((resolve) => {
      let entry = pending.get(key);
      if (!entry) {
        entry = { windowMs, hits: [] };
        pending.set(key, entry);
      }
      entry.hits.push({ resolve, local: counted });
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => void flush(redis));
      }
    });
  };
}

/** The store class @fastify/rate-limit instantiates. One limit for every route it guards. */
export function fallbackStore(opts: FallbackStoreOptions): FastifyRateLimitStoreCtor {
  const count = createCounter(opts);
  return class FallbackStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: Count) => void, timeWindow: number): void {
      // createCounter never rejects: every failure path falls back to the local count.
      void count(key, timeWindow).then((result) => callback(null, result));
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  };
}
