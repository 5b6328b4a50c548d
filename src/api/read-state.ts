/**
 * The read path's view of the store: the data version (read through a barrier, and told of every
 * commit by the bus), read-your-writes waits, and the circuit breaker every read goes through.
 */
import type { Bus } from '../platform/bus.ts';
import type { ResponseCache } from '../platform/cache.ts';
import { createDbGuard } from '../platform/db-guard.ts';
import type { Database } from '../platform/db.ts';
import { dataVersion as readDataVersion } from '../store/read.repository.ts';
import type { ReadState } from './respond.ts';

/** While a request waits for a data version (min_version), how often the version is read again. */
const VERSION_POLL_MS = 250;

/**
 * The data version, read through a barrier: a read never sees a version older than its arrival.
 * Every database read of the read path (this one and the endpoints' own) goes through one circuit
 * breaker, so an unreachable database is answered at once (stale or 503) instead of per request.
 */
export function createReadState(
  database: Database,
  bus: Bus,
  cache: ResponseCache,
  answerPeriodMs: number,
): ReadState & { note(v: number): void } {
  const guard = createDbGuard();
  let known = 0;
  let running: Promise<number> | undefined;
  let queued: Promise<number> | undefined;
  const waiters = new Set<() => void>();
  const note = (v: number) => {
    if (v > known) {
      known = v;
      for (const wake of waiters) wake();
    }
  };
  const query = async (): Promise<number> => {
    const v = await guard.run(() => readDataVersion(database.db));
    note(v);
    return known;
  };
  // Requests that arrive while a read is in flight share the next read, so under load one
  // query serves many requests, and none is answered with a version read before it arrived.
  const barrier = (): Promise<number> => {
    if (!running) {
      running = query().finally(() => (running = undefined));
      return running;
    }
    if (!queued) {
      queued = running
        .catch(() => undefined)
        .then(() => {
          queued = undefined;
          return barrier();
        });
    }
    return queued;
  };
  bus.subscribe((m) => {
    if (m.kind === 'change') note(m.notice.data_version);
  });
  return {
    cache,
    answerPeriodMs,
    note,
    read: (q) => guard.run(q),
    breaker: () => guard.snapshot(),
    knownVersion: () => known,
    // A single embedded instance is the only writer: its own commits are all there is to know.
    dataVersion: () => (database.kind === 'pglite' && known > 0 ? Promise.resolve(known) : barrier()),
    async waitForVersion(version, timeoutMs) {
      if ((await barrier()) >= version) return true;
      return new Promise<boolean>((resolve) => {
        const finish = (ok: boolean) => {
          clearTimeout(timer);
          clearInterval(poll);
          waiters.delete(check);
          resolve(ok);
        };
        const timer = setTimeout(() => finish(known >= version), timeoutMs);
        // The bus tells of a commit on any instance at once; without Redis it tells only of this
        // instance's own, so the version is also read again (one read shared by every waiter).
        const poll = setInterval(() => void barrier().catch(() => undefined), VERSION_POLL_MS);
        const check = () => {
          if (known >= version) finish(true);
        };
        waiters.add(check);
      });
    },
  };
}
