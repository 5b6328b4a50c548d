/**
 * Random valid message streams for property tests (fast-check): a few events with updates and a
 * deletion, bookings with random subsets of transitions over ~60 days, some in EUR, some
 * transitions that omit the booking facts, in the Evently and CloudEvents formats; some bookings
 * move to another event with their confirmation, and some confirmations have a fact-less rival
 * under another key, earlier, that takes their slot.
 *
 * A plan is namespace-free; `renderStream(plan, ns)` turns it into raw messages whose ids live in
 * namespace `ns`, so several streams can share one database without touching each other.
 */
import fc from 'fast-check';
import { shuffled } from './conformance.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** Day 0 of every stream; 60 days later crosses the US switch to summer time (2026-03-08). */
const BASE = Date.UTC(2026, 1, 1);

export const REPORTING_TIMEZONE = 'America/New_York';

interface EventPlan {
  createdAt: number;
  name: string;
  category: string;
  capacity: number;
  priceCents: number;
  format: 'nested' | 'flat' | 'cloud';
  /** The creation time only as the EventCreated's envelope time (occurred_at / CloudEvents time). */
  timeInEnvelope: boolean;
  /** Minutes after the previous metadata message, so no two of one event share a time. */
  updates: { after: number; capacity: number; renamed: boolean; clearsCategory: boolean }[];
}

interface BookingPlan {
  /** Index into the events; one past the end names an event nobody announced (a placeholder). */
  event: number;
  user: number;
  quantity: number;
  unitCents: number;
  currency: 'USD' | 'EUR';
  createdAt: number;
  created: boolean;
  confirmAfter: number | null;
  /** A confirmation at a different amount (a discount), to exercise attribute precedence. */
  confirmDiscountCents: number | null;
  cancelAfter: number | null;
  expire: boolean;
  /** Transitions other than BookingCreated carry only the booking id and their time. */
  bare: boolean;
  cloud: boolean;
  /** The (full) confirmation names this event instead: the booking moves there. */
  confirmEvent: number | null;
  /** Minutes before the confirmation, a fact-less confirmation under a key of its own. */
  rivalBareConfirm: number | null;
}

export interface StreamPlan {
  events: EventPlan[];
  deletion: { event: number; at: number; cloud: boolean };
  bookings: BookingPlan[];
  ignored: number;
  /** [message index (mod length), extra deliveries] */
  redeliveries: [number, number][];
  shuffleSeed: number;
  /** Messages per HTTP ingest call when the stream is replayed out of order. */
  chunk: number;
}

const eventArb: fc.Arbitrary<EventPlan> = fc.record({
  createdAt: fc.integer({ min: -20 * DAY, max: 30 * DAY }),
  name: fc.constantFrom('Jazz Night', 'Rock Fest', 'Tech Summit', 'Comedy Hour', 'Opera Gala'),
  category: fc.constantFrom('music', 'tech', 'comedy', 'arts'),
  capacity: fc.oneof(
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 5, arbitrary: fc.integer({ min: 10, max: 120 }) },
  ),
  priceCents: fc.integer({ min: 500, max: 15_000 }),
  format: fc.constantFrom('nested', 'flat', 'cloud'),
  timeInEnvelope: fc.boolean(),
  updates: fc.array(
    fc.record({
      after: fc.integer({ min: 1, max: 20 * 24 * 60 }),
      capacity: fc.integer({ min: 0, max: 150 }),
      renamed: fc.boolean(),
      clearsCategory: fc.boolean(),
    }),
    { maxLength: 2 },
  ),
});

const bookingArb = (events: number): fc.Arbitrary<BookingPlan> =>
  fc.record({
    event: fc.oneof(
      { weight: 12, arbitrary: fc.integer({ min: 0, max: events - 1 }) },
      { weight: 1, arbitrary: fc.constant(events) },
    ),
    user: fc.integer({ min: 1, max: 25 }),
    quantity: fc.integer({ min: 1, max: 4 }),
    unitCents: fc.integer({ min: 500, max: 9_999 }),
    currency: fc.constantFrom('USD', 'USD', 'USD', 'USD', 'EUR'),
    createdAt: fc.integer({ min: 0, max: 60 * DAY }),
    created: fc.oneof(
      { weight: 9, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
    confirmAfter: fc.option(fc.integer({ min: 1, max: 3 * 24 * 60 }), { freq: 3 }),
    confirmDiscountCents: fc.oneof(
      { weight: 6, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 400 }) },
    ),
    cancelAfter: fc.option(fc.integer({ min: 60, max: 10 * 24 * 60 }), { freq: 2 }),
    expire: fc.boolean(),
    bare: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    cloud: fc.oneof(
      { weight: 3, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
    confirmEvent: fc.oneof(
      { weight: 7, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: events }) },
    ),
    rivalBareConfirm: fc.oneof(
      { weight: 7, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 600 }) },
    ),
  });

