/**
 * A realistic, reproducible Evently message mix (seeded): ~500 events, then bookings over 180 days
 * with their transitions, payment notices (ignored by the service) and ~2% re-deliveries.
 */
import {
  bookingMessage,
  eventCreated,
  type BookingFacts,
  type EventFacts,
} from '../test/support/messages.ts';
import { mulberry32 } from '../test/support/seeded-random.ts';

const DAY = 86_400_000;
const MINUTE = 60_000;
const CATEGORIES = ['music', 'tech', 'sports', 'theatre', 'comedy', 'food', 'art', 'business'];

export interface Workload {
  messages: string[];
  /** What the service must end with once every message was handled. */
  expected: { processed: number; duplicates: number; ignored: number; rejected: number; bookings: number };
}

interface Timed {
  at: number;
  raw: string;
  ignored: boolean;
}

export function generateWorkload(
  minMessages: number,
  seed = 42,
  eventCount = 500,
  userCount = 40_000,
): Workload {
  const rnd = mulberry32(seed);
  const between = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const start = Date.UTC(2026, 0, 1);
  const spanDays = 180;
  const timed: Timed[] = [];

  const events: EventFacts[] = [];
  for (let id = 1; id <= eventCount; id++) {
    const createdAt = start - between(1, 60) * DAY + between(0, 86_399) * 1000;
    const event: EventFacts = {
      id,
      name: `Event ${id}`,
      category: CATEGORIES[id % CATEGORIES.length] as string,
      capacity: between(1, 40) * 50,
      price: between(5, 300),
      createdAt,
      eventDate: start + between(10, spanDays + 60) * DAY,
    };
    events.push(event);
    timed.push({ at: createdAt, raw: eventCreated(event), ignored: false });
  }

  // ~2.35 messages per booking on average (see the transition mix below).
  const bookingCount = Math.ceil(minMessages / 2.35 / 1.02) + 1;
  for (let id = 1; id <= bookingCount; id++) {
    // Popular events get most bookings.
    const event = events[Math.floor(eventCount * rnd() ** 2)] as EventFacts;
    const quantity = between(1, 4);
    const pick = rnd();
    const currency = pick < 0.9 ? 'USD' : pick < 0.97 ? 'EUR' : 'GBP';
    const booking: BookingFacts = {
      id,
      eventId: event.id,
      userId: between(1, userCount),
      quantity,
      totalAmount: Math.round(event.price * quantity * 100) / 100,
      currency,
      createdAt: start + Math.floor(rnd() * spanDays * DAY),
    };
    timed.push({ at: booking.createdAt, raw: bookingMessage('BookingCreated', booking), ignored: false });
    const fate = rnd();
    if (fate < 0.7) {
      const confirmedAt = booking.createdAt + between(1, 10) * MINUTE;
      timed.push({
        at: confirmedAt,
        raw: bookingMessage('BookingConfirmed', booking, confirmedAt),
        ignored: false,
      });
      if (rnd() < 0.6) {
        timed.push({
          at: confirmedAt,
          raw: bookingMessage('BookingPaymentCompleted', booking, confirmedAt),
          ignored: true,
        });
      }
      if (rnd() < 0.05) {
        const cancelledAt = confirmedAt + between(1, 240) * 60 * MINUTE;
        timed.push({
          at: cancelledAt,
          raw: bookingMessage('BookingCancelled', booking, cancelledAt),
          ignored: false,
        });
      }
    } else if (fate < 0.82) {
      const expiredAt = booking.createdAt + 15 * MINUTE;
      timed.push({
        at: expiredAt,
        raw: bookingMessage('BookingExpired', booking, expiredAt),
        ignored: false,
      });
    } else if (fate < 0.92) {
      const cancelledAt = booking.createdAt + between(1, 600) * MINUTE;
      timed.push({
        at: cancelledAt,
        raw: bookingMessage('BookingCancelled', booking, cancelledAt),
        ignored: false,
      });
    }
  }
  timed.sort((a, b) => a.at - b.at);

  // Re-deliveries land a little after the original, as a producer retry would.
  const messages: string[] = [];
  const later = new Map<number, Timed[]>();
  let duplicates = 0;
  let ignored = 0;
  for (let i = 0; i < timed.length; i++) {
    const m = timed[i] as Timed;
    for (const copy of later.get(i) ?? []) {
      messages.push(copy.raw);
      if (copy.ignored) ignored++;
      else duplicates++;
    }
    later.delete(i);
    messages.push(m.raw);
    if (m.ignored) ignored++;
    if (rnd() < 0.02) {
      const due = Math.min(timed.length - 1, i + between(1, 5_000));
      if (due > i) later.set(due, [...(later.get(due) ?? []), m]);
    }
  }
  const processed = messages.length - duplicates - ignored;
  return { messages, expected: { processed, duplicates, ignored, rejected: 0, bookings: bookingCount } };
}
