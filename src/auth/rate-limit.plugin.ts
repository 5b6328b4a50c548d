/**
 * Rate limiting of the analytics API (api.md): `RATE_LIMIT_ANALYTICS` requests per
 * `RATE_LIMIT_WINDOW` minutes, per user when the token is valid, per client IP otherwise, shared
 * by instances through Redis, with draft-7 `RateLimit-*` headers and `Retry-After` on a 429.
 *
 * Register it after `adminAuth` in the same scope: auth's `onRequest` hook identifies the caller,
 * this limiter's route-level `onRequest` hook runs after it, and auth refuses bad tokens later
 * (preParsing), so refused attempts are limited too.
 */
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { DomainError } from '../api/errors.ts';
import type { Config } from '../platform/config.ts';
import type { Db } from '../platform/db.ts';
import { errorMessage } from '../platform/error-message.ts';
import type { Logger } from '../platform/logger.ts';
import { storeId } from '../store/read.repository.ts';
import { fallbackStore } from './rate-limit.store.ts';

export class TooManyRequestsError extends DomainError {
  constructor(detail: string, retryAfterSeconds: number) {
    super(429, 'Too Many Requests', detail, { 'Retry-After': String(retryAfterSeconds) });
  }
}

export interface RateLimitOptions {
  limit: Config['rateLimit'];
  redis: Redis | undefined;
  /** Instances on the same store (and Redis) share the limit; the store's id names their counters. */
  db: Db;
  logger: Logger;
}

/**
 * The route config of POST /ingest: its own count per caller (`ingestMax` calls per window, apart
 * from the analytics requests; none at all when `ingestMax` is 0). A caller without a valid token
 * is no producer: it gets the analytics budget here too, counted by address.
 */
export function ingestRateLimit(limit: Config['rateLimit']): {
  max: number | ((request: FastifyRequest) => number);
  groupId: string;
  allowList?: (request: FastifyRequest) => boolean;
} {
  if (limit.ingestMax === 0)
    return { max: limit.max, groupId: ':ingest', allowList: (request) => request.caller !== undefined };
  return {
    max: (request) => (request.caller !== undefined ? limit.ingestMax : limit.max),
    groupId: ':ingest',
  };
}

/** The rate-limit key: the user a valid token names (admin or not), else the client address. */
export function rateLimitKey(request: Pick<FastifyRequest, 'caller' | 'ip'>): string {
  return request.caller !== undefined ? `user:${request.caller}` : `ip:${normalizeIP(request.ip)}`;
}

export const analyticsRateLimit = fp<RateLimitOptions>(
  async (app, opts) => {
    const log = opts.logger.child({ component: 'rate-limit' });
    const windowMs = opts.limit.windowMinutes * 60_000;
    const namespace = await storeId(opts.db);
    await app.register(rateLimit, {
      max: opts.limit.max,
      timeWindow: windowMs,
      hook: 'onRequest',
      enableDraftSpec: true,
      // The store never fails; this only says what would happen if it did.
      skipOnError: true,
      keyGenerator: rateLimitKey,
      store: fallbackStore({
        redis: opts.redis,
        prefix: `evently:analytics:ratelimit:${namespace}:`,
        onModeChange: (mode, error) => {
          if (mode === 'local')
            log.warn({ err: errorMessage(error) }, 'Redis unavailable: rate limits are counted per instance');
          else log.info('Redis is back: rate limits are shared again');
        },
      }),
      onExceeded: (request, key) => request.log.warn({ key }, 'rate limit exceeded'),
      errorResponseBuilder: (_request, context) => {
        const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
        // The wait is stated as Retry-After states it, so a page showing both never disagrees.
        return new TooManyRequestsError(
          `Rate limit reached: at most ${context.max} requests per ${opts.limit.windowMinutes} min; retry in ${seconds} s`,
          seconds,
        );
      },
    });
  },
  { name: 'analytics-rate-limit', dependencies: ['admin-auth'] },
);
