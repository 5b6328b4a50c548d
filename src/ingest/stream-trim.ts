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
import { allGroups, compareIds, smallestPending } from './stream-replies.ts';

/** Trims what every group is done with; answers the number of entries removed. */
export async function trimAcknowledged(redis: Redis, key: string): Promise<number> {
  const groups = allGroups(await redis.call('XINFO', ['GROUPS', key]));
  // No group has read anything yet: all of it is still to be consumed.
  if (groups.length === 0) return 0;
  let cut: string | undefined;
  for (const group of groups) {
    const needed =
      (group.pending > 0 ? smallestPending(await redis.call('XPENDING', [key, group.name])) : undefined) ??
      group.lastDelivered;
    if (cut === undefined || compareIds(needed, cut) < 0) cut = needed;
  }
  if (cut === undefined || cut === '0-0') return 0;
  return Number(await redis.call('XTRIM', [key, 'MINID', '~', cut]));
}
