import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/api/errors.ts';
import { oneAtATime } from '../../src/ingest/one-at-a-time.ts';

/** A run that ends when the test says so. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('one run at a time', () => {
  it('gives a call that arrives during a run of its kind that run, and runs again once it ended', async () => {
    const runs = oneAtATime<number>();
    const first = deferred<number>();
    let started = 0;
    const run = () => {
      started++;
      return first.promise;
    };
    const a = runs('rebuild', run);
    const b = runs('rebuild', run);
    first.resolve(7);
    expect(await Promise.all([a, b])).toEqual([7, 7]);
    expect(started).toBe(1);
    expect(await runs('rebuild', () => Promise.resolve(8))).toBe(8);
  });

  it('gives the joined callers the run’s error, and does not keep a failed run', async () => {
    const runs = oneAtATime<number>();
    const failing = deferred<number>();
    const a = runs('rebuild', () => failing.promise);
    const b = runs('rebuild', () => Promise.resolve(1));
    failing.reject(new Error('the database went away'));
    await expect(a).rejects.toThrow('the database went away');
    await expect(b).rejects.toThrow('the database went away');
    expect(await runs('rebuild', () => Promise.resolve(2))).toBe(2);
  });

  it('refuses a call of another kind with 409 and when to retry, until the run ends', async () => {
    const runs = oneAtATime<number>();
    const plain = deferred<number>();
    const a = runs('rebuild', () => plain.promise);
    const refused = await runs('forced rebuild', () => Promise.resolve(3)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({
      status: 409,
      message: 'a rebuild is running on this instance: retry when it is done',
      headers: { 'retry-after': '5' },
    });
    plain.resolve(1);
    await a;
    expect(await runs('forced rebuild', () => Promise.resolve(3))).toBe(3);
  });
});
