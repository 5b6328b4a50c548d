/**
 * A fixed-window counter store for @fastify/rate-limit that is shared through Redis while Redis
 * answers and degrades to this process's own counters when it does not: a Redis outage makes the
 * limit per instance for a while, it never makes a request fail or wait.
 */
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';

export interface Count {
  current: number;
  /** Milliseconds until the window resets. */
  ttl: number;
}

/** INCR, and start the window on the first hit (or if the key somehow lost its expiry). */
const INCR_SCRIPT = `
local current = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if current == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}`;

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
  local?: LocalWindows;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The counting itself, as a plain async function (the plugin's callback shape is added below). */
export function createCounter(opts: FallbackStoreOptions): (key: string, windowMs: number) => Promise<Count> {
  const { redis, prefix, timeoutMs = 250, onModeChange = () => {} } = opts;
  const local = opts.local ?? new LocalWindows();
  let mode: 'redis' | 'local' = redis ? 'redis' : 'local';
  const switchTo = (next: 'redis' | 'local', error?: unknown) => {
    if (next === mode) return;
    mode = next;
    onModeChange(next, error);
  };

  return async (key, windowMs) => {
    // Always counted here too, so a Redis outage mid-window starts from this instance's share
    // rather than from zero.
    const counted = local.incr(key, windowMs);
    if (!redis) return counted;
    if (redis.status !== 'ready') {
      switchTo('local', new Error(`redis is ${redis.status}`));
      return counted;
    }
    try {
      const reply = (await withTimeout(
        redis.eval(INCR_SCRIPT, 1, prefix + key, String(windowMs)),
        timeoutMs,
      )) as [number, number];
      switchTo('redis');
      return { current: Number(reply[0]), ttl: Number(reply[1]) };
    } catch (error) {
      switchTo('local', error);
      return counted;
    }
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
