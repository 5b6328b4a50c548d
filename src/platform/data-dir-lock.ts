/**
 * One process at a time on an embedded store. PGlite is PostgreSQL in the process: two processes
 * opening the same DATA_DIR each run their own server on the same files, and corrupt them, while
 * each reads its own view (an operator's `npm run rebuild` would rebuild nothing the service sees).
 * The first holds `DATA_DIR/pglite.lock` (its pid); a lock whose process is gone is taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class DataDirInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `DATA_DIR ${dataDir} is in use by another process (pid ${pid}): an embedded store takes one process ` +
        'at a time. Stop it first, or ask the running service over HTTP ' +
        '(POST /api/v1/analytics/rebuild, /api/v1/analytics/reconcile)',
    );
    this.name = 'DataDirInUseError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of a data directory (which must exist); returns its release. */
export function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, 'pglite.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder))
        throw new DataDirInUseError(dataDir, holder);
      // Left by a process that is gone (killed, crashed): take it over.
      rmSync(file, { force: true });
    }
  }
  return () => {
    try {
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
    } catch {
      // Already gone.
    }
  };
}
