/**
 * The aggregate writes of one batch of new messages: what the stored figures need read, the pure
 * plan of their changes (aggregate/batch), and the statements that write it.
 */
import { planBatch, type BatchPlan } from '../aggregate/batch.ts';
import type { BookingState } from '../aggregate/booking.ts';
import { nonZero } from '../aggregate/deltas.ts';
import { allStatements, type Db } from '../platform/db.ts';
import { addActivityChanges, addBucketFlows, type PhaseDelta, type PhaseKey } from '../aggregate/phases.ts';
import {
  applyActivityMasks,
  applyBucketFlows,
  applyDayFlows,
  applyEventFlows,
  applyPhaseDays,
  gainedSpans,
  loadActivitySpans,
  maskChanges,
} from '../store/flows.repository.ts';
import * as repo from '../store/ingest.repository.ts';
import * as users from '../store/users.repository.ts';
import type { NormalizedMessage } from '../aggregate/messages.ts';

/**
 * Applies new messages to the stored aggregates inside the caller's transaction (which holds the
 * writer lock). Shared by live ingestion and by rebuild.
 *
 * Every read comes first; then the writes are issued one after another without waiting in
 * between, so each statement's payload is built while PostgreSQL executes the one before (the
 * transaction's connection runs them in order). `alongside` gives the caller's own statements that
 * follow from the plan (the event log's rows, once the messages' fates are known): they go out with
 * the writes, and the batch settles when every one has.
 */
