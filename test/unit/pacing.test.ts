/**
 * The dashboard's live refetch pacing (src/dashboard/public/pacing.js): an open tab spreads the
 * spare part of its admin's request budget over the rest of the window and never spends the part
 * kept for what the admin does by hand.
 */
import { describe, expect, it } from 'vitest';
import { DEBOUNCE_MS, nextLiveRefetch, reserveOf } from '../../src/dashboard/public/pacing.js';

const now = 1_000_000;

describe('live refetch pacing', () => {
  it('refetches after the debounce when the service sent no budget', () => {
    expect(nextLiveRefetch(null, now)).toEqual({ at: now + DEBOUNCE_MS, paused: false });
  });

  it('spreads the spare requests over what is left of the window', () => {
    // 100 per 15 min, 97 left, 900 s to go: 20 kept back, 77 spread over 900 s (one per 11.7 s).
    const budget = { limit: 100, remaining: 97, reset: 900, at: now };
    expect(reserveOf(100)).toBe(20);
    const next = nextLiveRefetch(budget, now);
    expect(next.paused).toBe(false);
    expect(next.at).toBeCloseTo(now + 900_000 / 77, 0);
    // Long after the last request, the next one may go at once (after the debounce).
    expect(nextLiveRefetch(budget, now + 60_000).at).toBe(now + 60_000 + DEBOUNCE_MS);
  });

  it('waits for the next window once only the reserve is left', () => {
    const budget = { limit: 100, remaining: 20, reset: 300, at: now };
    expect(nextLiveRefetch(budget, now + 1_000)).toEqual({ at: now + 301_000, paused: true });
  });

  it('keeps a reserve of at least 3 under a small limit', () => {
    expect(reserveOf(5)).toBe(3);
    expect(nextLiveRefetch({ limit: 5, remaining: 3, reset: 60, at: now }, now).paused).toBe(true);
    expect(nextLiveRefetch({ limit: 5, remaining: 4, reset: 60, at: now }, now)).toEqual({
      at: now + 60_000,
      paused: false,
    });
  });
});
