/** Runs event-log retention on a timer (worker role), logging what it removed. */
import type { Logger } from 'pino';
import type { Db } from '../platform/db.ts';
import { pruneEventLog } from '../store/maintenance.repository.ts';
import { lockWriter } from '../store/ingest.repository.ts';

const EVERY_MS = 60 * 60 * 1000;

export function startRetention(deps: { db: Db; days: number; logger: Logger }): () => void {
  const run = async () => {
    const result = await deps.db.transaction().execute(async (trx) => {
      await lockWriter(trx);
      return pruneEventLog(trx, deps.days);
    });
    if (result.payloadsDropped > 0) {
      deps.logger.warn(
        { ...result, retentionDays: deps.days },
        'event-log retention dropped payloads of processed messages: a rebuild can no longer recompute that history',
      );
    } else if (result.deleted > 0) {
      deps.logger.info({ ...result, retentionDays: deps.days }, 'event-log retention');
    }
  };
  const tick = () =>
    void run().catch((error: unknown) => deps.logger.warn({ err: error }, 'event-log retention failed'));
  tick();
  const timer = setInterval(tick, EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
