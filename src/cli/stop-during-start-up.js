/**
 * A stop signal before the service took any work (loading its code, waiting for Zero or the
 * database, migrating) has nothing to finish: the process ends at once, and with 0, as a stop asked
 * for does, saying so on one log line.
 *
 * Plain JavaScript importing nothing but Node's own, so that `npm start` can load it first (`preload-start.js`,
 * through `node --import`), before the TypeScript loader and the service's modules, which take a
 * second or two: a signal meanwhile would otherwise get its default action (exit 143 or 130).
 * `main.ts` takes the same handle and removes it once the service listens and handles the signals
 * itself. Types: `stop-during-start-up.d.ts`.
 */
import { writeSync } from 'node:fs';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'];

let installed;

export function stopDuringStartUp() {
  if (installed) return installed;
  const stop = (signal) => {
    // The service's log line format (pino's, level info), written at once: nothing else is set up.
    const line = {
      level: 30,
      time: Date.now(),
      service: 'evently-analytics',
      signal,
      msg: 'stopped during start-up, before taking any work',
    };
    writeSync(1, `${JSON.stringify(line)}\n`);
    process.exit(0);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, stop);
  installed = {
    remove() {
      for (const signal of STOP_SIGNALS) process.off(signal, stop);
      installed = undefined;
    },
  };
  return installed;
}
