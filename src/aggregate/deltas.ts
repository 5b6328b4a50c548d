/**
 * What a booking contributes to every stored figure, and the sums of those contributions per key.
 * A state change is applied as contribution(new) − contribution(old), so the stored figures are
 * always the sum over bookings of their current contribution, whatever the arrival order.
 */
import type { DerivedBooking } from './booking.ts';
import { bucketOf } from './time.ts';

export interface EventStatsDelta {
  total: number;
  pending: number;
  confirmed: number;
  cancelled: number;
  expired: number;
  ticketsSold: number;
  seatsHeld: number;
  /** Money units (money.ts), summed as bigint: exact however large the sum. */
  revenue: bigint;
  confirmedBase: number;
}

/** Flows of one period (a UTC quarter-hour, or a local day). */
export interface FlowDelta {
  newBookings: number;
  confirmed: number;
  cancelled: number;
  expired: number;
  /** Net revenue: + confirmed amount − amount cancelled after confirmation (base currency, units). */
  revenue: bigint;
  /** Gross confirmed amount (base currency, units), for the average booking value. */
  grossConfirmed: bigint;
  confirmedBase: number;
  /** Users whose first booking falls in the period. */
  newUsers: number;
}

/** Flows of one event in one period; `transitions` drives active_events. */
export interface EventFlowDelta extends FlowDelta {
  transitions: number;
}

const zeroStats = (): EventStatsDelta => ({
  total: 0,
  pending: 0,
  confirmed: 0,
  cancelled: 0,
  expired: 0,
  ticketsSold: 0,
  seatsHeld: 0,
  revenue: 0n,
  confirmedBase: 0,
});
export const zeroFlow = (): FlowDelta => ({
  newBookings: 0,
  confirmed: 0,
  cancelled: 0,
  expired: 0,
  revenue: 0n,
  grossConfirmed: 0n,
  confirmedBase: 0,
  newUsers: 0,
});
// zeroFlow()'s object with one more property: one fast, fixed shape (a spread copy,
// `{ ...zeroFlow(), transitions: 0 }`, is much slower to add to, and these are added to once per
// transition).
const zeroEventFlow = (): EventFlowDelta => Object.assign(zeroFlow(), { transitions: 0 });

function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

export interface CurrencyDelta {
  confirmed: number;
  /** Money units (money.ts). */
  amount: bigint;
}

export class DeltaSet {
  readonly events = new Map<number, EventStatsDelta>();
  /** `${eventId}|${currency}` → confirmed bookings in a non-base currency and their amount. */
  readonly otherCurrency = new Map<string, CurrencyDelta>();
  readonly buckets = new Map<number, FlowDelta>();
  /** `${bucket}|${eventId}` */
  readonly bucketEvents = new Map<string, EventFlowDelta>();
  readonly days = new Map<string, FlowDelta>();
  /** `${day}|${eventId}` */
  readonly dayEvents = new Map<string, EventFlowDelta>();
  /** user id → change in the number of bookings. */
  readonly userBookings = new Map<number, number>();
  /** day → change in the number of distinct events with a transition that day. */
  readonly dayActiveEvents = new Map<string, number>();
  totals = { bookings: 0, revenue: 0n, users: 0 };

  constructor(
    private readonly baseCurrency: string,
    private readonly dayOfBucket: (bucket: number) => string,
  ) {}