export async function applyMessages(
  trx: Db,
  messages: readonly NormalizedMessage[],
  opts: { baseCurrency: string; dayOfBucket: (bucket: number) => string },
  preloaded?: ReadonlyMap<number, BookingState>,
  alongside?: (plan: BatchPlan) => Promise<unknown>[],
): Promise<BatchPlan> {
  const bookingIds = new Set<number>();
  const eventIds = new Set<number>();
  for (const m of messages) {
    if (m.kind === 'event_meta' || m.kind === 'event_deleted') eventIds.add(m.eventId);
    if (m.kind === 'booking') {
      bookingIds.add(m.bookingId);
      if (m.eventId !== undefined) eventIds.add(m.eventId);
    }
  }
  const bookings = preloaded ?? (await repo.loadBookings(trx, [...bookingIds]));
  // A transition may omit event_id: its stored booking names the event, which must be loaded too.
  for (const state of bookings.values())
    for (const r of Object.values(state)) if (r?.eventId !== undefined) eventIds.add(r.eventId);
  const events = await repo.loadEvents(trx, [...eventIds]);
  const plan = planBatch({
    messages,
    bookings,
    events,
    baseCurrency: opts.baseCurrency,
    dayOfBucket: opts.dayOfBucket,
  });

  const userIds = [...new Set([...plan.deltas.userBookings.keys(), ...plan.userFirstBooking.keys()])];
  const dayKeys = [...plan.deltas.dayEvents].filter(([, d]) => d.transitions !== 0).map(([k]) => k);
  const bucketEvents = nonZero(plan.deltas.bucketEvents);
  const masks = maskChanges(bucketEvents);
  const [storedUsers, dayTransitions, spansBefore] = await allStatements([
    users.loadUsers(trx, userIds),
    repo.loadDayEventTransitions(trx, dayKeys),
    loadActivitySpans(trx, masks),
  ] as const);
  const bookingRows = [...plan.bookings].map(([id, b]) => ({
    id,
    state: b.state,
    eventId: b.after?.eventId ?? null,
    userId: b.after?.userId,
    createdAt: b.after?.createdAt,
  }));
  // Rare: a booking moved to another event or user, or its creation time changed. Their earliest
  // booking is then recomputed from the bookings as written.
  const recomputeUsers = [...plan.userFirstBooking].filter(([, v]) => v === 'recompute').map(([id]) => id);
  const recomputeEvents = [...plan.eventBookingTimes].filter(([, v]) => v === 'recompute').map(([id]) => id);
  let bookingsWritten = false;
  let recomputedUsers = new Map<number, number>();
  if (recomputeUsers.length > 0) {
    await repo.writeBookings(trx, bookingRows, bookings);
    bookingsWritten = true;
    recomputedUsers = await users.recomputeUserFirstBooking(trx, recomputeUsers);
  }
  const userRows = planUsers(plan, userIds, storedUsers, recomputedUsers);
  plan.deltas.applyActiveEventCrossings(dayTransitions);

  const d = plan.deltas;
  const writes: Promise<void>[] = [];
  if (!bookingsWritten) writes.push(repo.writeBookings(trx, bookingRows, bookings));
  writes.push(repo.upsertEventMeta(trx, plan.events));
  writes.push(repo.applyEventChanges(trx, nonZero(d.events), plan.eventBookingTimes));
  writes.push(repo.recomputeEventBookingTimes(trx, recomputeEvents));
  writes.push(repo.dropVacatedPlaceholders(trx, [...plan.vacatedEvents]));
  writes.push(repo.applyCurrencyRevenue(trx, [...d.otherCurrency]));
  writes.push(users.applyUserStatus(trx, plan.userStatus));
  writes.push(users.writeUsers(trx, userRows, storedUsers));
  writes.push(applyBucketFlows(trx, nonZero(d.buckets)));
  writes.push(applyDayFlows(trx, nonZero(d.days), d.dayActiveEvents));
  // The activity masks are worked out from flow_bucket_event where a quarter lost transitions: after
  // it. The shifted days' active events follow from each event's activity spans before and after
  // the batch; those after, from the quarters gained, except for the days worked out again (rare):
  // then the shifted days wait for them.
  const phaseDays = new Map<PhaseKey, PhaseDelta>();
  addBucketFlows(phaseDays, nonZero(d.buckets));
  const masksWritten = applyEventFlows(trx, 'flow_bucket_event', bucketEvents).then(() =>
    applyActivityMasks(trx, masks),
  );
  const spansAfter = gainedSpans(masks, spansBefore);
  if (masks.lost.size === 0) {
    addActivityChanges(phaseDays, spansBefore, spansAfter);
    writes.push(
      masksWritten.then(() => undefined),
      applyPhaseDays(trx, nonZero(phaseDays)),
    );
  } else {
    writes.push(
      masksWritten.then((recomputed) => {
        addActivityChanges(phaseDays, spansBefore, new Map([...spansAfter, ...recomputed]));
        return applyPhaseDays(trx, nonZero(phaseDays));
      }),
    );
  }
  writes.push(applyEventFlows(trx, 'flow_day_event', nonZero(d.dayEvents)));
  writes.push(repo.applyAggregateTotals(trx, d.totals));
  // The caller's statements go out after the writes. Should working them out throw, the writes
  // still settle before the transaction rolls back (the caller sends nothing before it has worked
  // everything out).
  const theirs = Promise.resolve().then(() => allStatements(alongside?.(plan) ?? []));
  await allStatements([...writes, theirs]);
  return plan;
}

/** Booking counts and first-booking times per user, and the new_users / total_users they move. */
function planUsers(
  plan: BatchPlan,
  ids: readonly number[],
  stored: ReadonlyMap<number, users.StoredUser>,
  recomputed: ReadonlyMap<number, number>,
): { id: number; bookings: number; firstBookingAt: number | undefined }[] {
  return ids.map((id) => {
    const before = stored.get(id) ?? { bookings: 0, firstBookingAt: undefined };
    const bookings = before.bookings + (plan.deltas.userBookings.get(id) ?? 0);
    const added = plan.userFirstBooking.get(id);
    const first =
      added === 'recompute'
        ? recomputed.get(id)
        : added === undefined
          ? before.firstBookingAt
          : Math.min(before.firstBookingAt ?? Infinity, added);
    plan.deltas.moveFirstBooking(before.firstBookingAt, first);
    plan.deltas.countUser(before.bookings, bookings);
    return { id, bookings, firstBookingAt: first };
  });
}
