/** Runs a bench's cleanup (drop its databases, stop its children) on Ctrl-C or SIGTERM too. */

/** Wraps `fn` so that it runs once however many times it is called. */
export function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}

/** Calls `cleanup` and exits on SIGINT/SIGTERM; returns a function that removes the handlers. */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  const handler = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: cleaning up before exit`);
    cleanup()
      .catch((error: unknown) => console.error(`cleanup failed: ${String(error)}`))
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
