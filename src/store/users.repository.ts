/** Per-user booking counts and first bookings (new_users, total_users), and user status (disabled). */
import { sql } from 'kysely';
import { allStatements, copyRows, type Db } from '../platform/db.ts';
import { copyInstant, copyLine, json, ms } from './rows.ts';

export interface StoredUser {
  bookings: number;
  firstBookingAt: number | undefined;
}

export async function loadUsers(trx: Db, ids: number[]): Promise<Map<number, StoredUser>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<{ user_id: number; bookings: number; first: number | null }>`
    select user_id::float8 as user_id, bookings, (extract(epoch from first_booking_at) * 1000)::float8 as first
    from users where user_id in (select (json_array_elements_text(${json(ids)}::json))::bigint)`.execute(trx);
  return new Map(
    rows.map((r) => [r.user_id, { bookings: r.bookings, firstBookingAt: r.first ?? undefined }]),
  );
}

/** Earliest booking creation per user, from the bookings as now written. */
export async function recomputeUserFirstBooking(trx: Db, ids: number[]): Promise<Map<number, number>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<{ user_id: number; first: number }>`
    select user_id::float8 as user_id, (extract(epoch from min(created_at)) * 1000)::float8 as first
    from bookings where user_id in (select (json_array_elements_text(${json(ids)}::json))::bigint)
      and created_at is not null
    group by user_id`.execute(trx);
  return new Map(rows.map((r) => [r.user_id, r.first]));
}

/**
 * Writes users' rows: those not stored yet (`stored`, read in this transaction under the writer
 * lock) with COPY, the others updated.
 */
export async function writeUsers(
  trx: Db,
  rows: { id: number; bookings: number; firstBookingAt: number | undefined }[],
  stored: { has(id: number): boolean },
): Promise<void> {
  let added = '';
  const changed = [];
  for (const r of rows) {
    if (stored.has(r.id)) changed.push({ user_id: r.id, bookings: r.bookings, first: ms(r.firstBookingAt) });
    else
      added += copyLine([
        r.id,
        r.bookings,
        r.firstBookingAt === undefined ? null : copyInstant(r.firstBookingAt),
      ]);
  }
  const copying = copyRows(trx, 'users', ['user_id', 'bookings', 'first_booking_at'], added);
  const updating =
    changed.length === 0
      ? Promise.resolve()
      : sql`
    update users u set bookings = x.bookings, first_booking_at = to_timestamp(x.first / 1000.0)
    from json_to_recordset(${json(changed)}::json) as x(user_id bigint, bookings int, first float8)
    where u.user_id = x.user_id`
          .execute(trx)
          .then(() => undefined);
  await allStatements([copying, updating]);
}

/** Applies user status changes that are newer than what is stored (order of arrival does not matter). */
export async function applyUserStatus(
  trx: Db,
  status: Map<number, { disabled: boolean; time: number }>,
): Promise<void> {
  if (status.size === 0) return;
  const rows = [...status].map(([id, s]) => ({ user_id: id, disabled: s.disabled, time: s.time }));
  await setUserStatus(trx, rows);
}

/**
 * An admin's action: applied whatever is stored (it is the newest change there is), stamped with
 * the database's clock. Answers whether the user had another status before.
 */
export async function overrideUserStatus(db: Db, userId: number, disabled: boolean): Promise<boolean> {
  const { rows } = await sql<{ changed: boolean }>`
    with before as (select disabled from user_status where user_id = ${userId}),
    written as (
      insert into user_status (user_id, disabled, changed_at) values (${userId}, ${disabled}, now())
      on conflict (user_id) do update set disabled = excluded.disabled, changed_at = excluded.changed_at
      returning 1
    )
    select coalesce((select disabled from before), false) <> ${disabled} as changed
    from written`.execute(db);
  return rows[0]?.changed ?? false;
}

/**
 * Messages' changes, each applied only if newer than what is stored. None is later than the
 * database's clock, which also stamps an admin's action: one clock orders them.
 */
async function setUserStatus(
  db: Db,
  rows: { user_id: number; disabled: boolean; time: number }[],
): Promise<void> {
  await sql`
    insert into user_status (user_id, disabled, changed_at)
    select user_id, disabled, least(to_timestamp(time / 1000.0), now())
    from json_to_recordset(${json(rows)}::json) as x(user_id bigint, disabled boolean, time float8)
    on conflict (user_id) do update set disabled = excluded.disabled, changed_at = excluded.changed_at
      where excluded.changed_at >= user_status.changed_at`.execute(db);
}
