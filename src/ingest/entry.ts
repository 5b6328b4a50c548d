/**
 * A message of a batch as the pipeline tracks it (an entry): parsed once, its outcome settled as
 * the batch goes, and the log row it leaves.
 */
import type { BatchPlan } from '../aggregate/batch.ts';
import type { LogRow } from '../store/event-log.repository.ts';
import type { NormalizedMessage } from '../aggregate/messages.ts';
import { parseMessage, type ParseResult } from './parse.ts';
import type { RejectReason } from './rejection.ts';
import type { ChangeNotice } from '../platform/bus.ts';
import type { IngestItem, Outcome } from './batch.ts';

export interface Entry {
  item: IngestItem;
  parsed: ParseResult;
  outcome: Outcome;
  reason?: RejectReason;
  detail?: string;
  key: string | null;
  /** Index into the caller's items; parked retries pulled in by the batch have none. */
  index: number | undefined;
  /** When the service first received it: its occurrence time when it has none of its own. */
  receivedAt: number;
}

function typeOf(parsed: ParseResult): string | null {
  if (parsed.outcome === 'ignored') return parsed.type;
  if (parsed.outcome === 'rejected') return null;
  const m = parsed.message;
  return m.kind === 'booking' ? `booking.${m.transition}` : m.kind;
}

export function logRowOf(e: Entry, outcome: Outcome): LogRow {
  return {
    transport: e.item.transport,
    channel: e.item.channel ?? null,
    outcome,
    reason: e.reason ?? null,
    detail: e.detail ?? null,
    key: outcome === 'processed' || outcome === 'duplicate' ? e.key : null,
    messageType: typeOf(e.parsed),
    bookingId: bookingIdOf(e.parsed),
    raw: e.item.raw,
    receivedAt: e.receivedAt,
  };
}

export function messageOf(e: Entry): NormalizedMessage {
  if (e.parsed.outcome !== 'valid') throw new Error('messageOf: entry is not valid');
  return e.parsed.message;
}

function bookingIdOf(parsed: ParseResult): number | null {
  return parsed.outcome === 'valid' && parsed.message.kind === 'booking' ? parsed.message.bookingId : null;
}

export function toEntry(item: IngestItem, index: number | undefined, now: number): Entry {
  const receivedAt = item.receivedAt ?? now;
  const parsed = parseMessage(item.raw, receivedAt);
  if (parsed.outcome === 'rejected') {
    return {
      item,
      parsed,
      outcome: 'rejected',
      reason: parsed.reason,
      detail: parsed.detail,
      key: null,
      index,
      receivedAt,
    };
  }
  if (parsed.outcome === 'ignored') return { item, parsed, outcome: 'ignored', key: null, index, receivedAt };
  return { item, parsed, outcome: 'processed', key: parsed.message.key, index, receivedAt };
}

/** Every read model that holds figures (a rebuild or a cache clear may change any of them). */
export const EVERY_FIGURE_MODEL = ['capacity', 'daily', 'events', 'revenue', 'system', 'top-events'] as const;

/** The notice of a change that may touch any figure (a rebuild, a cache clear, a missed commit). */
export function everyFigureChanged(dataVersion: number): ChangeNotice {
  return { data_version: dataVersion, changed: [...EVERY_FIGURE_MODEL] };
}

export function changedModels(plan: BatchPlan): string[] {
  const changed = new Set<string>();
  if (plan.bookings.size > 0)
    ['events', 'daily', 'system', 'revenue', 'capacity', 'top-events'].forEach((m) => changed.add(m));
  if (plan.events.size > 0)
    ['events', 'system', 'capacity', 'top-events', 'revenue'].forEach((m) => changed.add(m));
  if (plan.userStatus.size > 0) changed.add('users');
  return [...changed].sort();
}

/**
 * Settles what the plan decided: a transition for an unknown booking is a dead letter, and a second
 * copy of a message in the batch shares the first one's fate (a duplicate if it counted).
 */
export function settleFates(
  plan: BatchPlan,
  fresh: readonly Entry[],
  copies: readonly [Entry, Entry][],
): void {
  plan.verdicts.forEach((verdict, i) => {
    const e = fresh[i] as Entry;
    if (verdict === 'unknown_booking') {
      e.outcome = 'rejected';
      e.reason = 'unknown_booking';
      e.detail = 'a transition for an unknown booking must carry event_id, quantity and total_amount';
    }
  });
  for (const [copy, first] of copies) {
    if (first.outcome === 'processed') copy.outcome = 'duplicate';
    else {
      copy.outcome = first.outcome;
      if (first.reason) copy.reason = first.reason;
      if (first.detail) copy.detail = first.detail;
    }
  }
}

/** What settled entries change in the event log: new rows for new messages, new outcomes for retried ones. */
export function logChanges(entries: readonly Entry[]): {
  rows: LogRow[];
  outcomes: { id: number; outcome: string; reason: string | null; key: string | null }[];
} {
  return {
    rows: entries.filter((e) => e.item.retryOf === undefined).map((e) => logRowOf(e, e.outcome)),
    outcomes: entries
      .filter((e) => e.item.retryOf !== undefined)
      .map((e) => ({
        id: e.item.retryOf as number,
        outcome: e.outcome,
        reason: e.reason ?? null,
        key: e.outcome === 'processed' ? e.key : null,
      })),
  };
}
