/**
 * One batch of raw messages → one transaction: idempotency check, the pure aggregation core, and
 * every aggregate write. Every transport (stream, pub/sub, HTTP, dead-letter retry, rebuild) ends here.
 */
import { createHash } from 'node:crypto';
import { carriesBookingFacts } from '../aggregate/booking.ts';
import { localDayOfBucket } from '../aggregate/time.ts';
import type { Config } from '../platform/config.ts';
import { allStatements, type Db } from '../platform/db.ts';
import { DatabaseUnavailableError, isDatabaseUnavailable, isTransientFailure } from '../platform/db-guard.ts';
import * as eventLog from '../store/event-log.repository.ts';
import * as repo from '../store/ingest.repository.ts';
import { applyMessages } from './apply.ts';
import {
  merged,
  noOutcomes,
  type BatchResult,
  type IngestItem,
  type ItemResult,
  type Transport,
} from './batch.ts';
import { changedModels, logChanges, messageOf, settleFates, toEntry, type Entry } from './entry.ts';
import { probeMessages } from './probe.ts';
import { answeredInTime, WriterBusyError, type Turn } from './writer-turn.ts';

/** Thrown to roll back a batch processed only to see whether it can be; carries what it did. */
class RolledBack extends Error {
  constructor(readonly result: BatchResult) {
    super('rolled back');
  }
}

export interface BatchOptions {
  /**
   * A caller that waits for the answer (HTTP): how long the batch may wait for the writer (an
   * earlier batch, a rebuild or the retention holding the lock). Past it the batch is not processed
   * and a WriterBusyError says so (a 503 with Retry-After); once the batch holds the
   * writer it runs to its end. Without it a batch waits as long as it takes (the consumers).
   */
  waitMs?: number;
}

export interface Pipeline {
  processBatch(items: readonly IngestItem[], options?: BatchOptions): Promise<BatchResult>;
}

