/**
 * The stream keeps what a consumer group may still need, and no more: an entry that every group
 * on the stream has been given and has acknowledged is trimmed. Without this the stream grows by
 * every message ever published (Redis memory), though each is in the event log once committed.
 *
 * The cut is the oldest entry some group still needs: the smallest id pending in any group (read,
 * not yet acknowledged), or else the last id a group was given (everything after it is still to
 * be read). `XTRIM MINID ~` removes only whole blocks below it, so it is cheap and never cuts past.
 */
import type { Redis } from 'ioredis';
import { allConsumers, allGroups, compareIds, smallestPending } from './stream-replies.ts';

/** How long one trim may go on (calls in a row); what is left is trimmed at the next turn. */
const TRIM_BUDGET_MS = 100;

/**
 * Trims what every group is done with, call after call, until nothing more goes or the budget is
 * spent. Nothing is trimmed while `ownGroup` is not on
 * the stream (not created yet, or destroyed): it will be created at the stream's start and read
 * it all. `more`: the budget ran out with entries still to trim.
 */
export async function trimAcknowledged(
  redis: Redis,
  key: string,
  ownGroup: string,
): Promise<{ removed: number; more: boolean }> {
  const groups = allGroups(await redis.call('XINFO', ['GROUPS', key]));
  if (!groups.some((g) => g.name === ownGroup)) return { removed: 0, more: false };
  let cut: string | undefined;
  for (const group of groups) {
    const needed =
      (group.pending > 0 ? smallestPending(await redis.call('XPENDING', [key, group.name])) : undefined) ??
      group.lastDelivered;
    if (cut === undefined || compareIds(needed, cut) < 0) cut = needed;
  }
  if (cut === undefined || cut === '0-0') return { removed: 0, more: false };
  const started = Date.now();
  let removed = 0;
  for (;;) {
    // Redis's own limit per call: 100 blocks (10,000 entries with its default block size). A
    // smaller LIMIT of ours could be less than one block of a server configured with bigger ones,
    // and then nothing would ever go.
    const now = Number(await redis.call('XTRIM', [key, 'MINID', '~', cut]));
    removed += now;
    if (now === 0) return { removed, more: false };
    if (Date.now() - started >= TRIM_BUDGET_MS) return { removed, more: true };
  }
}

/** A consumer unseen this long, holding nothing, is an instance that is gone (each start has a new name). */
export const GONE_AFTER_MS = 60 * 60_000;

/**
 * Forgets the group's consumers that are gone: unseen for `goneAfterMs` and holding no pending
 * entry (what a dead consumer held is claimed by the living first, so nothing is dropped). Each
 * instance names its consumer anew at every start, so without this the group lists every process
 * that ever ran. A live consumer forgotten by mistake is re-created by its next read.
 */
export async function forgetGoneConsumers(
  redis: Redis,
  key: string,
  group: string,
  ownName: string,
  goneAfterMs = GONE_AFTER_MS,
): Promise<{ name: string; dropped: number }[]> {
  const gone = allConsumers(await redis.call('XINFO', ['CONSUMERS', key, group])).filter(
    (c) => c.name !== ownName && c.pending === 0 && c.idleMs >= goneAfterMs,
  );
  const forgotten: { name: string; dropped: number }[] = [];
  for (const c of gone)
    forgotten.push({
      name: c.name,
      // What it held when deleted (it read again since the check): dropped from the pending list.
      dropped: Number(await redis.call('XGROUP', ['DELCONSUMER', key, group, c.name])),
    });
  return forgotten;
}
