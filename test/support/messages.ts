/** Evently-format envelopes (shared/spec/events.md §2a) for tests and benches. */

const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 19);

export interface EventFacts {
  id: number;
  name: string;
  category: string;
  capacity: number;
  price: number;
  createdAt: number;
  eventDate: number;
}

export function eventCreated(e: EventFacts): string {
  return JSON.stringify({
    type: 'EventCreated',
    event_id: e.id,
    event_data: {
      id: e.id,
      name: e.name,
      title: e.name,
      category: e.category,
      capacity: e.capacity,
      price: e.price,
      status: 'published',
      event_date: iso(e.eventDate),
      created_at: iso(e.createdAt),
    },
  });
}

export interface BookingFacts {
  id: number;
  eventId: number;
  userId: number;
  quantity: number;
  totalAmount: number;
  currency?: string;
  createdAt: number;
}

export type BookingType =
  'BookingCreated' | 'BookingConfirmed' | 'BookingCancelled' | 'BookingExpired' | 'BookingPaymentCompleted';

const STATUS: Record<BookingType, { status: string; payment: string; at: string | null }> = {
  BookingCreated: { status: 'pending', payment: 'pending', at: null },
  BookingConfirmed: { status: 'confirmed', payment: 'completed', at: 'confirmed_at' },
  BookingCancelled: { status: 'cancelled', payment: 'refunded', at: 'cancelled_at' },
  BookingExpired: { status: 'expired', payment: 'failed', at: 'expired_at' },
  BookingPaymentCompleted: { status: 'confirmed', payment: 'completed', at: 'payment_completed_at' },
};

/** A booking message; `at` is when the transition happened (ignored for BookingCreated). */
export function bookingMessage(type: BookingType, b: BookingFacts, at = b.createdAt): string {
  const s = STATUS[type];
  return JSON.stringify({
    type,
    booking_id: b.id,
    event_id: b.eventId,
    user_id: b.userId,
    booking_data: {
      id: b.id,
      event_id: b.eventId,
      user_id: b.userId,
      booking_reference: `BK-${b.id}`,
      quantity: b.quantity,
      total_amount: b.totalAmount,
      currency: b.currency ?? 'USD',
      status: s.status,
      payment_status: s.payment,
      created_at: iso(b.createdAt),
      expires_at: iso(b.createdAt + 15 * 60_000),
      ...(s.at ? { [s.at]: iso(at) } : {}),
      ...(type === 'BookingCancelled' ? { cancellation_reason: 'customer request' } : {}),
    },
  });
}

const DAY = 86_400_000;

/** Event 7, "Jazz Night" (500 seats at 40 USD): the event the integration tests ingest. */
export function jazzNight(createdAt: number, eventDate: number): EventFacts {
  return { id: 7, name: 'Jazz Night', category: 'music', capacity: 500, price: 40, createdAt, eventDate };
}

/** Booking `id` for Jazz Night: two tickets, 80 USD, by user 100 + id. */
export function jazzBooking(id: number, createdAt: number): BookingFacts {
  return { id, eventId: 7, userId: 100 + id, quantity: 2, totalAmount: 80, createdAt };
}

/**
 * Jazz Night around `day`: announced the day before and held 30 days later, booking `id` made `id`
 * minutes after `day`, and `lifecycle`: the event, two bookings, the first confirmed five minutes
 * after `day` (four messages, all processed).
 */
export function jazzNightAround(day: number): {
  event: EventFacts;
  booking: (id: number) => BookingFacts;
  lifecycle: string[];
} {
  const event = jazzNight(day - DAY, day + 30 * DAY);
  const booking = (id: number) => jazzBooking(id, day + id * 60_000);
  const lifecycle = [
    eventCreated(event),
    bookingMessage('BookingCreated', booking(1)),
    bookingMessage('BookingCreated', booking(2)),
    bookingMessage('BookingConfirmed', booking(1), day + 5 * 60_000),
  ];
  return { event, booking, lifecycle };
}