export function createPipeline(deps: {
  db: Db;
  config: Pick<Config, 'baseCurrency' | 'reportingTimezone'>;
  /** Told of each error that made a message a poison message (for logs). */
  onPoison?: (error: unknown) => void;
}): Pipeline {
  const { db, config } = deps;
  const dayOfBucket = localDayOfBucket(config.reportingTimezone);
  // Batches of one process queue here so they never compete for pool connections; across
  // processes the advisory lock in the transaction serializes writers.
  let queue: Promise<unknown> = Promise.resolve();

  /**
   * `parsed`: the items already parsed (outside the writer queue); parsed here when absent.
   * `withParked`: parked transitions the batch releases are processed with it. `rollback`: the
   * batch is processed and then rolled back (RolledBack is thrown).
   */
  async function run(
    items: readonly IngestItem[],
    now: number,
    parsed?: Entry[],
    {
      withParked = true,
      rollback = false,
      turn,
    }: { withParked?: boolean; rollback?: boolean; turn?: Turn } = {},
  ): Promise<BatchResult> {
    const entries = parsed ?? items.map((item, index) => toEntry(item, index, now));
    const settled: Entry[] = [];
    // A caller that stopped waiting was told nothing was written: nothing is.
    const waiting = turn && !turn.locked ? turn : undefined;
    if (waiting?.abandoned) throw new WriterBusyError(waiting.waitMs);
    return db.transaction().execute(async (trx) => {
      try {
        await repo.lockWriter(trx, waiting ? Math.max(1, waiting.deadline - Date.now()) : 0);
      } catch (error) {
        // lock_not_available: the lock_timeout set for this caller's wait ran out.
        const timedOut = (error as { code?: unknown } | undefined)?.code === '55P03';
        throw waiting && timedOut ? new WriterBusyError(waiting.waitMs, error) : error;
      }
      if (waiting) {
        if (waiting.abandoned) throw new WriterBusyError(waiting.waitMs);
        waiting.locked = true;
      }
      // A retry checked its dead letter before it got the lock: if that row was processed meanwhile
      // (its booking arrived and took it along), the retry has nothing left to do.
      const retryIds = entries.map((e) => e.item.retryOf).filter((id) => id !== undefined);
      const stillRejected = await eventLog.stillRejected(trx, retryIds);
      for (let i = entries.length - 1; i >= 0; i--) {
        const e = entries[i] as Entry;
        if (e.item.retryOf !== undefined && !stillRejected.has(e.item.retryOf)) {
          const { reason: _reason, detail: _detail, ...rest } = e;
          settled.push({ ...rest, outcome: 'duplicate' });
          entries.splice(i, 1);
        }
      }
      const valid = entries.filter((e) => e.parsed.outcome === 'valid');
      const bookingIds = new Set<number>();
      for (const e of valid) {
        const m = messageOf(e);
        if (m.kind === 'booking') bookingIds.add(m.bookingId);
      }
      // Keys processed before this batch (the writer lock keeps them so until it commits; its log
      // rows, written once their fates are settled, mark its own as processed), read with its bookings.
      const [bookings, existing] = await allStatements([
        repo.loadBookings(trx, [...bookingIds]),
        eventLog.findProcessedKeys(trx, [...new Set(valid.map((e) => e.key as string))]),
      ] as const);

      // Transitions parked as unknown_booking come back when their booking becomes known.
      const becomingKnown = new Set<number>();
      for (const e of valid) {
        const m = messageOf(e);
        if (m.kind === 'booking' && !bookings.has(m.bookingId) && carriesBookingFacts(m))
          becomingKnown.add(m.bookingId);
      }
      const retrying = new Set(entries.map((e) => e.item.retryOf).filter((id) => id !== undefined));
      const unparked: Entry[] = [];
      for (const p of withParked ? await eventLog.loadParked(trx, [...becomingKnown]) : []) {
        if (retrying.has(p.id)) continue;
        const item: IngestItem = {
          raw: p.raw,
          transport: p.transport as Transport,
          channel: p.channel ?? undefined,
          retryOf: p.id,
          receivedAt: p.receivedAt,
        };
        const entry = toEntry(item, undefined, now);
        entries.push(entry);
        if (entry.parsed.outcome === 'valid') unparked.push(entry);
      }
      valid.push(...unparked);
      for (const key of await eventLog.findProcessedKeys(trx, [
        ...new Set(unparked.map((e) => e.key as string)),
      ]))
        existing.add(key);

      // Duplicates: seen in an earlier batch, or earlier in this one.
      const firstByKey = new Map<string, Entry>();
      const fresh: Entry[] = [];
      const copies: [Entry, Entry][] = [];
      for (const e of valid) {
        const key = e.key as string;
        if (existing.has(key)) {
          e.outcome = 'duplicate';
          continue;
        }
        const first = firstByKey.get(key);
        if (first) {
          copies.push([e, first]);
          continue;
        }
        firstByKey.set(key, e);
        fresh.push(e);
      }

      const messages = fresh.map(messageOf);
      const counts = noOutcomes();
      const released = noOutcomes();
      let dataVersion = 0;
      // The messages' fates follow from the plan; their log rows and the counters go out with the
      // aggregate writes.
      const plan = await applyMessages(trx, messages, { ...config, dayOfBucket }, bookings, (planned) => {
        settleFates(planned, fresh, copies);
        for (const e of entries) {
          counts[e.outcome]++;
          if (e.index === undefined) released[e.outcome]++;
        }
        const log = logChanges(entries);
        const counters = {
          processed: counts.processed,
          duplicates: counts.duplicate,
          ignored: counts.ignored,
          // A retried row that was counted as rejected before now counts under its new outcome.
          rejected: counts.rejected - log.outcomes.length,
          bumpVersion: changedModels(planned).length > 0,
        };
        // Everything is worked out before the first statement goes: one sent is one awaited.
        return [
          eventLog.writeLog(trx, log.rows),
          eventLog.updateLogOutcomes(trx, log.outcomes),
          repo.applyCounters(trx, counters).then((version) => (dataVersion = version)),
        ];
      });
      const changed = changedModels(plan);
      const results: ItemResult[] = [...entries, ...settled]
        .filter((e) => e.index !== undefined)
        .map((e) => ({
          index: e.index as number,
          outcome: e.outcome,
          ...(e.reason ? { reason: e.reason } : {}),
          key: e.key,
        }))
        .sort((a, b) => a.index - b.index);
      const result = { results, dataVersion, changed, counts, released };
      if (rollback) throw new RolledBack(result);
      return result;
    });
  }

  /**
   * Whether the service can process known-good messages now: an event, a booking through every
   * transition and a user status change of their own (ids no producer uses, keys of their own),
   * processed in full and rolled back. Every one of them must come out processed.
   */
  async function canProcess(now: number): Promise<boolean> {
    try {
      await run(probeMessages(now), now, undefined, { withParked: false, rollback: true });
      return false;
    } catch (error) {
      return error instanceof RolledBack && error.result.results.every((r) => r.outcome === 'processed');
    }
  }

  return {
    processBatch(items, options = {}) {
      // Parsing needs no lock: it is done now, while an earlier batch may still be committing.
      // The time of receipt is fixed here, once: it is the occurrence time of a message without
      // one, so every later parse of the items (a split batch) and their log rows (read by a
      // rebuild, a reconcile, a retry) must see the same instant.
      const now = Date.now();
      const parsed = items.map((item, index) => toEntry(item, index, now));
      const turn: Turn | undefined =
        options.waitMs === undefined
          ? undefined
          : { waitMs: options.waitMs, deadline: now + options.waitMs, abandoned: false, locked: false };
      const next = queue.then(() => runIsolating(items, now, parsed, turn));
      queue = next.catch(() => undefined);
      return turn ? answeredInTime(next, turn) : next;
    },
  };

  /**
   * A batch that fails for a reason of its messages is split in halves until the message that
   * breaks it is alone; that one is kept as rejected (`processing_error`) and the others are
   * processed. A poison message never blocks the ones behind it. An outage, or a failure of the
   * moment (a cancel, a deadlock: `isTransientFailure`), is thrown as the database being
   * unavailable, so the transport retries the whole batch later: splitting it then would have
   * dead-lettered good messages, or committed one without the parked transitions it releases.
   */
  async function runIsolating(
    items: readonly IngestItem[],
    now: number,
    parsed?: Entry[],
    turn?: Turn,
  ): Promise<BatchResult> {
    try {
      return await run(items, now, parsed, { turn });
    } catch (error) {
      // Failed before it had the writer: nothing the messages did (and the caller may be gone).
      if (turn && !turn.locked) throw error;
      throwIfNotTheMessages(error);
      if (items.length === 1) {
        // The parked transitions a message releases are part of its transaction: if one of them is
        // what fails, the message goes through alone and they stay parked as dead letters.
        const alone = await run(items, now, undefined, { withParked: false }).catch((failure: unknown) => {
          throwIfNotTheMessages(failure);
          return undefined;
        });
        if (alone) return alone;
        // A message that fails alone is poison only while a known-good message still goes through.
        // When that fails too, the service itself is broken (a schema or code bug): stop and let the
        // transport retry, rather than dead-letter the stream. Poison after poison, however many in
        // a row, never stops the messages behind them.
        if (!(await canProcess(now))) throw error;
        return rejectAsPoison(items[0] as IngestItem, now, error);
      }
      const middle = Math.ceil(items.length / 2);
      const first = await runIsolating(items.slice(0, middle), now);
      const second = await runIsolating(items.slice(middle), now);
      return merged(first, second, middle);
    }
  }

  /** An outage or a failure of the moment says nothing about the messages: retried whole, later. */
  function throwIfNotTheMessages(error: unknown): void {
    if (isDatabaseUnavailable(error)) throw error;
    if (isTransientFailure(error))
      throw new DatabaseUnavailableError(
        `the database did not finish the batch (${(error as Error).message}); it is retried`,
        1_000,
        { cause: error },
      );
  }

  async function rejectAsPoison(item: IngestItem, now: number, error: unknown): Promise<BatchResult> {
    deps.onPoison?.(error);
    // Keyed by content: the same poison message delivered again (a stream retry) adds no row.
    const key = `poison:${createHash('sha256').update(item.raw).digest('hex')}`;
    return db.transaction().execute(async (trx) => {
      const known = item.retryOf === undefined && (await eventLog.isKnownPoison(trx, key));
      const row = {
        transport: item.transport,
        channel: item.channel ?? null,
        outcome: 'rejected',
        reason: 'processing_error',
        detail: 'the message could not be processed; it is kept for a retry after a fix',
        key,
        messageType: null,
        bookingId: null,
        raw: item.raw,
        receivedAt: item.receivedAt ?? now,
      };
      if (item.retryOf !== undefined) {
        await eventLog.updateLogOutcomes(trx, [
          { id: item.retryOf, outcome: 'rejected', reason: 'processing_error', key },
        ]);
      } else if (!known) {
        await eventLog.writeLog(trx, [row]);
      }
      const dataVersion = await repo.applyCounters(trx, {
        processed: 0,
        duplicates: 0,
        ignored: 0,
        rejected: item.retryOf === undefined && !known ? 1 : 0,
        bumpVersion: false,
      });
      return {
        results: [{ index: 0, outcome: 'rejected', reason: 'processing_error', key: null }],
        dataVersion,
        changed: [],
        counts: { ...noOutcomes(), rejected: 1 },
        released: noOutcomes(),
      };
    });
  }
}
