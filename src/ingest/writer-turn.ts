/**
 * A caller that waits for its batch's answer (HTTP) waits for the writer only so long: past its
 * bound, unless the batch holds the writer by then, it is told the writer is busy.
 */
import { DatabaseUnavailableError } from '../platform/db-guard.ts';
import type { BatchResult } from './batch.ts';

/** A waiting caller's bound: abandoned at the deadline unless the batch holds the writer by then. */
export interface Turn {
  waitMs: number;
  deadline: number;
  abandoned: boolean;
  locked: boolean;
}

/** A batch that did not get the writer in time: nothing of it was written, and its caller may say so. */
export class WriterBusyError extends DatabaseUnavailableError {
  constructor(waitMs: number, cause?: unknown) {
    super(
      `the writer was busy for ${waitMs / 1000} s (a rebuild, the retention or a long batch holds it; embedded, a reconcile too); ` +
        'nothing of this batch was written: send it again',
      5_000,
      { cause },
    );
    this.name = 'WriterBusyError';
  }
}

/** The batch's answer; or, at the deadline, unless it holds the writer by then, the writer being busy. */
export function answeredInTime(work: Promise<BatchResult>, turn: Turn): Promise<BatchResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      if (turn.locked) return;
      turn.abandoned = true;
      reject(new WriterBusyError(turn.waitMs));
    }, turn.waitMs);
    void work.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
