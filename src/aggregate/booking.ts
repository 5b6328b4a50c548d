/**
 * A booking's state is the set of transitions seen, one slot per transition. Everything reported
 * about a booking is derived from that set, so any arrival order of the same messages gives the
 * same booking (metrics.md, Booking model).
 */
import type { BookingAttrs, BookingMessage, Transition } from './messages.ts';

export interface TransitionRecord extends BookingAttrs {
  /** Occurrence time, ms since epoch. */
  t: number;
}

export type BookingState = Partial<Record<Transition, TransitionRecord>>;

export type Status = 'pending' | 'confirmed' | 'expired' | 'cancelled';

/** Precedence, lowest first: pending(Created) < confirmed < expired < cancelled. */
export const PRECEDENCE: readonly Transition[] = ['created', 'confirmed', 'expired', 'cancelled'];

const STATUS_OF: Record<Transition, Status> = {
  created: 'pending',
  confirmed: 'confirmed',
  expired: 'expired',
  cancelled: 'cancelled',
};

export interface DerivedBooking {
  eventId: number;
  userId: number | undefined;
  quantity: number;
  amount: number;
  currency: string;
  status: Status;
  createdAt: number | undefined;
  confirmedAt: number | undefined;
  cancelledAt: number | undefined;
  expiredAt: number | undefined;
}

function recordOf(message: BookingMessage): TransitionRecord {
  const record: TransitionRecord = { t: message.time };
  if (message.eventId !== undefined) record.eventId = message.eventId;
  if (message.userId !== undefined) record.userId = message.userId;
  if (message.quantity !== undefined) record.quantity = message.quantity;
  if (message.amount !== undefined) record.amount = message.amount;
  if (message.currency !== undefined) record.currency = message.currency;
  return record;
}

function recordKey(r: TransitionRecord): string {
  return JSON.stringify([r.t, r.eventId, r.userId, r.quantity, r.amount, r.currency]);
}

/**
 * Adds a transition. When two different messages claim the same slot the earlier time wins
 * (then the smaller record), so the result never depends on which arrived first.
 * Returns the same object when nothing changes.
 */
export function applyTransition(state: BookingState, message: BookingMessage): BookingState {
  const incoming = recordOf(message);
  const current = state[message.transition];
  if (current) {
    if (current.t < incoming.t) return state;
    if (current.t === incoming.t && recordKey(current) <= recordKey(incoming)) return state;
  }
  return { ...state, [message.transition]: incoming };
}

/** Whether a booking has what it needs to be counted: an event, a quantity and an amount. */
export function isKnown(state: BookingState): boolean {
  return derive(state, 'USD') !== undefined;
}

/** Whether a transition message could stand on its own for a booking nobody has seen. */
export function carriesBookingFacts(message: BookingMessage): boolean {
  return message.eventId !== undefined && message.quantity !== undefined && message.amount !== undefined;
}

function attr<K extends keyof BookingAttrs>(state: BookingState, key: K): BookingAttrs[K] {
  for (let i = PRECEDENCE.length - 1; i >= 0; i--) {
    const record = state[PRECEDENCE[i] as Transition];
    if (record && record[key] !== undefined) return record[key];
  }
  return undefined;
}

/** The booking as the metrics see it; undefined while it lacks an event, quantity or amount. */
export function derive(state: BookingState, baseCurrency: string): DerivedBooking | undefined {
  const eventId = attr(state, 'eventId');
  const quantity = attr(state, 'quantity');
  const amount = attr(state, 'amount');
  if (eventId === undefined || quantity === undefined || amount === undefined) return undefined;
  let status: Status | undefined;
  for (const transition of PRECEDENCE) if (state[transition]) status = STATUS_OF[transition];
  if (!status) return undefined;
  return {
    eventId,
    userId: attr(state, 'userId'),
    quantity,
    amount,
    currency: attr(state, 'currency') ?? baseCurrency,
    status,
    createdAt: state.created?.t,
    confirmedAt: state.confirmed?.t,
    cancelledAt: state.cancelled?.t,
    expiredAt: state.expired?.t,
  };
}
