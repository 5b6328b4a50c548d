/**
 * A circuit breaker as a pure state machine: no timers, no IO, the clock passed in.
 *
 * closed ──(threshold consecutive failures)──▶ open ──(cool-down over)──▶ half-open
 *   ▲                                            ▲                          │ one probe
 *   └──────────────(probe succeeds)──────────────┼──────────────────────────┤
 *                                                └──(probe fails: cool-down doubles)
 *
 * While open, callers fail fast instead of queueing on a dependency that is gone; one probe at a
 * time finds out whether it is back. The cool-down starts at `cooldownMs` and doubles with every
 * failed probe up to `maxCooldownMs`.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the circuit (default 3). */
  threshold?: number;
  /** The first cool-down (default 5 s). */
  cooldownMs?: number;
  /** The cool-down never grows past this (default 30 s). */
  maxCooldownMs?: number;
  now?: () => number;
}

export interface BreakerSnapshot {
  state: BreakerState;
  /** Consecutive failures so far. */
  failures: number;
  /** How long a call will still be refused; 0 unless open. */
  retry_in_ms: number;
  /** The cool-down the circuit opened (or will open next) with. */
  cooldown_ms: number;
  /** When the circuit last opened; null while closed. */
  opened_at: string | null;
}

export interface CircuitBreaker {
  /**
   * Asks to make one call now. True while closed, and, once the cool-down is over, for exactly one
   * probe at a time; every `true` must be followed by `success()` or `failure()`.
   */
  tryAcquire(): boolean;
  /** The dependency answered: the circuit closes and the cool-down starts over. */
  success(): void;
  /** The dependency could not be reached. */
  failure(): void;
  /** Milliseconds until a call may go again (0 when one may go now). */
  retryAfterMs(): number;
  snapshot(): BreakerSnapshot;
}

/**
 * @example
 * const breaker = createBreaker({ threshold: 3, cooldownMs: 5_000, maxCooldownMs: 30_000 });
 * if (!breaker.tryAcquire()) return serveFallback();
 * try { const rows = await query(); breaker.success(); return rows; }
 * catch (error) { if (isConnectionError(error)) breaker.failure(); else breaker.success(); throw error; }
 */
export function createBreaker(options: BreakerOptions = {}): CircuitBreaker {
  const threshold = options.threshold ?? 3;
  const baseCooldown = options.cooldownMs ?? 5_000;
  const maxCooldown = options.maxCooldownMs ?? 30_000;
  const now = options.now ?? Date.now;

  let state: 'closed' | 'open' = 'closed';
  let failures = 0;
  let cooldown = baseCooldown;
  let openedAt = 0;
  let probing = false;

  const open = (at: number): void => {
    state = 'open';
    openedAt = at;
    probing = false;
  };
  // "half-open" is not stored: it is an open circuit whose cool-down is over.
  const current = (at: number): BreakerState =>
    state === 'closed' ? 'closed' : at - openedAt >= cooldown ? 'half-open' : 'open';

  return {
    tryAcquire() {
      const at = now();
      const s = current(at);
      if (s === 'closed') return true;
      if (s === 'open' || probing) return false;
      probing = true;
      return true;
    },
    success() {
      state = 'closed';
      failures = 0;
      cooldown = baseCooldown;
      probing = false;
    },
    failure() {
      const at = now();
      failures++;
      if (state === 'closed') {
        if (failures >= threshold) open(at);
        return;
      }
      // Only the probe's failure re-opens the circuit; calls that started before it opened and
      // fail late change nothing.
      if (probing) {
        cooldown = Math.min(maxCooldown, cooldown * 2);
        open(at);
      }
    },
    retryAfterMs() {
      const at = now();
      return current(at) === 'open' ? cooldown - (at - openedAt) : 0;
    },
    snapshot() {
      const at = now();
      const s = current(at);
      return {
        state: s,
        failures,
        retry_in_ms: s === 'open' ? cooldown - (at - openedAt) : 0,
        cooldown_ms: cooldown,
        opened_at: state === 'closed' ? null : new Date(openedAt).toISOString(),
      };
    },
  };
}
