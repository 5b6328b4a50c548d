/** Rejected messages in the event log: the dead-letter list an operator reads and retries from. */
import { sql } from 'kysely';
import type { Db } from '../platform/db.ts';

export interface DeadLetter {
  id: number;
  reason: string | null;
  detail: string | null;
  transport: string;
  channel: string | null;
  received_at: string;
  raw: string;
  /** The whole message's size in bytes (UTF-8); `raw` holds at most RAW_SHOWN characters of it. */
  raw_bytes: number;
  raw_truncated: boolean;
}

/** How much of a message the list shows: a page of 50 dead letters of 50 MB each must still load. */
export const RAW_SHOWN = 65_536;
/**
 * How much of all its messages a page shows: 64 rows show up to RAW_SHOWN characters each, a page of
 * 500 about 8,400. A character can take six bytes in JSON (`\u0001`), so a page stays under 25 MB
 * however its messages are made; it was 192 MB for 500 rows of control characters.
 */
export const PAGE_RAW_SHOWN = 4_194_304;

/** The characters of each message a page of `limit` rows shows. */
export const rawShown = (limit: number): number => Math.min(RAW_SHOWN, Math.floor(PAGE_RAW_SHOWN / limit));

export async function listDeadLetters(
  db: Db,
  q: { reason: string | undefined; limit: number; offset: number },
): Promise<{ items: DeadLetter[]; total: number }> {
  const reason = q.reason ?? null;
  const [items, total] = await Promise.all([
    // The page's ids first, from the index alone (an offset walks only ids), then its rows; substr
    // reads only the start of a big stored text, octet_length only its size: a page of huge
    // messages costs what it shows.
    sql<DeadLetter>`
      with page as (
        select id from event_log where outcome = 'rejected' and (${reason}::text is null or reason = ${reason})
        order by id desc limit ${q.limit} offset ${q.offset}
      )
      select id, reason, detail, transport, channel, received_at, shown as raw, bytes as raw_bytes,
        bytes > octet_length(shown) as raw_truncated
      from (
        select e.id::float8 as id, e.reason, e.detail, e.transport, e.channel,
          to_char(e.received_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as received_at,
          substr(e.raw, 1, ${rawShown(q.limit)}) as shown, octet_length(e.raw) as bytes
        from event_log e join page on page.id = e.id
      ) rows order by id desc`.execute(db),
    sql<{ n: number }>`select count(*)::int as n from event_log
      where outcome = 'rejected' and (${reason}::text is null or reason = ${reason})`.execute(db),
  ]);
  return { items: items.rows, total: total.rows[0]?.n ?? 0 };
}

export async function findDeadLetter(
  db: Db,
  id: number,
): Promise<(Pick<DeadLetter, 'raw' | 'transport' | 'channel'> & { receivedAt: number }) | undefined> {
  const { rows } = await sql<Pick<DeadLetter, 'raw' | 'transport' | 'channel'> & { receivedAt: number }>`
    select raw, transport, channel, (extract(epoch from received_at) * 1000)::float8 as "receivedAt"
    from event_log where id = ${id} and outcome = 'rejected'`.execute(db);
  return rows[0];
}
