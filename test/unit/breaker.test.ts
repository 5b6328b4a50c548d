import { describe, expect, it } from 'vitest';
import { createBreaker } from '../../src/platform/breaker.ts';

function clocked(options: { threshold?: number; cooldownMs?: number; maxCooldownMs?: number } = {}) {
  let t = 1_000_000;
  const breaker = createBreaker({
    threshold: 3,
    cooldownMs: 5_000,
    maxCooldownMs: 30_000,
    ...options,
    now: () => t,
  });
  return {
    breaker,
    advance: (ms: number) => {
      t += ms;
    },
    /** One call that the dependency refuses. */
    fail: () => {
      if (breaker.tryAcquire()) breaker.failure();
    },
  };
}

describe('circuit breaker', () => {
  it('stays closed while failures are fewer than the threshold', () => {
    const { breaker, fail } = clocked();
    fail();
    fail();
    expect(breaker.snapshot().state).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('counts only consecutive failures: a success in between starts over', () => {
    const { breaker, fail } = clocked();
    fail();
    fail();
    expect(breaker.tryAcquire()).toBe(true);
    breaker.success();
    fail();
    fail();
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 2 });
  });

  it('opens after the threshold of consecutive failures and refuses calls during the cool-down', () => {
    const { breaker, fail, advance } = clocked();
    fail();
    fail();
    fail();
    expect(breaker.snapshot()).toMatchObject({ state: 'open', retry_in_ms: 5_000, cooldown_ms: 5_000 });
    advance(4_999);
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.retryAfterMs()).toBe(1);
  });

  it('lets exactly one probe through once the cool-down is over', () => {
    const { breaker, fail, advance } = clocked();
    for (let i = 0; i < 3; i++) fail();
    advance(5_000);
    expect(breaker.snapshot().state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.tryAcquire()).toBe(false);
  });

  it('closes when the probe succeeds, and then lets every call through', () => {
    const { breaker, fail, advance } = clocked();
    for (let i = 0; i < 3; i++) fail();
    advance(5_000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.success();
    expect(breaker.snapshot()).toEqual({
      state: 'closed',
      failures: 0,
      retry_in_ms: 0,
      cooldown_ms: 5_000,
      opened_at: null,
    });
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('doubles the cool-down after each failed probe, up to the maximum', () => {
    const { breaker, fail, advance } = clocked();
    for (let i = 0; i < 3; i++) fail();
    const cooldowns: number[] = [];
    for (let i = 0; i < 5; i++) {
      advance(breaker.snapshot().cooldown_ms);
      fail();
      cooldowns.push(breaker.snapshot().cooldown_ms);
      expect(breaker.snapshot().state).toBe('open');
    }
    expect(cooldowns).toEqual([10_000, 20_000, 30_000, 30_000, 30_000]);
  });

  it('starts the cool-down over at the base after it closed again', () => {
    const { breaker, fail, advance } = clocked();
    for (let i = 0; i < 3; i++) fail();
    advance(5_000);
    fail(); // probe fails: 10 s
    advance(10_000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.success();
    for (let i = 0; i < 3; i++) fail();
    expect(breaker.snapshot()).toMatchObject({ state: 'open', cooldown_ms: 5_000 });
  });

  it('is not re-opened by calls that began before it opened and fail late', () => {
    const { breaker, fail, advance } = clocked();
    expect(breaker.tryAcquire()).toBe(true); // a slow call, still in flight
    for (let i = 0; i < 3; i++) fail();
    advance(5_000);
    breaker.failure(); // the slow call fails now, while no probe is out
    expect(breaker.snapshot().state).toBe('half-open');
    expect(breaker.snapshot().cooldown_ms).toBe(5_000);
  });

  it('reports when it opened, and that it is closed again by a success', () => {
    const { breaker, fail } = clocked();
    for (let i = 0; i < 3; i++) fail();
    expect(breaker.snapshot().opened_at).toBe(new Date(1_000_000).toISOString());
    breaker.success();
    expect(breaker.snapshot().state).toBe('closed');
  });
});
