/**
 * The compatibility transport: Redis pub/sub, at most once by nature (what is published while no
 * instance listens is gone). Messages are buffered and flushed to the pipeline in batches; while
 * the database is down they wait in memory, up to a bound, and are retried with backoff. What does
 * not fit in memory, and what is still in memory at shutdown, is handed to the durable stream
 * (XADD, field `payload`) rather than lost: the stream consumers of every instance process it once
 * the database is back. Only when Redis refuses that too is a message dropped (counted).
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../platform/config.ts';
import { Outage, Wakeup, connected, type Consumer } from './consumer.ts';
import { byteBoundParts, type IngestItem } from './batch.ts';
import type { Pipeline } from './pipeline.ts';

/** The service's own notifications (cache invalidation, live updates): never ingested. */
export const INTERNAL_CHANNEL_PREFIX = 'analytics-internal:';

export interface PubSubConsumerDeps {
  redis: Redis;
  pipeline: Pipeline;
  config: Pick<Config, 'channelPattern' | 'batchSize' | 'streamKey'>;
  logger: Logger;
  /** How long a message may wait for its batch to fill (default 50 ms). */
  flushMs?: number;
  /** Messages kept in memory while the database is down; newer ones go to the stream (default 100,000). */
  maxBuffered?: number;
  /**
   * At stop, how long the batch in flight may take before what is still in memory goes to the stream
   * (default 4 s: well inside the shutdown's 10 s grace, even for a batch stuck on a lock).
   */
  stopWaitMs?: number;
}

/** XADDs sent in one pipeline when messages are handed to the stream. */
const HANDOFF_CHUNK = 1_000;
/** Overflow messages waiting for Redis at once; past it (a stalled Redis) a message is lost, counted. */
const MAX_HANDOFFS_IN_FLIGHT = 10_000;
/** At stop, how long the handoffs may take after the batch's wait (stopWaitMs), inside the grace. */
const HANDOFF_WAIT_MS = 3_000;
/** A run of losses is logged once per this, with its count. */
const LOSS_LOG_EVERY_MS = 10_000;

/**
 * @example
 * const consumer = createPubSubConsumer({ redis, pipeline, config, logger });
 * consumer.start();
 * // on shutdown:
 * await consumer.stop();
 */
