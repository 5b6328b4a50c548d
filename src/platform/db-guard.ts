/**
 * Database reads behind a circuit breaker and a deadline: while PostgreSQL is unreachable a read
 * fails at once with `DatabaseUnavailableError` (the caller serves a stale answer or a 503)
 * instead of every request waiting out connection and statement timeouts of its own.
 */
import { createBreaker, type BreakerOptions, type BreakerSnapshot } from './breaker.ts';
import { withTimeout } from './deadline.ts';

/** The database could not be reached, or the circuit breaker is not letting reads through. */
export class DatabaseUnavailableError extends Error {
  constructor(
    message: string,
    /** When a read is worth trying again. */
    readonly retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DatabaseUnavailableError';
  }
}

/** Socket errors and PostgreSQL SQLSTATEs that mean "no database there", not "bad query". */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, recovering)
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300', // too_many_connections
]);
// What node-postgres says, without a code, when a connection ends or cannot be had.
// And PostgreSQL's refusal of a database closed to connections (55000, a code shared with
// query-level errors, so matched by its text).
const CONNECTION_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly|not queryable|is not currently accepting connections/i;

/** True when the error says the database cannot be reached (as opposed to a query that failed). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  // Node reports a refused dual-stack connect as an AggregateError of one error per address.
  if (error instanceof AggregateError && error.errors.some(isDatabaseUnavailable)) return true;
  return CONNECTION_MESSAGES.test(error.message);
}

/**
 * SQLSTATEs of a statement that failed for a reason of the moment, not for what it was given: the
 * same work succeeds when tried again. Serialization failure and deadlock (40001, 40P01), a lock
 * not available (55P03), a cancel or timeout (57014: an operator's `pg_cancel_backend`), and a
 * full disk (53000, 53100). Out of memory (53200) and a configured limit exceeded (53400, e.g.
 * `temp_file_limit`) are left out: a batch's size can cause them, and splitting it is the cure.
 */
const TRANSIENT_CODES = new Set(['40001', '40P01', '55P03', '57014', '53000', '53100']);

/** True when the same statement is worth running again as it is (see TRANSIENT_CODES). */
export function isTransientFailure(error: unknown): boolean {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

export interface DbGuardOptions extends BreakerOptions {
  /** A read that has not answered by then counts as a failure (default 10 s). */
  timeoutMs?: number;
}

export interface DbGuard {
  /** Runs one read; throws DatabaseUnavailableError while the database is out of reach. */
  run<T>(read: () => Promise<T>): Promise<T>;
  snapshot(): BreakerSnapshot;
}

/**
 * @example
 * const guard = createDbGuard({ threshold: 3, timeoutMs: 10_000 });
 * const figures = await guard.run(() => service.dashboard(ctx, windowOf(ctx, 30)));
 */
export function createDbGuard(options: DbGuardOptions = {}): DbGuard {
  const breaker = createBreaker(options);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retryAfter = () => Math.max(1_000, breaker.retryAfterMs());

  return {
    async run(read) {
      if (!breaker.tryAcquire()) {
        throw new DatabaseUnavailableError('the database is unavailable (circuit open)', retryAfter());
      }
      try {
        const value = await withTimeout(
          read(),
          timeoutMs,
          () =>
            new DatabaseUnavailableError(`the database did not answer within ${timeoutMs} ms`, retryAfter()),
        );
        breaker.success();
        return value;
      } catch (error) {
        if (!isDatabaseUnavailable(error)) {
          // The database answered, with an error of the query's own: it is there.
          breaker.success();
          throw error;
        }
        breaker.failure();
        if (error instanceof DatabaseUnavailableError) throw error;
        throw new DatabaseUnavailableError('the database is unavailable', retryAfter(), { cause: error });
      }
    },
    snapshot: () => breaker.snapshot(),
  };
}
