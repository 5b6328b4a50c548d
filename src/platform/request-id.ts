/**
 * The id every answer and log line of a request carries: the caller's `X-Request-Id` when it is a
 * plain token (no spaces, quotes or control characters that could forge a log line or a header),
 * else a fresh UUID.
 */
import { randomUUID } from 'node:crypto';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(given: string | string[] | undefined): string {
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}
