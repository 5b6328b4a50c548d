// The loads the page starts by itself: a retry after a transient failure or a stale answer, and a
// live refetch after a change announced by the stream. At most one of each waits at a time; both
// spend the admin's request budget, so neither goes sooner than pacing.js allows.

import { clockTime, setStatus } from './messages.js';
import { nextLiveRefetch } from './pacing.js';

/**
 * Retries after a transient failure wait at least what the service asked (Retry-After), and at
 * least this, doubling each time up to a minute; never sooner than the request budget allows.
 */
const FIRST_RETRY_MS = 5_000;
const LONGEST_RETRY_MS = 60_000;

/** `load` is the page's one way to fetch the dashboard; these timers only decide when it runs. */
export function createReloads(load) {
  let retryTimer = 0;
  let refetchTimer = 0;
  /** A live refetch waits for the next window of the request limit. */
  let refetchPaused = false;
  let retryDelay = FIRST_RETRY_MS;
  /** The request budget the last answer reported (RateLimit-* headers). */
  let budget = null;

  function clearRetry() {
    window.clearTimeout(retryTimer);
    retryTimer = 0;
  }

  function clearRefetch() {
    window.clearTimeout(refetchTimer);
    refetchTimer = 0;
    refetchPaused = false;
  }

  return {
    setBudget(value) {
      budget = value;
    },
    get retryWaiting() {
      return retryTimer !== 0;
    },
    /** Live updates wait for the request limit's next window (the badge says "Paused"). */
    get paused() {
      return refetchPaused;
    },
    /** A load starts: a retry still waiting has nothing left to do. */
    clearRetry,
    /** An answer as new as the newest change announced: a live refetch waiting has nothing left to fetch. */
    clearRefetch,
    /** Current figures arrived: the next transient failure waits the shortest time again. */
    succeeded() {
      retryDelay = FIRST_RETRY_MS;
    },
    /** A new session: its budget is not known yet. */
    forget() {
      budget = null;
      retryDelay = FIRST_RETRY_MS;
    },
    /** Signed out: nothing waits any more. */
    stop() {
      clearRetry();
      clearRefetch();
      retryDelay = FIRST_RETRY_MS;
    },

    /**
     * Loads again after a transient failure or a stale answer: after a wait that doubles each
     * time (FIRST_RETRY_MS up to LONGEST_RETRY_MS), at least what the service asked (Retry-After,
     * in seconds), and never sooner than the request budget allows; 0: at once. Returns when.
     */
    retry(retryAfterSeconds) {
      const now = Date.now();
      let wait;
      if (retryAfterSeconds === 0) wait = 0;
      else {
        wait = Math.max(retryDelay, (retryAfterSeconds ?? 0) * 1000);
        retryDelay = Math.min(retryDelay * 2, LONGEST_RETRY_MS);
      }
      // Retries spend the admin's request budget too: never sooner than live refetches may go (a
      // reload with the reporting zone after a refused one, 0, goes at once).
      if (retryAfterSeconds !== 0) wait = Math.max(wait, nextLiveRefetch(budget, now).at - now);
      clearRetry();
      clearRefetch();
      retryTimer = setTimeout(() => {
        retryTimer = 0;
        void load();
      }, wait);
      return now + wait;
    },

    /**
     * A refetch for a live change or a reconnected stream, paced so that the tab leaves its admin
     * enough of the request budget (pacing.js). Changes that arrive while one is waiting are
     * fetched with it (the request asks for the newest version announced). It replaces a retry
     * still waiting out a backoff: news from the stream means the service is back.
     */
    refetch() {
      if (refetchTimer) return;
      clearRetry();
      const now = Date.now();
      const { at, paused } = nextLiveRefetch(budget, now);
      refetchPaused = paused;
      if (paused) setStatus(`Live updates resume at ${clockTime(at)}, to stay within your request limit`);
      refetchTimer = setTimeout(() => {
        refetchTimer = 0;
        refetchPaused = false;
        void load();
      }, at - now);
    },
  };
}