  /** Adds (sign = 1) or removes (sign = −1) everything one booking contributes. */
  addBooking(b: DerivedBooking, sign: 1 | -1): void {
    const base = b.currency === this.baseCurrency;
    const amount = BigInt(sign * b.amount);
    const stats = entry(this.events, b.eventId, zeroStats);
    stats.total += sign;
    stats[b.status] += sign;
    if (b.status === 'confirmed') {
      stats.ticketsSold += sign * b.quantity;
      if (base) {
        stats.revenue += amount;
        stats.confirmedBase += sign;
      } else {
        const other = entry(this.otherCurrency, `${b.eventId}|${b.currency}`, () => ({
          confirmed: 0,
          amount: 0n,
        }));
        other.confirmed += sign;
        other.amount += amount;
      }
    }
    if (b.status === 'pending' || b.status === 'confirmed') stats.seatsHeld += sign * b.quantity;
    this.totals.bookings += sign;
    if (b.status === 'confirmed' && base) this.totals.revenue += amount;
    if (b.userId !== undefined)
      this.userBookings.set(b.userId, (this.userBookings.get(b.userId) ?? 0) + sign);

    if (b.createdAt !== undefined) this.flow(b.createdAt, b.eventId, sign, (f) => (f.newBookings += sign));
    if (b.confirmedAt !== undefined) {
      this.flow(b.confirmedAt, b.eventId, sign, (f) => {
        f.confirmed += sign;
        if (base) {
          f.revenue += amount;
          f.grossConfirmed += amount;
          f.confirmedBase += sign;
        }
      });
    }
    if (b.cancelledAt !== undefined) {
      this.flow(b.cancelledAt, b.eventId, sign, (f) => {
        f.cancelled += sign;
        if (base && b.confirmedAt !== undefined) f.revenue -= amount;
      });
    }
    if (b.expiredAt !== undefined) this.flow(b.expiredAt, b.eventId, sign, (f) => (f.expired += sign));
  }

  /** A user's first booking moved (or appeared, or vanished): move their new-user mark. */
  moveFirstBooking(before: number | undefined, after: number | undefined): void {
    if (before === after) return;
    for (const [time, sign] of [
      [before, -1],
      [after, 1],
    ] as const) {
      if (time === undefined) continue;
      const bucket = bucketOf(time);
      entry(this.buckets, bucket, zeroFlow).newUsers += sign;
      entry(this.days, this.dayOfBucket(bucket), zeroFlow).newUsers += sign;
    }
  }

  /** Counts a user in total_users when their bookings go from none to some, and back. */
  countUser(bookingsBefore: number, bookingsAfter: number): void {
    if (bookingsBefore <= 0 && bookingsAfter > 0) this.totals.users += 1;
    else if (bookingsBefore > 0 && bookingsAfter <= 0) this.totals.users -= 1;
  }

  /**
   * active_events of a day changes when an event's transitions that day go from none to some or
   * back; `stored` holds the transitions already stored for the touched `${day}|${eventId}` keys.
   */
  applyActiveEventCrossings(stored: ReadonlyMap<string, number>): void {
    for (const [key, flow] of this.dayEvents) {
      if (flow.transitions === 0) continue;
      const before = stored.get(key) ?? 0;
      const after = before + flow.transitions;
      const change = before <= 0 && after > 0 ? 1 : before > 0 && after <= 0 ? -1 : 0;
      if (change === 0) continue;
      const day = key.slice(0, key.indexOf('|'));
      this.dayActiveEvents.set(day, (this.dayActiveEvents.get(day) ?? 0) + change);
    }
  }

  private flow(time: number, eventId: number, sign: number, apply: (f: FlowDelta) => void): void {
    const bucket = bucketOf(time);
    const day = this.dayOfBucket(bucket);
    apply(entry(this.buckets, bucket, zeroFlow));
    apply(entry(this.days, day, zeroFlow));
    const be = entry(this.bucketEvents, `${bucket}|${eventId}`, zeroEventFlow);
    apply(be);
    be.transitions += sign;
    const de = entry(this.dayEvents, `${day}|${eventId}`, zeroEventFlow);
    apply(de);
    de.transitions += sign;
  }
}

/** Drops entries whose every field is zero, so unchanged keys cost no write. */
export function nonZero<K, V extends object>(map: Map<K, V>): [K, V][] {
  return [...map].filter(([, v]) => Object.values(v).some((n) => n !== 0 && n !== 0n));
}
