/**
 * Recomputes every aggregate from the event log: the processed messages are replayed through the
 * same core as live ingestion, in one transaction, so readers see the old figures until the new
 * ones are complete. Because figures depend only on the set of messages, the result equals the
 * incremental figures.
 */
import type { NormalizedMessage } from '../aggregate/messages.ts';
import { parseMessage } from './parse.ts';
import { applyMessages } from './apply.ts';
import { localDayOfBucket } from '../aggregate/time.ts';
import type { Config } from '../platform/config.ts';
import type { Db } from '../platform/db.ts';
import type { Logger } from '../platform/logger.ts';
import * as eventLog from '../store/event-log.repository.ts';
import * as repo from '../store/ingest.repository.ts';
import { clearAggregates, logPrunedBefore, setDayZone } from '../store/maintenance.repository.ts';

export interface RebuildReport extends ReplayCounts {
  duration_ms: number;
  data_version: number;
}

const CHUNK = 5_000;

export interface ReplayCounts {
  messages: number;
  bookings: number;
  events: number;
  /** Processed messages whose payload retention dropped: left out (a forced rebuild only). */
  messages_without_payload: number;
}

/**
 * Empties the aggregates and replays every processed message of the event log into them, inside
 * the caller's transaction (which must hold the writer lock). Readers keep the old rows until it
 * commits (see clearAggregates); reconcile replays into private copies (shadowAggregates).
 */
export async function replayLog(
  trx: Db,
  config: Pick<Config, 'baseCurrency' | 'reportingTimezone'>,
): Promise<ReplayCounts> {
  const opts = { baseCurrency: config.baseCurrency, dayOfBucket: localDayOfBucket(config.reportingTimezone) };
  await clearAggregates(trx);
  await setDayZone(trx, config.reportingTimezone);
  let afterId = 0;
  let messages = 0;
  let withoutPayload = 0;
  const bookings = new Set<number>();
  const events = new Set<number>();
  // A transition that was parked and later retried sits in the log before the message that made
  // its booking known; it is applied again once the whole log has been read.
  let deferred: NormalizedMessage[] = [];
  for (;;) {
    const chunk = await eventLog.processedMessagesAfter(trx, afterId, CHUNK);
    if (chunk.length === 0) break;
    afterId = (chunk[chunk.length - 1] as eventLog.LoggedMessage).id;
    const parsed: NormalizedMessage[] = [];
    for (const row of chunk) {
      if (row.raw === '') {
        withoutPayload++;
        continue;
      }
      const result = parseMessage(row.raw, row.receivedAt);
      // User status is not an aggregate (its table is not cleared): replaying old changes would
      // undo newer ones an admin made.
      if (result.outcome === 'valid' && result.message.kind !== 'user_status') parsed.push(result.message);
    }
    const plan = await applyMessages(trx, parsed, opts);
    plan.verdicts.forEach((v, i) => {
      if (v === 'unknown_booking') deferred.push(parsed[i] as NormalizedMessage);
    });
    messages += parsed.length;
    for (const id of plan.bookings.keys()) bookings.add(id);
    for (const m of parsed) if (m.kind === 'event_meta' || m.kind === 'event_deleted') events.add(m.eventId);
  }
  while (deferred.length > 0) {
    const plan = await applyMessages(trx, deferred, opts);
    const still = deferred.filter((_, i) => plan.verdicts[i] === 'unknown_booking');
    if (still.length === deferred.length) break;
    deferred = still;
  }
  return { messages, bookings: bookings.size, events: events.size, messages_without_payload: withoutPayload };
}

export class IncompleteLogError extends Error {
  constructor(readonly prunedBefore: string) {
    super(
      `the event log was pruned before ${prunedBefore} (EVENT_RETENTION_DAYS): a rebuild would lose that history; ` +
        'force it (npm run rebuild -- --force, or POST /api/v1/analytics/rebuild?force=true) to rebuild from what is left',
    );
  }
}

export async function rebuildAggregates(deps: {
  db: Db;
  config: Pick<Config, 'baseCurrency' | 'reportingTimezone'>;
  force?: boolean;
  /** Told when a forced rebuild leaves out messages whose payload retention dropped. */
  logger?: Pick<Logger, 'warn'>;
}): Promise<RebuildReport> {
  const started = performance.now();
  return deps.db.transaction().execute(async (trx) => {
    await repo.lockWriter(trx);
    const prunedBefore = await logPrunedBefore(trx);
    if (prunedBefore && !deps.force) throw new IncompleteLogError(prunedBefore);
    const counts = await replayLog(trx, deps.config);
    if (counts.messages_without_payload > 0)
      deps.logger?.warn(
        { left_out: counts.messages_without_payload },
        'forced rebuild: processed messages whose payload retention dropped were left out',
      );
    const dataVersion = await repo.bumpDataVersion(trx);
    return { ...counts, duration_ms: Math.round(performance.now() - started), data_version: dataVersion };
  });
}
