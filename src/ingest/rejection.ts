/**
 * The reasons a message is refused (shared/spec/events.md §4), and the throw that carries one out of
 * the parser's depths to `parseMessage`, which turns it into a verdict.
 */
export const REJECT_REASONS = [
  'too_large',
  'invalid_json',
  'not_object',
  'missing_type',
  'unknown_type',
  'missing_booking_id',
  'missing_event_id',
  // A UserDeactivated / UserReactivated without a user_id (messages the spec's list predates).
  'missing_user_id',
  'invalid_quantity',
  'invalid_amount',
  'invalid_capacity',
  'invalid_timestamp',
  'unknown_booking',
  // Valid on its face, but processing it failed (a bug or a data conflict): kept for a retry.
  'processing_error',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export class Rejection extends Error {
  constructor(
    readonly reason: RejectReason,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export const reject = (reason: RejectReason, detail: string): never => {
  throw new Rejection(reason, detail);
};
