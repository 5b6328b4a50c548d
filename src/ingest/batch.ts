/**
 * What a batch is to every transport: its items, the result each gets and the batch's, and the
 * bound on its size (a consumer cuts what it reads into parts within it, one transaction each).
 */
import type { RejectReason } from './rejection.ts';

export type Transport = 'stream' | 'pubsub' | 'http' | 'retry' | 'rebuild';

export type Outcome = 'processed' | 'duplicate' | 'ignored' | 'rejected';

export interface IngestItem {
  raw: string;
  transport: Transport;
  channel?: string | undefined;
  /** The event_log row this item re-processes (dead-letter retry); no new row is written. */
  retryOf?: number;
  /** When the service first received it (a retried message keeps its original time, §2c). */
  receivedAt?: number;
}

export interface ItemResult {
  index: number;
  outcome: Outcome;
  reason?: RejectReason;
  key: string | null;
}

export interface BatchResult {
  results: ItemResult[];
  dataVersion: number;
  /** Which read models changed, for cache invalidation and live updates. */
  changed: string[];
  counts: Record<Outcome, number>;
  /** Of those counts, the parked messages the batch released (they are not among its items). */
  released: Record<Outcome, number>;
}

export const noOutcomes = (): Record<Outcome, number> => ({
  processed: 0,
  duplicate: 0,
  ignored: 0,
  rejected: 0,
});

const sumOutcomes = (a: Record<Outcome, number>, b: Record<Outcome, number>): Record<Outcome, number> => ({
  processed: a.processed + b.processed,
  duplicate: a.duplicate + b.duplicate,
  ignored: a.ignored + b.ignored,
  rejected: a.rejected + b.rejected,
});

/**
 * Most characters of message text a consumer hands over in one batch (one message may exceed it
 * alone). Statements carry the texts as JSON or COPY text, several times their size in memory:
 * 5,000 oversized messages of 500 KB in one batch had taken the process to 4.4 GB. The consumers
 * cut their batches with `byteBoundParts` and acknowledge each part as it commits: a batch is one
 * transaction.
 */
export const MAX_BATCH_CHARACTERS = 8 * 1_048_576;

/** Where the parts of a batch end: consecutive items, each part within MAX_BATCH_CHARACTERS. */
export function byteBoundParts(items: readonly { raw: string }[]): number[] {
  const ends: number[] = [];
  let size = 0;
  items.forEach((item, i) => {
    if (i > 0 && size + item.raw.length > MAX_BATCH_CHARACTERS) {
      ends.push(i);
      size = 0;
    }
    size += item.raw.length;
  });
  ends.push(items.length);
  return ends;
}

/** Two parts' results as one batch's: the second's indexes follow the first's `offset` items. */
export function merged(first: BatchResult, second: BatchResult, offset: number): BatchResult {
  return {
    results: [...first.results, ...second.results.map((r) => ({ ...r, index: r.index + offset }))],
    dataVersion: Math.max(first.dataVersion, second.dataVersion),
    changed: [...new Set([...first.changed, ...second.changed])].sort(),
    counts: sumOutcomes(first.counts, second.counts),
    released: sumOutcomes(first.released, second.released),
  };
}
