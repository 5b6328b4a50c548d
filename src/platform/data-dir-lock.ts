/**
 * One process at a time on an embedded store. PGlite is PostgreSQL in the process: two processes
 * opening the same DATA_DIR each run their own server on the same files, and corrupt them, while
 * each reads its own view (an operator's `npm run rebuild` would rebuild nothing the service sees).
 *
 * The first holds `DATA_DIR/pglite.lock`: its pid, host and start time, put in place whole (a link
 * of a complete file, so nobody reads it half-written). A lock of this host whose process is gone,
 * or whose pid a later process took, is taken over; one of another host (another container on a
 * shared volume) cannot be checked, and is refused until removed by hand.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

interface Holder {
  pid: number;
  host: string;
  /** The process's start time (clock ticks after boot, /proc/<pid>/stat), where the OS tells. */
  started: string | null;
}

export class DataDirInUseError extends Error {
  constructor(dataDir: string, holder: Holder, sameHost: boolean) {
    super(
      `DATA_DIR ${dataDir} is in use by another process (pid ${holder.pid}` +
        `${sameHost ? '' : ` on host ${holder.host}`}): an embedded store takes one process at a time. ` +
        'Stop it first, or ask the running service over HTTP (POST /api/v1/analytics/rebuild, ' +
        `/api/v1/analytics/reconcile)${sameHost ? '' : `; if no process uses it, delete ${path.join(dataDir, 'pglite.lock')}`}`,
    );
    this.name = 'DataDirInUseError';
  }
}

function startTime(pid: number): string | null {
  try {
    // Field 22; the command name (field 2) may hold spaces, so count from its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function running(holder: Holder): boolean {
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: it exists, under another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // The pid may have gone to another process since (a container's pid 1, say).
  return holder.started === null || startTime(holder.pid) === holder.started;
}

function parse(text: string): Holder | undefined {
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string')
      return { pid: h.pid, host: h.host, started: typeof h.started === 'string' ? h.started : null };
  } catch {
    // Not ours, or a version that wrote a bare pid: stale either way.
  }
  return undefined;
}

/** Takes the lock of a data directory (which must exist); returns its release. */
export function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, 'pglite.lock');
  const me: Holder = { pid: process.pid, host: hostname(), started: startTime(process.pid) };
  const mine = JSON.stringify(me);
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, mine);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(draft, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw error;
      }
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue; // Released meanwhile.
      }
      const holder = parse(text);
      if (holder !== undefined && holder.host !== me.host)
        throw new DataDirInUseError(dataDir, holder, false);
      if (holder !== undefined && running(holder)) throw new DataDirInUseError(dataDir, holder, true);
      // Stale: moved aside (only one taker succeeds), then taken. If what was moved is not what was
      // judged stale, another process took it over meanwhile: it goes back.
      const aside = `${file}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
      try {
        renameSync(file, aside);
      } catch {
        continue;
      }
      if (readFileSync(aside, 'utf8') !== text) {
        try {
          linkSync(aside, file);
        } catch {
          // A third process holds it now; the loop finds it.
        }
      }
      rmSync(aside, { force: true });
    }
  } finally {
    rmSync(draft, { force: true });
  }
  const release = () => {
    try {
      if (readFileSync(file, 'utf8') === mine) rmSync(file, { force: true });
    } catch {
      // Already gone.
    }
  };
  held.add(release);
  return () => {
    held.delete(release);
    release();
  };
}

/**
 * The releases of the locks this process holds. A process that ends without closing its store (a
 * stop during start-up, any process.exit) lets them go too: a lock it left would stop the next
 * start in a new container (another host name), which cannot tell it is stale.
 */
const held = new Set<() => void>();
process.once('exit', () => held.forEach((release) => release()));
