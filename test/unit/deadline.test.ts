import { describe, expect, it } from 'vitest';
import { createPause, sharedFlight } from '../../src/platform/deadline.ts';

describe('sharedFlight', () => {
  it('gives calls that arrive while one runs its result, and runs again once it is done', async () => {
    let runs = 0;
    let release: (value: number) => void = () => undefined;
    const report = sharedFlight(() => {
      runs++;
      return new Promise<number>((resolve) => (release = resolve));
    });
    const flood = Array.from({ length: 50 }, () => report());
    release(7);
    expect(await Promise.all(flood)).toEqual(Array(50).fill(7));
    expect(runs).toBe(1);
    const next = report();
    release(8);
    expect(await next).toBe(8);
    expect(runs).toBe(2);
  });

  it('lets the next call try again after a failure', async () => {
    let fail = true;
    const report = sharedFlight(async () => {
      if (fail) throw new Error('down');
      return 'up';
    });
    await expect(report()).rejects.toThrow('down');
    fail = false;
    expect(await report()).toBe('up');
  });
});

describe('createPause', () => {
  it('is active for its length after a start, and ends early on end()', () => {
    let now = 1_000;
    const pause = createPause(5_000, () => now);
    expect(pause.active()).toBe(false);
    pause.start();
    now += 4_999;
    expect(pause.active()).toBe(true);
    now += 1;
    expect(pause.active()).toBe(false);
    pause.start();
    pause.end();
    expect(pause.active()).toBe(false);
  });
});
