/**
 * A deadline for a call to a dependency: a slow Redis must make an answer smaller, never later,
 * and a database that does not answer counts as one that is down. `onTimeout` names what was
 * waited for, or builds the error to fail with.
 */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: string | (() => Error) = 'redis',
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          typeof onTimeout === 'string'
            ? new Error(`${onTimeout} did not answer within ${ms} ms`)
            : onTimeout(),
        ),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A dependency that failed a call is left alone for a while: a hung Redis (connected, answering
 * nothing) would otherwise cost every request the whole deadline. After the pause one call tries
 * it again; a success ends the pause at once.
 *
 * @example
 * const pause = createPause(5_000);
 * if (pause.active()) return fallback();
 * try { await call(); pause.end(); } catch { pause.start(); }
 */
export interface Pause {
  active(): boolean;
  start(): void;
  end(): void;
}

export function createPause(ms: number, now: () => number = Date.now): Pause {
  let until = 0;
  return {
    active: () => now() < until,
    start: () => {
      until = now() + ms;
    },
    end: () => {
      until = 0;
    },
  };
}

/**
 * Calls that arrive while one is running share its result, so a flood of them costs one at a time
 * (an unauthenticated /health or /metrics hammered by a client).
 *
 * @example
 * const scrape = sharedFlight(() => render());
 * await Promise.all([scrape(), scrape()]); // one render
 */
export function sharedFlight<T>(run: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () =>
    (running ??= run().finally(() => {
      running = undefined;
    }));
}
