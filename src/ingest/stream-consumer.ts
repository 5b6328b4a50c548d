/**
 * The durable transport: a Redis Stream read through a consumer group, at least once.
 * An entry is acknowledged only after the pipeline committed it; entries of a batch that failed
 * stay pending and are read again (ID 0) before anything new; entries a dead consumer left pending
 * are taken over with XAUTOCLAIM. Idempotency in the pipeline makes redelivery harmless.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../platform/config.ts';
import { withTimeout } from '../platform/deadline.ts';
import { errorMessage } from '../platform/error-message.ts';
import { Outage, Wakeup, connected, type Consumer } from './consumer.ts';
import { byteBoundParts, MAX_BATCH_CHARACTERS, type IngestItem } from './batch.ts';
import type { Pipeline } from './pipeline.ts';
import { forgetGoneConsumers, trimAcknowledged } from './stream-trim.ts';
import {
  claimedEntries,
  entryCharacters,
  entryText,
  groupInfo,
  nextReadCount,
  readEntries,
  type StreamEntry,
} from './stream-replies.ts';

export interface StreamConsumerDeps {
  redis: Redis;
  pipeline: Pipeline;
  config: Pick<Config, 'streamKey' | 'consumerGroup' | 'consumerName' | 'batchSize'>;
  logger: Logger;
  /** Entries pending longer than this on another consumer are taken over (default 30 s). */
  claimIdleMs?: number;
  /** How often acknowledged entries are trimmed from the stream (default a minute). */
  trimEveryMs?: number;
  /** How long a consumer holding nothing goes unseen before it is forgotten (default an hour). */
  goneAfterMs?: number;
}

const MAX_BLOCK_MS = 1_000;
/**
 * The characters a read aims at, as many as a batch takes (MAX_BATCH_CHARACTERS). Redis counts
 * entries, not bytes, so a read's COUNT follows the entries the last one brought: a backlog of
 * 2,000 messages of 500 KB read at the batch size had taken the process to 4.4 GB. The first read of
 * a start takes FIRST_READ entries; each full read of small ones doubles the next, up to the batch
 * size. A target, not a bound: the first read after small entries turn big is as long as the last.
 */
const READ_CHARACTERS = MAX_BATCH_CHARACTERS;
const FIRST_READ = 100;
/** How often entries every group is done with are trimmed from the stream (stream-trim.ts). */
const TRIM_EVERY_MS = 60_000;
const INFO_EVERY_MS = 1_000;
const INFO_TIMEOUT_MS = 1_000;

/**
 * @example
 * const consumer = createStreamConsumer({ redis, pipeline, config, logger });
 * consumer.start();
 * // on shutdown:
 * await consumer.stop();
 */
