/** One run at a time of an operation (a rebuild, a reconcile) in this process. */
import { DomainError } from '../api/errors.ts';

/** How long a refused caller is told to wait before it asks again. */
const RETRY_AFTER_SECONDS = 5;

/**
 * One run at a time of an operation in this process. A call that arrives during a run of the same
 * kind gets that run's answer, or its error (a double click, a client retrying after its own
 * timeout: the run it joins began before it asked), rather than a run of its own queued behind the
 * first. A call of another kind is refused with 409 until the run ends; a run that failed does not
 * stay: the next call starts afresh.
 *
 * @example
 * const rebuilds = oneAtATime<Report>();
 * const report = await rebuilds(force ? 'forced rebuild' : 'rebuild', () => rebuild(force));
 */
export function oneAtATime<T>(): (kind: string, run: () => Promise<T>) => Promise<T> {
  let current: { kind: string; answer: Promise<T> } | undefined;
  return (kind, run) => {
    if (current?.kind === kind) return current.answer;
    if (current)
      return Promise.reject(
        new DomainError(
          409,
          'Conflict',
          `a ${current.kind} is running on this instance: retry when it is done`,
          {
            'retry-after': String(RETRY_AFTER_SECONDS),
          },
        ),
      );
    const answer = run().finally(() => (current = undefined));
    current = { kind, answer };
    return answer;
  };
}
