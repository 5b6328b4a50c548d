// When the page may refetch after a live change, so that an open tab never spends its admin's
// request budget (RATE_LIMIT_ANALYTICS per RATE_LIMIT_WINDOW, shared by every tab and tool of
// that user) on its own. Pure: no DOM, no clock of its own.

/** Changes closer together than this are fetched once. */
export const DEBOUNCE_MS = 500;

/** Requests of the window kept for what the admin does by hand (Refresh, period, zone, reconnects). */
export function reserveOf(limit) {
  return Math.max(3, Math.ceil(limit / 5));
}

/**
 * The earliest time (ms since epoch) a live refetch may start.
 * @param {{ limit: number, remaining: number, reset: number, at: number } | null} budget
 *   what the last answer's RateLimit-* headers said, and when (`at`); null when unknown
 * @param {number} now
 * @returns {{ at: number, paused: boolean }} `paused` when the spare requests of this window are
 *   used up and live refetches wait for the next window
 */
export function nextLiveRefetch(budget, now) {
  const soonest = now + DEBOUNCE_MS;
  if (!budget) return { at: soonest, paused: false };
  const windowEnds = budget.at + budget.reset * 1000;
  const spare = budget.remaining - reserveOf(budget.limit);
  if (spare <= 0) return { at: Math.max(soonest, windowEnds + 1000), paused: true };
  // The spare requests spread evenly over what is left of the window.
  const interval = (budget.reset * 1000) / spare;
  return { at: Math.max(soonest, budget.at + interval), paused: false };
}