export const streamArb: fc.Arbitrary<StreamPlan> = fc
  .array(eventArb, { minLength: 2, maxLength: 5 })
  .chain((events) =>
    fc.record({
      events: fc.constant(events),
      deletion: fc.record({
        event: fc.integer({ min: 0, max: events.length - 1 }),
        at: fc.integer({ min: 0, max: 60 * DAY }),
        cloud: fc.boolean(),
      }),
      bookings: fc.array(bookingArb(events.length), { minLength: 20, maxLength: 80 }),
      ignored: fc.integer({ min: 0, max: 3 }),
      redeliveries: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 3 })), { maxLength: 25 }),
      shuffleSeed: fc.nat(),
      chunk: fc.integer({ min: 1, max: 40 }),
    }),
  );

interface Timed {
  time: number;
  raw: string;
}

export interface RenderedStream {
  /** Every message once, in order of occurrence. */
  inOrder: string[];
  /** The same messages shuffled, with the redeliveries mixed in. */
  scrambled: string[];
  /** Daily range covering every occurrence (with a day of margin for the reporting zone) and as_of. */
  window: { from: string; to: string; asOf: string };
}

const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 19);
const money = (cents: number): number => cents / 100;
const date = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export function renderStream(plan: StreamPlan, ns: number): RenderedStream {
  const eventId = (i: number) => ns * 100 + i + 1;
  const bookingId = (j: number) => ns * 1000 + j + 1;
  const userId = (u: number) => ns * 100 + u;
  const out: Timed[] = [];

  plan.events.forEach((e, i) => {
    const id = eventId(i);
    const createdAt = BASE + e.createdAt;
    const fields = (capacity: number, name: string) => ({
      name,
      title: name,
      category: e.category,
      capacity,
      price: money(e.priceCents),
      status: 'published',
      event_date: iso(createdAt + 90 * DAY),
      ...(e.timeInEnvelope ? {} : { created_at: iso(createdAt) }),
    });
    const meta = (
      type: 'EventCreated' | 'EventUpdated',
      data: Record<string, unknown>,
      n: number,
    ): string => {
      const envelopeTime = type === 'EventCreated' && e.timeInEnvelope ? iso(createdAt) : undefined;
      if (e.format === 'cloud') {
        const ceType = type === 'EventCreated' ? 'evently.event.created' : 'evently.event.updated';
        return JSON.stringify({
          specversion: '1.0',
          id: `ce-${ns}-event-${id}-${n}`,
          source: '/events',
          type: ceType,
          ...(envelopeTime ? { time: envelopeTime } : {}),
          data: { id, ...data },
        });
      }
      const occurred = envelopeTime ? { occurred_at: envelopeTime } : {};
      if (e.format === 'flat') return JSON.stringify({ type, event_id: id, ...data, ...occurred });
      return JSON.stringify({ type, event_id: id, event_data: { id, ...data }, ...occurred });
    };
    out.push({ time: createdAt, raw: meta('EventCreated', fields(e.capacity, e.name), 0) });
    let t = createdAt;
    e.updates.forEach((u, n) => {
      t += u.after * MINUTE;
      const data = {
        ...fields(u.capacity, u.renamed ? `${e.name} (new date)` : e.name),
        ...(u.clearsCategory ? { category: null } : {}),
        updated_at: iso(t),
      };
      out.push({ time: t, raw: meta('EventUpdated', data, n + 1) });
    });
  });

  const deletedId = eventId(plan.deletion.event);
  const deletedAt = BASE + plan.deletion.at;
  out.push({
    time: deletedAt,
    raw: plan.deletion.cloud
      ? JSON.stringify({
          specversion: '1.0',
          id: `ce-${ns}-delete-${deletedId}`,
          source: '/events',
          type: 'evently.event.deleted',
          time: `${iso(deletedAt)}Z`,
          data: { id: deletedId },
        })
      : JSON.stringify({ type: 'EventDeleted', event_id: deletedId, timestamp: `${iso(deletedAt)}Z` }),
  });

  plan.bookings.forEach((b, j) => {
    const id = bookingId(j);
    const createdAt = BASE + b.createdAt;
    const cents = b.quantity * b.unitCents;
    const facts = {
      id,
      event_id: eventId(b.event),
      user_id: userId(b.user),
      booking_reference: `BK-${id}`,
      quantity: b.quantity,
      total_amount: money(cents),
      currency: b.currency,
      created_at: iso(createdAt),
    };
    const message = (
      type: string,
      ceType: string,
      at: number,
      extra: Record<string, unknown>,
      bare: boolean,
      rival?: string,
    ): Timed => {
      const data = bare ? { id, ...extra } : { ...facts, ...extra };
      const key = rival === undefined ? {} : { message_id: rival };
      const raw = b.cloud
        ? JSON.stringify({
            specversion: '1.0',
            id: rival ?? `ce-${ns}-${type}-${id}`,
            source: '/bookings',
            type: ceType,
            data,
          })
        : JSON.stringify(
            bare
              ? { type, booking_id: id, booking_data: data, ...key }
              : {
                  type,
                  booking_id: id,
                  event_id: 'event_id' in data ? data.event_id : facts.event_id,
                  user_id: facts.user_id,
                  booking_data: data,
                  ...key,
                },
          );
      return { time: at, raw };
    };
    if (b.created)
      out.push(message('BookingCreated', 'evently.booking.created', createdAt, { status: 'pending' }, false));
    let last = createdAt;
    if (b.confirmAfter !== null) {
      last = createdAt + b.confirmAfter * MINUTE;
      const discounted =
        b.confirmDiscountCents === null
          ? {}
          : { total_amount: money(Math.max(0, cents - b.confirmDiscountCents)) };
      const moved = b.confirmEvent === null ? {} : { event_id: eventId(b.confirmEvent) };
      out.push(
        message(
          'BookingConfirmed',
          'evently.booking.confirmed',
          last,
          { status: 'confirmed', confirmed_at: iso(last), ...discounted, ...moved },
          b.bare,
        ),
      );
      if (b.rivalBareConfirm !== null) {
        const at = last - b.rivalBareConfirm * MINUTE;
        out.push(
          message(
            'BookingConfirmed',
            'evently.booking.confirmed',
            at,
            { status: 'confirmed', confirmed_at: iso(at) },
            true,
            `rival-${ns}-${id}`,
          ),
        );
      }
    }
    if (b.expire) {
      const at = createdAt + 15 * MINUTE;
      out.push(
        message(
          'BookingExpired',
          'evently.booking.expired',
          at,
          { status: 'expired', expired_at: iso(at) },
          b.bare,
        ),
      );
    }
    if (b.cancelAfter !== null) {
      const at = last + b.cancelAfter * MINUTE;
      out.push(
        message(
          'BookingCancelled',
          'evently.booking.cancelled',
          at,
          { status: 'cancelled', cancelled_at: iso(at) },
          b.bare,
        ),
      );
    }
  });

  for (let k = 0; k < plan.ignored; k++) {
    out.push({
      time: BASE + k * DAY,
      raw: JSON.stringify({
        type: 'BookingPaymentCompleted',
        booking_id: bookingId(k),
        payment_id: `pay-${ns}-${k}`,
      }),
    });
  }

  const inOrder = out
    .map((m, i) => ({ ...m, i }))
    .sort((a, b) => a.time - b.time || a.i - b.i)
    .map((m) => m.raw);
  const copies = plan.redeliveries.flatMap(([index, times]) =>
    Array.from({ length: times }, () => inOrder[index % inOrder.length] as string),
  );
  const times = out.map((m) => m.time);
  const to = date(Math.max(...times) + DAY);
  return {
    inOrder,
    scrambled: shuffled([...inOrder, ...copies], plan.shuffleSeed),
    window: { from: date(Math.min(...times) - DAY), to, asOf: to },
  };
}