export function createPubSubConsumer(deps: PubSubConsumerDeps): Consumer {
  const { redis, pipeline, config } = deps;
  const flushMs = deps.flushMs ?? 50;
  const maxBuffered = deps.maxBuffered ?? 100_000;
  const stopWaitMs = deps.stopWaitMs ?? 4_000;
  const log = deps.logger.child({ component: 'pubsub-consumer', pattern: config.channelPattern });
  const outage = new Outage(log, 'pub/sub ingest');
  const subscribeOutage = new Outage(log, 'pub/sub subscription');
  const flushWakeup = new Wakeup();
  const subscribeWakeup = new Wakeup();

  const buffer: IngestItem[] = [];
  /** Handed to the stream in the current outage (said once it ends), and since start (in stats). */
  let handed = 0;
  let handedSinceStart = 0;
  /** Lost since start: neither memory nor the stream could take them (Redis refused the XADD). */
  let dropped = 0;
  let lastDroppedAt: number | null = null;
  /** Handoffs to the stream still waiting for Redis (awaited at stop), and how many messages they carry. */
  const handoffs = new Set<Promise<number>>();
  let handingOff = 0;
  /** Overflow of this event-loop turn: handed to the stream together, in one pipeline. */
  let overflow: IngestItem[] = [];
  /** Losses not yet logged: one line per 10 s at most, however many are lost. */
  let unreported = 0;
  let lastLossLog = 0;
  /** Each start's loop has its own number: a loop left behind by a stop that timed out ends. */
  let generation = 0;
  let stopping = false;
  let subscriber: Redis | undefined;
  let wasReady = false;
  let done: Promise<unknown> | undefined;

  function lose(count: number): void {
    dropped += count;
    unreported += count;
    lastDroppedAt = Date.now();
    if (lastDroppedAt - lastLossLog < LOSS_LOG_EVERY_MS) return;
    log.error(
      { lost: unreported },
      'pub/sub messages lost: neither the database nor the stream could take them',
    );
    unreported = 0;
    lastLossLog = lastDroppedAt;
  }

  /** Puts messages on the durable stream; resolves to how many Redis took (the rest are lost). */
  function handToStream(items: readonly IngestItem[]): Promise<number> {
    handingOff += items.length;
    const handoff = (async () => {
      let taken = 0;
      for (let i = 0; i < items.length; i += HANDOFF_CHUNK) {
        const chunk = redis.pipeline();
        for (const item of items.slice(i, i + HANDOFF_CHUNK))
          chunk.xadd(
            config.streamKey,
            '*',
            'payload',
            item.raw,
            'channel',
            item.channel ?? '',
            'via',
            'pubsub',
          );
        const replies = await chunk.exec().catch(() => null);
        taken += replies?.filter(([error]) => error === null).length ?? 0;
      }
      handedSinceStart += taken;
      handingOff -= items.length;
      if (taken < items.length) lose(items.length - taken);
      return taken;
    })();
    handoffs.add(handoff);
    void handoff.finally(() => handoffs.delete(handoff));
    return handoff;
  }

  function handOverflow(): void {
    const items = overflow;
    overflow = [];
    if (items.length > 0) void handToStream(items);
  }

  /** Whatever is in memory now goes to the stream: taken out of the buffer at once, so never twice. */
  async function handOffBuffered(message: string, error?: unknown): Promise<void> {
    const waiting = buffer.splice(0);
    if (waiting.length === 0) return;
    const handedOff = await handToStream(waiting);
    log.warn(
      { ...(error === undefined ? {} : { err: error }), handed: handedOff, stream: config.streamKey },
      message,
    );
  }

  function onMessage(_pattern: string, channel: string, message: string): void {
    if (channel.startsWith(INTERNAL_CHANNEL_PREFIX)) return;
    if (buffer.length >= maxBuffered) {
      // A Redis that takes nothing (stalled) must not grow memory past the bound either.
      if (handingOff + overflow.length >= MAX_HANDOFFS_IN_FLIGHT) return lose(1);
      if (handed === 0)
        log.warn(
          { maxBuffered, stream: config.streamKey },
          'pub/sub buffer full; new messages go to the stream until the database is back',
        );
      handed++;
      if (overflow.length === 0) setImmediate(handOverflow);
      overflow.push({ raw: message, transport: 'pubsub', channel });
      return;
    }
    buffer.push({ raw: message, transport: 'pubsub', channel });
    if (buffer.length === 1 || buffer.length >= config.batchSize) flushWakeup.wake();
  }

  async function subscribe(connection: Redis): Promise<void> {
    while (!stopping) {
      try {
        // ioredis re-subscribes by itself after a reconnect; only the first subscription needs retries.
        await connected(connection);
        await connection.psubscribe(config.channelPattern);
        subscribeOutage.succeeded();
        log.info('subscribed');
        return;
      } catch (error) {
        if (stopping) return;
        await subscribeWakeup.wait(subscribeOutage.failed(error));
      }
    }
  }

  /**
   * Sends the oldest batch (at most the batch size, and MAX_BATCH_CHARACTERS of text unless one
   * message is bigger) to the pipeline; it leaves the buffer only once committed.
   */
  async function flushOne(): Promise<void> {
    const oldest = buffer.slice(0, config.batchSize);
    const batch = oldest.slice(0, byteBoundParts(oldest)[0]);
    await pipeline.processBatch(batch);
    // Unless a stop that could not wait has handed the buffer, this batch included, to the stream.
    if (buffer[0] === batch[0]) buffer.splice(0, batch.length);
    if (handed > 0) {
      log.info({ handed }, 'pub/sub messages were handed to the stream while the buffer was full');
      handed = 0;
    }
  }

  async function loop(run: number): Promise<void> {
    while (!stopping && run === generation) {
      if (buffer.length === 0) {
        await flushWakeup.wait(Infinity);
        continue;
      }
      if (buffer.length < config.batchSize) await flushWakeup.wait(flushMs);
      try {
        await flushOne();
        outage.succeeded();
      } catch (error) {
        if (!stopping) await flushWakeup.wait(outage.failed(error));
      }
    }
    // A loop a timed-out stop left behind has nothing to drain: its buffer went to the stream.
    if (run === generation) await drain();
  }

  /**
   * At shutdown: one more attempt for what is buffered; what the database cannot take now goes to
   * the stream (pub/sub cannot redeliver it), for whichever instance runs next.
   */
  async function drain(): Promise<void> {
    try {
      while (buffer.length > 0) await flushOne();
    } catch (error) {
      await handOffBuffered(
        'buffered pub/sub messages could not be stored before shutdown; handed to the stream',
        error,
      );
    }
  }

  return {
    start() {
      if (done) return;
      stopping = false;
      wasReady = false;
      const connection = redis.duplicate();
      // Connection errors are reported by the subscription and flush outages.
      connection.on('error', () => undefined);
      connection.on('pmessage', onMessage);
      connection.once('ready', () => (wasReady = true));
      subscriber = connection;
      done = Promise.all([subscribe(connection), loop(++generation)]);
    },

    async stop() {
      if (!done) return;
      stopping = true;
      // Stop taking messages first, then flush what was already received.
      subscriber?.disconnect();
      subscriber = undefined;
      flushWakeup.wake();
      subscribeWakeup.wake();
      // A batch stuck on the database (a rebuild's lock, a hung connection) must not keep what is
      // in memory past the shutdown's grace: after a while it goes to the stream, in flight or not
      // (if that batch commits after all, its copies on the stream are duplicates).
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        done.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), stopWaitMs))),
      ]);
      clearTimeout(timer);
      if (!finished) {
        generation++;
        await handOffBuffered(
          'the database did not take the buffered pub/sub messages in time for shutdown; handed to the stream',
        );
      }
      handOverflow();
      // Bounded too: a Redis that stalls must not hold the shutdown past its grace.
      await Promise.race([
        Promise.allSettled([...handoffs]),
        new Promise((resolve) => setTimeout(resolve, HANDOFF_WAIT_MS).unref()),
      ]);
      done = undefined;
      log.info('stopped');
    },

    stats() {
      /**
       * A subscription whose connection dropped hears nothing until ioredis reconnects it (every
       * state but `ready`, once it has been ready: before that, start-up is still connecting).
       */
      const disconnected = (): string | null =>
        subscriber && wasReady && subscriber.status !== 'ready'
          ? `subscription connection ${subscriber.status}`
          : null;
      return {
        lag: null,
        pending: buffer.length,
        handedToStream: handedSinceStart,
        dropped,
        lastDroppedAt: lastDroppedAt === null ? null : new Date(lastDroppedAt).toISOString(),
        bufferFull: buffer.length >= maxBuffered,
        lastError: outage.lastError ?? subscribeOutage.lastError ?? disconnected(),
        running: done !== undefined,
      };
    },
  };
}
