/** Types of pacing.js for the tests (the browser code itself has no build step). */
export declare const DEBOUNCE_MS: number;
export declare function reserveOf(limit: number): number;
export declare function nextLiveRefetch(
  budget: { limit: number; remaining: number; reset: number; at: number } | null,
  now: number,
): { at: number; paused: boolean };
