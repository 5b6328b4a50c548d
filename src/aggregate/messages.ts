/**
 * What the aggregation core takes in: messages as the ingest parser normalizes them from any
 * envelope (ids, times in ms since epoch, money in units), whatever transport brought them.
 */

export type Transition = 'created' | 'confirmed' | 'expired' | 'cancelled';

export interface BookingAttrs {
  eventId?: number;
  userId?: number;
  quantity?: number;
  /** Money in 1/10,000 of the currency unit (exact for any 2- to 4-decimal amount). */
  amount?: number;
  currency?: string;
}

export interface BookingMessage extends BookingAttrs {
  kind: 'booking';
  key: string;
  transition: Transition;
  bookingId: number;
  /** Occurrence time, ms since epoch. */
  time: number;
}

export interface EventMetaMessage {
  kind: 'event_meta';
  key: string;
  eventId: number;
  time: number;
  /** Each metadata field: undefined when the message does not carry it; null when sent as null (cleared). */
  name: string | undefined;
  category: string | null | undefined;
  capacity: number | undefined;
  price: number | null | undefined;
  status: string | null | undefined;
  eventDate: number | null | undefined;
  createdAt: number | null;
}

export interface EventDeletedMessage {
  kind: 'event_deleted';
  key: string;
  eventId: number;
  time: number;
}

export interface UserStatusMessage {
  kind: 'user_status';
  key: string;
  userId: number;
  disabled: boolean;
  time: number;
}

export type NormalizedMessage = BookingMessage | EventMetaMessage | EventDeletedMessage | UserStatusMessage;