export function createStreamConsumer(deps: StreamConsumerDeps): Consumer {
  const { redis, pipeline, config } = deps;
  const { streamKey: key, consumerGroup: group, consumerName: name } = config;
  let count = Math.min(config.batchSize, FIRST_READ);
  /** The entries a read brought in set the next read's COUNT (claims and pending reads too). */
  const sized = (entries: StreamEntry[]): StreamEntry[] => {
    const characters = entries.reduce((n, e) => n + entryCharacters(e), 0);
    count = nextReadCount(count, config.batchSize, { entries: entries.length, characters }, READ_CHARACTERS);
    return entries;
  };
  const claimIdleMs = deps.claimIdleMs ?? 30_000;
  const claimEveryMs = Math.max(1, Math.floor(claimIdleMs / 2));
  // The blocking read is also the loop's tick, so claims are never later than half a period.
  const blockMs = Math.min(MAX_BLOCK_MS, claimEveryMs);
  const log = deps.logger.child({ component: 'stream-consumer', stream: key, group, consumer: name });
  const outage = new Outage(log, 'stream consumer');
  const wakeup = new Wakeup();

  let blocking: Redis | undefined;
  let loopDone: Promise<void> | undefined;
  let stopping = false;
  let groupReady = false;
  // Start with this consumer's own pending entries: a restart under the same name resumes them.
  let readPending = true;
  let claimCursor = '0-0';
  let nextClaimAt = 0;
  let infoAt = 0;
  let lag: number | null = null;
  let pending: number | null = 0;
  /** Whether the last XINFO answered: lag and pending are Redis's figures, not a guess. */
  let infoRead = false;
  let trimAt = Date.now() + (deps.trimEveryMs ?? TRIM_EVERY_MS);
  let trimFailing = false;

  async function createGroup(): Promise<void> {
    try {
      await redis.call('XGROUP', ['CREATE', key, group, '0', 'MKSTREAM']);
      log.info('created consumer group');
    } catch (error) {
      if (!errorMessage(error).startsWith('BUSYGROUP')) throw error;
    }
  }

  async function refreshInfo(): Promise<void> {
    if (Date.now() - infoAt < INFO_EVERY_MS) return;
    infoAt = Date.now();
    try {
      // Bounded: a hung Redis (connected, answering nothing) must not leave calls piling up, nor
      // the last figures standing as current.
      const info = groupInfo(await withTimeout(redis.call('XINFO', ['GROUPS', key]), INFO_TIMEOUT_MS), group);
      if (info) ({ lag, pending } = info);
      infoRead = true;
    } catch {
      // Stats only (the loop reports the outage): unknown now, not the last figures read.
      lag = null;
      pending = null;
      infoRead = false;
    }
  }

  async function trimIfDue(): Promise<void> {
    if (Date.now() < trimAt) return;
    trimAt = Date.now() + (deps.trimEveryMs ?? TRIM_EVERY_MS);
    try {
      const { removed, more } = await withTimeout(trimAcknowledged(redis, key, group), INFO_TIMEOUT_MS);
      // A backlog of acknowledged entries (the first trim of a long-lived stream) goes a budget per turn.
      if (more) trimAt = 0;
      if (removed > 0) log.debug({ removed }, 'trimmed entries every group has acknowledged');
      trimFailing = false;
    } catch (error) {
      // Not fatal (the stream is trimmed at the next turn that works), but a stream that stops
      // being trimmed grows: said once per failing streak (a Redis ACL without XTRIM, say).
      if (!trimFailing)
        log.warn({ err: errorMessage(error) }, 'could not trim the stream; retrying every minute');
      trimFailing = true;
    }
    await forgetGone();
  }

  /** With the trim's turn: the group's consumers gone for an hour, holding nothing, are forgotten. */
  let forgetFailing = false;
  async function forgetGone(): Promise<void> {
    try {
      const forgotten = await withTimeout(
        forgetGoneConsumers(redis, key, group, name, deps.goneAfterMs),
        INFO_TIMEOUT_MS,
      );
      if (forgotten.length > 0)
        log.info({ consumers: forgotten.map((c) => c.name) }, 'forgot consumers gone for an hour');
      // One that read again between the check and the delete: its entries left the pending list,
      // so no claim finds them. Said loudly (a consumer unseen for an hour does not read).
      const orphaned = forgotten.filter((c) => c.dropped > 0);
      if (orphaned.length > 0)
        log.error({ consumers: orphaned }, 'a forgotten consumer held entries; they left the pending list');
      forgetFailing = false;
    } catch (error) {
      // Said once per failing streak, as the trim's failure is (a Redis ACL without XGROUP, say).
      if (!forgetFailing)
        log.warn({ err: errorMessage(error) }, 'could not forget gone consumers; retrying every minute');
      forgetFailing = true;
    }
  }

  async function claimIfDue(): Promise<StreamEntry[] | null> {
    if (Date.now() < nextClaimAt) return null;
    const reply = await redis.call('XAUTOCLAIM', [
      key,
      group,
      name,
      String(claimIdleMs),
      claimCursor,
      'COUNT',
      String(count),
    ]);
    const { next, entries } = claimedEntries(reply);
    sized(entries);
    claimCursor = next;
    // More to scan: claim again on the next turn; else wait for the next period.
    nextClaimAt = next === '0-0' ? Date.now() + claimEveryMs : 0;
    if (entries.length === 0) return null;
    log.warn({ count: entries.length }, `took over entries pending for more than ${claimIdleMs} ms`);
    return entries;
  }

  async function readOwnPending(): Promise<StreamEntry[]> {
    const entries = sized(
      readEntries(
        await redis.call('XREADGROUP', ['GROUP', group, name, 'COUNT', String(count), 'STREAMS', key, '0']),
      ),
    );
    if (entries.length === 0) readPending = false;
    return entries;
  }

  async function readNew(connection: Redis): Promise<StreamEntry[]> {
    return sized(
      readEntries(
        await connection.call('XREADGROUP', [
          'GROUP',
          group,
          name,
          'COUNT',
          String(count),
          'BLOCK',
          String(blockMs),
          'STREAMS',
          key,
          '>',
        ]),
      ),
    );
  }

  /**
   * Processes the entries and acknowledges them once the pipeline committed: in parts of at most
   * MAX_BATCH_CHARACTERS, each one transaction, acknowledged as it commits (a later part that fails
   * leaves only its own entries, and those after it, to be read again).
   */
  async function commit(entries: StreamEntry[]): Promise<void> {
    const items: IngestItem[] = [];
    const ids: string[] = [];
    const deleted: string[] = [];
    for (const entry of entries) {
      if (entry.fields === null) deleted.push(entry.id);
      else {
        // A pub/sub message handed to the stream (pubsub-consumer.ts) keeps its channel in the log.
        const channel = entry.fields.get('via') === 'pubsub' ? entry.fields.get('channel') : undefined;
        items.push({
          raw: entryText(key, entry.id, entry.fields),
          transport: 'stream',
          ...(channel ? { channel } : {}),
        });
        ids.push(entry.id);
      }
    }
    if (deleted.length > 0) {
      log.warn({ count: deleted.length }, 'acknowledging entries deleted from the stream before processing');
      await redis.xack(key, group, ...deleted);
    }
    let start = 0;
    for (const end of byteBoundParts(items)) {
      if (end === start) continue;
      await pipeline.processBatch(items.slice(start, end));
      await redis.xack(key, group, ...ids.slice(start, end));
      start = end;
    }
  }

  /**
   * The batch handed to the pipeline and not yet acknowledged. The next batch is read (and parsed
   * by the pipeline) while it commits, so Redis, Node and PostgreSQL work at the same time; at most
   * two batches are out at once.
   */
  let inFlight: Promise<void> | undefined;

  async function settle(): Promise<void> {
    const previous = inFlight;
    inFlight = undefined;
    if (previous) await previous;
  }

  /**
   * Reads one batch and starts its commit. True when the step saw something through (a commit
   * finished, or a read found nothing to do); false when it only started a commit, whose fate the
   * next step learns: an outage is over only once something went through, not when a retry began.
   */
  async function step(connection: Redis): Promise<boolean> {
    await connected(connection);
    if (!groupReady) {
      await createGroup();
      groupReady = true;
    }
    // Pending entries and claims are read only with nothing in flight: an entry in flight is in
    // this consumer's pending list too, and must not be handed over twice.
    if (readPending || Date.now() >= nextClaimAt) await settle();
    const entries =
      (await claimIfDue()) ?? (readPending ? await readOwnPending() : await readNew(connection));
    if (entries.length === 0) {
      await settle();
      return true;
    }
    const previous = inFlight;
    const current = commit(entries);
    // Observed by the next step or by settle(); never an unhandled rejection in between.
    current.catch(() => undefined);
    inFlight = current;
    if (!previous) return false;
    await previous;
    return true;
  }

  async function loop(connection: Redis): Promise<void> {
    while (!stopping) {
      await refreshInfo();
      await trimIfDue();
      try {
        if (await step(connection)) outage.succeeded();
      } catch (error) {
        if (stopping) break;
        // Whatever was read and not acknowledged is in this consumer's PEL: read it again first.
        readPending = true;
        if (errorMessage(error).startsWith('NOGROUP')) groupReady = false;
        await wakeup.wait(outage.failed(error));
      }
    }
    // Stopping: the batch in flight is finished and acknowledged (or left pending if it fails).
    await settle().catch(() => undefined);
  }

  return {
    start() {
      if (loopDone) return;
      stopping = false;
      readPending = true;
      const connection = redis.duplicate();
      // Connection errors surface as failed commands in the loop, which logs them once per outage.
      connection.on('error', () => undefined);
      blocking = connection;
      loopDone = loop(connection);
    },

    async stop() {
      if (!loopDone) return;
      stopping = true;
      wakeup.wake();
      const connection = blocking;
      // A read on a connection that is down can wait far longer than BLOCK; cut it off.
      const cutOff = setTimeout(() => connection?.disconnect(), blockMs + 2_000);
      await loopDone;
      clearTimeout(cutOff);
      connection?.disconnect();
      blocking = undefined;
      loopDone = undefined;
      log.info('stopped');
    },

    stats() {
      // Whoever reads the stats (/health, /metrics) keeps them current, also while the loop waits
      // out an outage of PostgreSQL: that is when the backlog grows. While Redis is out of reach
      // the last figures read say nothing about now.
      const redisUp = redis.status === 'ready';
      if (redisUp) void refreshInfo();
      const known = redisUp && infoRead;
      return {
        lag: known ? lag : null,
        pending: known ? pending : null,
        lastError: outage.lastError,
        running: loopDone !== undefined,
      };
    },
  };
}
