/** Event metadata: the newest EventCreated/EventUpdated wins; EventDeleted is a tombstone for good. */
import type { EventMetaMessage } from './messages.ts';

/** The metadata fields an EventCreated/EventUpdated may carry. */
export const META_FIELDS = ['name', 'category', 'capacity', 'price', 'status', 'eventDate'] as const;
export type MetaField = (typeof META_FIELDS)[number];

export interface EventMeta {
  name: string;
  category: string | null;
  capacity: number;
  price: number | null;
  status: string | null;
  eventDate: number | null;
  createdAt: number | null;
  /** Occurrence time of the newest metadata message applied; null for a placeholder. */
  metaTime: number | null;
  /** Per field, the occurrence time of the message its value came from. */
  fieldTimes: Partial<Record<MetaField, number>>;
  deleted: boolean;
}

export const UNKNOWN_EVENT_NAME = 'Unknown Event';

const MARKS = /\p{M}/gu;

/**
 * How a name sorts and is searched: without accents, case folded (ß as ss, İ and ı as i), the same
 * on every deployment whatever its database collation. Names then sort by this key, then as written.
 */
export function nameKey(name: string): string {
  const bare = (s: string) => s.normalize('NFKD').replace(MARKS, '');
  return bare(bare(name).toUpperCase().toLowerCase());
}

export function placeholderEvent(): EventMeta {
  return {
    name: UNKNOWN_EVENT_NAME,
    category: null,
    capacity: 0,
    price: null,
    status: null,
    eventDate: null,
    createdAt: null,
    metaTime: null,
    fieldTimes: {},
    deleted: false,
  };
}

const earliest = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a == null ? (b ?? null) : b == null ? a : Math.min(a, b);

/**
 * Each field takes its value from the newest message that carries it (ties: the later message),
 * so an update that leaves fields out gives the same event whichever message arrived first; a
 * field sent as null (category, price, status, event date) is carried: the newest message cleared it.
 * `created_at` is the earliest creation time seen, whichever message carried it.
 */
export function mergeEventMeta(current: EventMeta | undefined, m: EventMetaMessage): EventMeta {
  if (current?.deleted) return current;
  const base = current ?? placeholderEvent();
  const next: EventMeta = { ...base, fieldTimes: { ...base.fieldTimes } };
  let changed = current === undefined;
  for (const field of META_FIELDS) {
    const value = m[field];
    if (value === undefined) continue;
    const since = base.fieldTimes[field];
    if (since !== undefined && m.time < since) continue;
    (next as unknown as Record<MetaField, unknown>)[field] = value;
    next.fieldTimes[field] = m.time;
    changed = true;
  }
  const createdAt = earliest(base.createdAt, m.createdAt);
  if (createdAt !== base.createdAt) changed = true;
  next.createdAt = createdAt;
  const metaTime = base.metaTime === null ? m.time : Math.max(base.metaTime, m.time);
  if (metaTime !== base.metaTime) changed = true;
  next.metaTime = metaTime;
  return changed ? next : base;
}

export function deleteEvent(current: EventMeta | undefined): EventMeta {
  return { ...(current ?? placeholderEvent()), deleted: true };
}
