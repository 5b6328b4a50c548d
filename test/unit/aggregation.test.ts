/**
 * The pure aggregation core (metrics.md, Booking and Event models): planBatch and derive, with
 * normalized messages in and plans out. No store, no clock.
 */
import { describe, expect, it } from 'vitest';
import { planBatch, type BatchInput, type BatchPlan } from '../../src/aggregate/batch.ts';
import { derive, type BookingState } from '../../src/aggregate/booking.ts';
import { deleteEvent, placeholderEvent, type EventMeta } from '../../src/aggregate/events.ts';
import { toMoneyUnits } from '../../src/aggregate/money.ts';
import { localDayOfBucket } from '../../src/aggregate/time.ts';
import type {
  BookingAttrs,
  BookingMessage,
  EventMetaMessage,
  NormalizedMessage,
  Transition,
} from '../../src/aggregate/messages.ts';

const at = (iso: string): number => Date.parse(`${iso}Z`);
const utcDay = localDayOfBucket('UTC');

const facts = { eventId: 7, userId: 3, quantity: 2, amount: toMoneyUnits(80), currency: 'USD' };

function transition(
  t: Transition,
  bookingId: number,
  time: string,
  attrs: BookingAttrs = facts,
): BookingMessage {
  return { kind: 'booking', key: `${t}:${bookingId}`, transition: t, bookingId, time: at(time), ...attrs };
}

function eventMeta(eventId: number, time: string, fields: Partial<EventMetaMessage> = {}): EventMetaMessage {
  return {
    kind: 'event_meta',
    key: `meta:${eventId}:${time}`,
    eventId,
    time: at(time),
    name: 'Jazz Night',
    category: 'music',
    capacity: 500,
    price: 40,
    status: 'published',
    eventDate: at('2026-12-01T20:00:00'),
    createdAt: at('2026-11-01T09:00:00'),
    ...fields,
  };
}

function plan(
  messages: NormalizedMessage[],
  stored: Partial<Pick<BatchInput, 'bookings' | 'events'>> = {},
): BatchPlan {
  return planBatch({
    messages,
    bookings: stored.bookings ?? new Map(),
    events: stored.events ?? new Map(),
    baseCurrency: 'USD',
    dayOfBucket: utcDay,
  });
}

