/**
 * The probe the pipeline runs when a message fails alone: known-good messages it processes and
 * rolls back, to tell a poison message (the probe goes through) from a broken service (it fails).
 */
import { randomUUID } from 'node:crypto';
import type { IngestItem } from './batch.ts';

/** The known-good batch of the probe (canProcess): every kind of message, each path of the writes. */
export function probeMessages(now: number): IngestItem[] {
  const id = Number.MAX_SAFE_INTEGER;
  const run = randomUUID();
  const at = (minutes: number) => new Date(now + minutes * 60_000).toISOString();
  const booking = { id, event_id: id, user_id: id, quantity: 1, total_amount: 1, currency: 'USD' };
  const messages = [
    { type: 'EventCreated', event_id: id, event_data: { id, name: 'probe', capacity: 1, created_at: at(0) } },
    { type: 'EventUpdated', event_id: id, event_data: { id, capacity: 2, updated_at: at(1) } },
    { type: 'BookingCreated', booking_id: id, booking_data: { ...booking, created_at: at(2) } },
    { type: 'BookingConfirmed', booking_id: id, booking_data: { ...booking, confirmed_at: at(3) } },
    { type: 'BookingCancelled', booking_id: id, booking_data: { ...booking, cancelled_at: at(4) } },
    { type: 'UserDeactivated', user_id: id, occurred_at: at(5) },
  ];
  return messages.map((m, i) => ({
    raw: JSON.stringify({ ...m, message_id: `evently-analytics-probe:${run}:${i}` }),
    transport: 'http',
  }));
}
