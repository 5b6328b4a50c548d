/**
 * The aggregation core: a batch of new (de-duplicated) messages plus the current state of what
 * they touch → the new state and the deltas to apply. Pure: no SQL, no Redis, no clock.
 */
import type { NormalizedMessage } from './messages.ts';
import {
  applyTransition,
  carriesBookingFacts,
  derive,
  type BookingState,
  type DerivedBooking,
} from './booking.ts';
import { DeltaSet } from './deltas.ts';
import { deleteEvent, mergeEventMeta, placeholderEvent, type EventMeta } from './events.ts';

export type Verdict = 'processed' | 'unknown_booking';

export interface BatchInput {
  /** New messages (duplicates already removed), in arrival order. */
  messages: readonly NormalizedMessage[];
  /** Stored state of every booking the messages name (absent: never seen). */
  bookings: ReadonlyMap<number, BookingState>;
  /** Stored metadata of every event the messages name (absent: never seen). */
  events: ReadonlyMap<number, EventMeta>;
  baseCurrency: string;
  dayOfBucket: (bucket: number) => string;
}

export interface ChangedBooking {
  state: BookingState;
  before: DerivedBooking | undefined;
  /**
   * Undefined when the booking lost its facts: a fact-less message took a slot from one that
   * carried them (the earlier time wins). Its state is kept, uncounted, until a message brings them.
   */
  after: DerivedBooking | undefined;
}

/** Earliest/latest booking creation added to an event, or a request to recompute it from bookings. */
export type TimeRange = { min: number; max: number } | 'recompute';

export interface BatchPlan {
  verdicts: Verdict[];
  bookings: Map<number, ChangedBooking>;
  /** Events whose metadata changed or that appear for the first time (placeholders included). */
  events: Map<number, EventMeta>;
  deltas: DeltaSet;
  eventBookingTimes: Map<number, TimeRange>;
  /** Earliest booking creation added per user, or 'recompute'. */
  userFirstBooking: Map<number, number | 'recompute'>;
  /** user id → disabled, from UserDeactivated / UserReactivated. */
  userStatus: Map<number, { disabled: boolean; time: number }>;
  /**
   * Events a booking left (for another event, or uncounted): a placeholder among them that no
   * booking names any more is no event at all, as if the booking had named the other from the start.
   */
  vacatedEvents: Set<number>;
}

function widen(map: Map<number, TimeRange>, key: number, time: number): void {
  const current = map.get(key);
  if (current === 'recompute') return;
  map.set(
    key,
    current
      ? { min: Math.min(current.min, time), max: Math.max(current.max, time) }
      : { min: time, max: time },
  );
}

function trackTimes(
  plan: BatchPlan,
  before: DerivedBooking | undefined,
  after: DerivedBooking | undefined,
): void {
  if (before?.createdAt !== undefined) {
    if (before.eventId !== after?.eventId || before.createdAt !== after.createdAt) {
      plan.eventBookingTimes.set(before.eventId, 'recompute');
    }
    if (
      before.userId !== undefined &&
      (before.userId !== after?.userId || before.createdAt !== after.createdAt)
    ) {
      plan.userFirstBooking.set(before.userId, 'recompute');
    }
  }
  if (after?.createdAt === undefined) return;
  widen(plan.eventBookingTimes, after.eventId, after.createdAt);
  if (after.userId !== undefined) {
    const current = plan.userFirstBooking.get(after.userId);
    if (current !== 'recompute') {
      plan.userFirstBooking.set(after.userId, Math.min(current ?? Infinity, after.createdAt));
    }
  }
}

export function planBatch(input: BatchInput): BatchPlan {
  const plan: BatchPlan = {
    verdicts: [],
    bookings: new Map(),
    events: new Map(),
    deltas: new DeltaSet(input.baseCurrency, input.dayOfBucket),
    eventBookingTimes: new Map(),
    userFirstBooking: new Map(),
    userStatus: new Map(),
    vacatedEvents: new Set(),
  };
  // A transition that cannot stand alone is accepted when its booking is known anywhere in the
  // batch, not only earlier in it: the verdict must not depend on the order inside a batch.
  const known = new Set(input.bookings.keys());
  for (const m of input.messages) if (m.kind === 'booking' && carriesBookingFacts(m)) known.add(m.bookingId);

  const states = new Map<number, BookingState>();
  const eventOf = (id: number): EventMeta | undefined => plan.events.get(id) ?? input.events.get(id);
  for (const m of input.messages) {
    switch (m.kind) {
      case 'booking': {
        if (!known.has(m.bookingId)) {
          plan.verdicts.push('unknown_booking');
          continue;
        }
        const current = states.get(m.bookingId) ?? input.bookings.get(m.bookingId) ?? {};
        states.set(m.bookingId, applyTransition(current, m));
        break;
      }
      case 'event_meta': {
        const current = eventOf(m.eventId);
        const next = mergeEventMeta(current, m);
        if (next !== current) plan.events.set(m.eventId, next);
        break;
      }
      case 'event_deleted': {
        const current = eventOf(m.eventId);
        if (!current?.deleted) plan.events.set(m.eventId, deleteEvent(current));
        break;
      }
      case 'user_status':
        {
          // The newest change wins (ties: the later message), in a batch as in the store.
          const current = plan.userStatus.get(m.userId);
          if (!current || m.time >= current.time)
            plan.userStatus.set(m.userId, { disabled: m.disabled, time: m.time });
        }
        break;
    }
    plan.verdicts.push('processed');
  }

  for (const [id, state] of states) {
    const stored = input.bookings.get(id);
    if (state === stored) continue;
    const before = stored ? derive(stored, input.baseCurrency) : undefined;
    const after = derive(state, input.baseCurrency);
    if (before) plan.deltas.addBooking(before, -1);
    if (after) plan.deltas.addBooking(after, 1);
    plan.bookings.set(id, { state, before, after });
    trackTimes(plan, before, after);
    if (before && before.eventId !== after?.eventId) plan.vacatedEvents.add(before.eventId);
    if (after && !eventOf(after.eventId)) plan.events.set(after.eventId, placeholderEvent());
  }
  return plan;
}
