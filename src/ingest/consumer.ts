/**
 * What the stream and pub/sub consumers share: the lifecycle they expose, how they pace retries,
 * and how they report an outage (once when it starts, once when it ends, never per retry).
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../platform/db-guard.ts';

export interface ConsumerStats {
  /** Stream: entries not yet delivered to the group (null when Redis cannot tell). Pub/sub: null. */
  lag: number | null;
  /**
   * Stream: the group's delivered but unacknowledged entries (null when Redis cannot tell). Pub/sub:
   * messages waiting in memory.
   */
  pending: number | null;
  /**
   * Pub/sub: messages handed to the durable stream since start (they did not fit in memory while
   * the database was down, or were still in memory at shutdown). Absent for the stream.
   */
  handedToStream?: number;
  /** Pub/sub: messages lost since start (Redis refused them to the stream too). Absent for the stream. */
  dropped?: number;
  /** Pub/sub: when a message was last lost (ISO 8601), null when none was. */
  lastDroppedAt?: string | null;
  /** Pub/sub: whether its buffer is full now (new messages go to the stream). */
  bufferFull?: boolean;
  /** The error of the outage in progress; null while healthy. */
  lastError: string | null;
  running: boolean;
}

export interface Consumer {
  /** Starts consuming in the background; errors are logged and retried, never thrown. */
  start(): void;
  /** Stops taking new messages, finishes the batch in flight and resolves. */
  stop(): Promise<void>;
  stats(): ConsumerStats;
}

/**
 * What /health may say of a consumer's failure: a category, never the driver's text (which names
 * hosts, ports and users). The full error is in the log line of the outage.
 */
export function publicReason(error: unknown): string {
  if (isDatabaseUnavailable(error)) return 'a dependency (PostgreSQL or Redis) is unreachable; retrying';
  return 'failing; retrying (the service log has the error)';
}

/**
 * Connects a consumer's own connection (a lazy duplicate) and resolves once it is ready. Without an
 * offline queue a command sent while it still connects fails at once: at every start that would be
 * logged as an outage when it is only the wait for the connection. Rejects while Redis cannot be
 * reached, and while ioredis is still reconnecting this connection even if the shared one is back,
 * so that the consumer does not report a recovery that its next read disproves.
 */
export async function connected(connection: Redis): Promise<void> {
  if (connection.status === 'wait') await connection.connect();
  else if (connection.status !== 'ready' && connection.options.enableOfflineQueue === false)
    throw new Error(`the consumer's Redis connection is not ready (${connection.status})`);
}

/** A sleep that `wake()` cuts short; a wake with nobody waiting ends the next wait at once. */
export class Wakeup {
  private resolve: (() => void) | undefined;
  private woken = false;

  wait(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.resolve = undefined;
        resolve();
      };
      const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
      this.resolve = done;
    });
  }

  wake(): void {
    if (this.resolve) this.resolve();
    else this.woken = true;
  }
}

/**
 * Exponential backoff (100 ms doubling to a 5 s cap) and the outage log: the first failure is
 * logged with its error, the recovery with the number of failed attempts in between.
 */
export class Outage {
  private failures = 0;
  private error: string | null = null;

  constructor(
    private readonly log: Logger,
    private readonly what: string,
    private readonly minMs = 100,
    private readonly maxMs = 5_000,
  ) {}

  get lastError(): string | null {
    return this.error;
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  failed(error: unknown): number {
    if (this.failures === 0)
      this.log.error({ err: error }, `${this.what} failed; retrying with backoff until it recovers`);
    this.error = publicReason(error);
    this.failures++;
    return Math.min(this.maxMs, this.minMs * 2 ** (this.failures - 1));
  }

  succeeded(): void {
    if (this.failures === 0) return;
    this.log.info({ failedAttempts: this.failures }, `${this.what} recovered`);
    this.failures = 0;
    this.error = null;
  }
}
