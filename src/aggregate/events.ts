/** Event metadata: the newest EventCreated/EventUpdated wins; EventDeleted is a tombstone for good. */
import type { EventMetaMessage } from '../ingest/parse.ts';

export interface EventMeta {
  name: string;
  category: string | null;
  capacity: number;
  price: number | null;
  status: string | null;
  eventDate: number | null;
  createdAt: number | null;
  /** Occurrence time of the metadata in force; null for a placeholder. */
  metaTime: number | null;
  deleted: boolean;
}

export const UNKNOWN_EVENT_NAME = 'Unknown Event';

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
    deleted: false,
  };
}

const earliest = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a == null ? (b ?? null) : b == null ? a : Math.min(a, b);

/**
 * Applies metadata when it is at least as new as what is in force (ties: the later message).
 * `created_at` is the earliest creation time seen, whichever message carried it, so an update
 * that arrives before its EventCreated does not lose it.
 */
export function mergeEventMeta(current: EventMeta | undefined, m: EventMetaMessage): EventMeta {
  if (current?.deleted) return current;
  const createdAt = earliest(current?.createdAt, m.createdAt);
  if (current && current.metaTime !== null && m.time < current.metaTime) {
    return createdAt === current.createdAt ? current : { ...current, createdAt };
  }
  return {
    name: m.name ?? current?.name ?? UNKNOWN_EVENT_NAME,
    category: m.category ?? current?.category ?? null,
    capacity: m.capacity ?? current?.capacity ?? 0,
    price: m.price ?? current?.price ?? null,
    status: m.status ?? current?.status ?? null,
    eventDate: m.eventDate ?? current?.eventDate ?? null,
    createdAt,
    metaTime: m.time,
    deleted: false,
  };
}

export function deleteEvent(current: EventMeta | undefined): EventMeta {
  return { ...(current ?? placeholderEvent()), deleted: true };
}