/** Every permutation of a short list. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

function bookingAfter(p: BatchPlan, id: number) {
  const changed = p.bookings.get(id);
  if (!changed?.after) throw new Error(`booking ${id} is not in the plan, or not counted`);
  return changed.after;
}

function stateAfter(p: BatchPlan, id: number): BookingState {
  const changed = p.bookings.get(id);
  if (!changed) throw new Error(`booking ${id} is not in the plan`);
  return changed.state;
}

describe('booking status', () => {
  const created = transition('created', 91, '2026-11-03T12:00:00');
  const confirmed = transition('confirmed', 91, '2026-11-03T12:05:00');
  const cancelled = transition('cancelled', 91, '2026-11-04T08:00:00');

  it('is the highest-precedence transition seen, whatever the order inside a batch', () => {
    for (const order of permutations([created, confirmed, cancelled])) {
      expect(bookingAfter(plan(order), 91)).toMatchObject({ status: 'cancelled' });
    }
  });

  it('is not lowered by a lower transition arriving in a later batch, which still records its time', () => {
    const first = plan([cancelled]);
    expect(bookingAfter(first, 91)).toMatchObject({
      status: 'cancelled',
      confirmedAt: undefined,
      createdAt: undefined,
    });

    const second = plan([confirmed], { bookings: new Map([[91, stateAfter(first, 91)]]) });
    expect(bookingAfter(second, 91)).toMatchObject({
      status: 'cancelled',
      confirmedAt: at('2026-11-03T12:05:00'),
    });

    const third = plan([created], { bookings: new Map([[91, stateAfter(second, 91)]]) });
    expect(bookingAfter(third, 91)).toMatchObject({
      status: 'cancelled',
      createdAt: at('2026-11-03T12:00:00'),
      confirmedAt: at('2026-11-03T12:05:00'),
      cancelledAt: at('2026-11-04T08:00:00'),
    });
  });

  it('ranks expired above confirmed and cancelled above expired', () => {
    const expired = transition('expired', 91, '2026-11-03T12:15:00');
    expect(bookingAfter(plan([expired, confirmed]), 91).status).toBe('expired');
    expect(bookingAfter(plan([cancelled, expired]), 91).status).toBe('cancelled');
    expect(bookingAfter(plan([created]), 91).status).toBe('pending');
  });

  it('keeps the earlier time when two different messages claim the same transition, in either order', () => {
    const early = transition('confirmed', 91, '2026-11-03T12:05:00');
    const late = { ...transition('confirmed', 91, '2026-11-03T13:00:00'), key: 'redelivered-with-new-id' };
    expect(bookingAfter(plan([created, early, late]), 91).confirmedAt).toBe(at('2026-11-03T12:05:00'));
    expect(bookingAfter(plan([created, late, early]), 91).confirmedAt).toBe(at('2026-11-03T12:05:00'));
  });
});

describe('booking attributes', () => {
  it('come from the highest-precedence message that carries them, whatever the order', () => {
    const created = transition('created', 91, '2026-11-03T12:00:00', {
      ...facts,
      quantity: 2,
      amount: toMoneyUnits(80),
    });
    const confirmed = transition('confirmed', 91, '2026-11-03T12:05:00', {
      ...facts,
      userId: 4,
      quantity: 3,
      amount: toMoneyUnits(105.5),
    });
    // A cancellation that names only the booking: it must not erase what the confirmation said.
    const cancelled = transition('cancelled', 91, '2026-11-04T08:00:00', {});
    for (const order of permutations([created, confirmed, cancelled])) {
      expect(bookingAfter(plan(order), 91)).toMatchObject({
        eventId: 7,
        userId: 4,
        quantity: 3,
        amount: toMoneyUnits(105.5),
        currency: 'USD',
        status: 'cancelled',
      });
    }
  });

  it('fall back to a lower transition for what the higher one leaves out', () => {
    const created = transition('created', 91, '2026-11-03T12:00:00', { ...facts, currency: 'EUR' });
    const confirmed = transition('confirmed', 91, '2026-11-03T12:05:00', {
      eventId: 7,
      quantity: 2,
      amount: toMoneyUnits(80),
    });
    expect(bookingAfter(plan([confirmed, created]), 91)).toMatchObject({ currency: 'EUR', userId: 3 });
  });

  it('take the base currency when no message names one', () => {
    const { currency: _none, ...noCurrency } = facts;
    expect(derive({ created: { t: at('2026-11-03T12:00:00'), ...noCurrency } }, 'USD')?.currency).toBe('USD');
  });

  it('are not derived while no message has said the event, quantity and amount', () => {
    expect(derive({ confirmed: { t: at('2026-11-03T12:05:00'), eventId: 7 } }, 'USD')).toBeUndefined();
  });
});

describe('a booking across batches, whatever the split', () => {
  const stored = (p: BatchPlan, id: number) => ({ bookings: new Map([[id, stateAfter(p, id)]]) });

  it('keeps a booking whose facts a fact-less message took away, uncounted, until they come back', () => {
    const full = { ...transition('confirmed', 91, '2026-11-15T10:00:00'), key: 'rival' };
    const bare = transition('confirmed', 91, '2026-11-10T10:00:00', {});
    const created = transition('created', 91, '2026-11-10T09:00:00');
    const first = plan([full]);
    // The bare confirmation is earlier: it takes the slot, and with it the facts the booking had.
    const second = plan([bare], stored(first, 91));
    expect(second.bookings.get(91)?.after).toBeUndefined();
    expect(second.bookings.get(91)?.state.confirmed?.t).toBe(at('2026-11-10T10:00:00'));
    expect(second.deltas.events.get(7)).toMatchObject({ total: -1, confirmed: -1, ticketsSold: -2 });
    // The creation brings facts back: confirmed at the bare message's time, as in one batch.
    const third = plan([created], stored(second, 91));
    const together = plan([full, bare, created]);
    expect(bookingAfter(third, 91)).toEqual(bookingAfter(together, 91));
    expect(bookingAfter(third, 91)).toMatchObject({
      status: 'confirmed',
      confirmedAt: at('2026-11-10T10:00:00'),
    });
  });

  it('names the event a booking left, so a placeholder nobody names any more can go', () => {
    const first = plan([transition('created', 92, '2026-11-10T09:00:00', { ...facts, eventId: 232 })]);
    expect([...first.events.keys()]).toEqual([232]);
    const second = plan([transition('confirmed', 92, '2026-11-10T09:10:00', { ...facts, eventId: 17 })], {
      ...stored(first, 92),
      events: first.events,
    });
    expect([...second.vacatedEvents]).toEqual([232]);
    expect([...second.events.keys()]).toEqual([17]);
    expect(second.deltas.events.get(232)).toMatchObject({ total: -1, pending: -1 });
  });
});

describe('unknown_booking verdicts', () => {
  const bareConfirm = transition('confirmed', 91, '2026-11-03T12:05:00', {});
  const created = transition('created', 91, '2026-11-03T12:00:00');

  it('parks a transition that lacks the booking facts for a booking nobody has seen', () => {
    const p = plan([bareConfirm]);
    expect(p.verdicts).toEqual(['unknown_booking']);
    expect(p.bookings.size).toBe(0);
    expect(p.deltas.totals.bookings).toBe(0);
  });

  it('accepts it when its BookingCreated is in the same batch, before or after it', () => {
    for (const order of [
      [bareConfirm, created],
      [created, bareConfirm],
    ]) {
      const p = plan(order);
      expect(p.verdicts).toEqual(['processed', 'processed']);
      expect(bookingAfter(p, 91)).toMatchObject({
        status: 'confirmed',
        confirmedAt: at('2026-11-03T12:05:00'),
      });
    }
  });

  it('accepts it when the booking is already stored', () => {
    const stored: BookingState = { created: { t: at('2026-11-03T12:00:00'), ...facts } };
    const p = plan([bareConfirm], { bookings: new Map([[91, stored]]) });
    expect(p.verdicts).toEqual(['processed']);
    expect(bookingAfter(p, 91).status).toBe('confirmed');
  });

  it('accepts a transition that carries the facts on its own, with no BookingCreated anywhere', () => {
    const p = plan([transition('confirmed', 91, '2026-11-03T12:05:00')]);
    expect(p.verdicts).toEqual(['processed']);
    expect(bookingAfter(p, 91)).toMatchObject({ status: 'confirmed', createdAt: undefined });
  });

  it('decides per booking: another booking in the batch does not vouch for it', () => {
    const p = plan([transition('created', 92, '2026-11-03T12:00:00'), bareConfirm]);
    expect(p.verdicts).toEqual(['processed', 'unknown_booking']);
  });
});

describe('events', () => {
  const booking = (eventId: number) =>
    transition('created', 91, '2026-11-03T12:00:00', { ...facts, eventId });

  it('creates a placeholder for a booking of an unknown event', () => {
    const p = plan([booking(99)]);
    expect(p.events.get(99)).toEqual(placeholderEvent());
    expect(p.events.get(99)).toMatchObject({ name: 'Unknown Event', capacity: 0, deleted: false });
  });

  it('does not create a placeholder when the event is created in the same batch, before or after', () => {
    for (const order of [
      [booking(99), eventMeta(99, '2026-11-01T09:00:00')],
      [eventMeta(99, '2026-11-01T09:00:00'), booking(99)],
    ]) {
      expect(plan(order).events.get(99)).toMatchObject({ name: 'Jazz Night', capacity: 500 });
    }
  });

  it('fills a stored placeholder in when the EventCreated arrives later', () => {
    const p = plan([eventMeta(99, '2026-11-01T09:00:00')], { events: new Map([[99, placeholderEvent()]]) });
    expect(p.events.get(99)).toMatchObject({
      name: 'Jazz Night',
      capacity: 500,
      createdAt: at('2026-11-01T09:00:00'),
    });
  });

  it('keeps the metadata with the newest occurrence time, whatever the order', () => {
    const created = eventMeta(7, '2026-11-01T09:00:00');
    const update = eventMeta(7, '2026-11-02T10:00:00', {
      capacity: 450,
      name: 'Jazz Night (moved)',
      createdAt: null,
    });
    for (const order of permutations([created, update])) {
      expect(plan(order).events.get(7)).toMatchObject({
        name: 'Jazz Night (moved)',
        capacity: 450,
        createdAt: at('2026-11-01T09:00:00'),
      });
    }
  });

  it('keeps a deleted event deleted when a Created or Updated comes after the deletion', () => {
    const deleted: NormalizedMessage = {
      kind: 'event_deleted',
      key: 'EventDeleted:7',
      eventId: 7,
      time: at('2026-11-05T00:00:00'),
    };
    const revived = eventMeta(7, '2026-11-06T00:00:00', { name: 'Jazz Night (back)' });
    for (const order of permutations<NormalizedMessage>([
      eventMeta(7, '2026-11-01T09:00:00'),
      deleted,
      revived,
    ])) {
      expect(plan(order).events.get(7)).toMatchObject({ deleted: true });
    }
    const stored = new Map<number, EventMeta>([[7, deleteEvent(placeholderEvent())]]);
    const later = plan([revived, booking(7)], { events: stored });
    expect(later.events.has(7)).toBe(false);
  });

  it('still counts the bookings of a deleted event', () => {
    const stored = new Map<number, EventMeta>([[7, deleteEvent(placeholderEvent())]]);
    const p = plan([booking(7)], { events: stored });
    expect(p.deltas.totals.bookings).toBe(1);
    expect(p.deltas.events.get(7)).toMatchObject({ total: 1, pending: 1 });
  });
});

describe('revenue', () => {
  // Money is summed in bigint units: exact however large the sum.
  const amount = BigInt(toMoneyUnits(80));
  const eurAmount = BigInt(toMoneyUnits(12.5));
  const created = transition('created', 91, '2026-11-03T12:00:00');
  const confirmed = transition('confirmed', 91, '2026-11-03T12:05:00');
  const cancelled = transition('cancelled', 91, '2026-11-06T08:00:00');

  it('flows in on the day of confirmation and out on the day of a cancellation after confirmation', () => {
    const p = plan([created, confirmed, cancelled]);
    expect(p.deltas.days.get('2026-11-03')).toMatchObject({
      newBookings: 1,
      confirmed: 1,
      revenue: amount,
      grossConfirmed: amount,
    });
    expect(p.deltas.days.get('2026-11-06')).toMatchObject({
      cancelled: 1,
      revenue: -amount,
      grossConfirmed: 0n,
    });
    expect(p.deltas.totals.revenue).toBe(0n);
    expect(p.deltas.events.get(7)).toMatchObject({
      cancelled: 1,
      confirmed: 0,
      revenue: 0n,
      ticketsSold: 0,
      seatsHeld: 0,
    });
  });

  it('does not flow out for a cancellation that was never confirmed', () => {
    const p = plan([created, cancelled]);
    expect(p.deltas.days.get('2026-11-06')).toMatchObject({ cancelled: 1, revenue: 0n });
  });

  it('moves the net flow when a confirmation arrives after the cancellation was counted', () => {
    const first = plan([created, cancelled]);
    const second = plan([confirmed], { bookings: new Map([[91, stateAfter(first, 91)]]) });
    expect(second.deltas.days.get('2026-11-03')).toMatchObject({ confirmed: 1, revenue: amount });
    expect(second.deltas.days.get('2026-11-06')).toMatchObject({ cancelled: 0, revenue: -amount });
    expect(second.deltas.totals.revenue).toBe(0n);
  });

  it('counts confirmed base-currency bookings in the event revenue and totals', () => {
    const p = plan([created, confirmed]);
    expect(p.deltas.events.get(7)).toMatchObject({
      confirmed: 1,
      revenue: amount,
      confirmedBase: 1,
      ticketsSold: 2,
      seatsHeld: 2,
    });
    expect(p.deltas.totals.revenue).toBe(amount);
  });

  it('keeps a non-base currency apart and never adds it in', () => {
    const eur = { ...facts, currency: 'EUR', amount: toMoneyUnits(12.5) };
    const p = plan([
      transition('created', 92, '2026-11-03T12:00:00', eur),
      transition('confirmed', 92, '2026-11-03T12:05:00', eur),
    ]);
    expect(p.deltas.otherCurrency.get('7|EUR')).toEqual({ confirmed: 1, amount: eurAmount });
    expect(p.deltas.events.get(7)).toMatchObject({
      total: 1,
      confirmed: 1,
      ticketsSold: 2,
      revenue: 0n,
      confirmedBase: 0,
    });
    expect(p.deltas.totals).toMatchObject({ bookings: 1, revenue: 0n });
    expect(p.deltas.days.get('2026-11-03')).toMatchObject({
      newBookings: 1,
      confirmed: 1,
      revenue: 0n,
      grossConfirmed: 0n,
      confirmedBase: 0,
    });
  });

  it('takes the EUR amount back out when the EUR booking is cancelled', () => {
    const eur = { ...facts, currency: 'EUR', amount: toMoneyUnits(12.5) };
    const first = plan([transition('confirmed', 92, '2026-11-03T12:05:00', eur)]);
    const second = plan([transition('cancelled', 92, '2026-11-04T12:00:00', eur)], {
      bookings: new Map([[92, stateAfter(first, 92)]]),
    });
    expect(second.deltas.otherCurrency.get('7|EUR')).toEqual({ confirmed: -1, amount: -eurAmount });
    expect(second.deltas.days.get('2026-11-04')).toMatchObject({ cancelled: 1, revenue: 0n });
  });
});

describe('event metadata from partial updates', () => {
  const created = {
    kind: 'event_meta' as const,
    key: 'EventCreated:7',
    eventId: 7,
    time: Date.parse('2026-11-01T09:00:00Z'),
    name: 'Jazz Night',
    category: 'music',
    capacity: 500,
    price: 40,
    status: 'published',
    eventDate: null,
    createdAt: Date.parse('2026-11-01T09:00:00Z'),
  };
  const capacityOnly = {
    ...created,
    key: 'EventUpdated:7:2026-11-02T10:00:00',
    time: Date.parse('2026-11-02T10:00:00Z'),
    name: undefined,
    category: undefined,
    capacity: 450,
    price: undefined,
    status: undefined,
    eventDate: undefined,
    createdAt: null,
  };

  it('gives the same event whichever of a creation and a partial update arrives first', async () => {
    const { mergeEventMeta } = await import('../../src/aggregate/events.ts');
    const inOrder = mergeEventMeta(mergeEventMeta(undefined, created), capacityOnly);
    const reversed = mergeEventMeta(mergeEventMeta(undefined, capacityOnly), created);
    for (const e of [inOrder, reversed]) {
      expect(e).toMatchObject({
        name: 'Jazz Night',
        category: 'music',
        capacity: 450,
        createdAt: created.createdAt,
      });
    }
  });

  it('clears a field the newest message sends as null, whichever message arrived first', async () => {
    const { mergeEventMeta } = await import('../../src/aggregate/events.ts');
    const cleared = { ...capacityOnly, capacity: undefined, category: null, price: null };
    const older = {
      ...cleared,
      key: 'EventUpdated:7:2026-10-30T10:00:00',
      time: Date.parse('2026-10-30T10:00:00Z'),
    };
    for (const e of [
      mergeEventMeta(mergeEventMeta(undefined, created), cleared),
      mergeEventMeta(mergeEventMeta(undefined, cleared), created),
    ]) {
      expect(e).toMatchObject({
        name: 'Jazz Night',
        category: null,
        price: null,
        capacity: 500,
        status: 'published',
      });
    }
    // An older message's null does not clear what a newer one set.
    for (const e of [
      mergeEventMeta(mergeEventMeta(undefined, created), older),
      mergeEventMeta(mergeEventMeta(undefined, older), created),
    ]) {
      expect(e).toMatchObject({ category: 'music', price: 40 });
    }
  });
});
