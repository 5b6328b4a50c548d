/**
 * CPU seconds used by a process or PostgreSQL's backends, read from /proc (bench and server on one
 * host), and by Redis, from its INFO. With Node's own CPU time this gives a cost per message or
 * request that does not depend on what else the machine is running. Returns undefined where it
 * cannot be read.
 */
import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { Db } from '../src/platform/db.ts';

const TICKS_PER_SECOND = 100;

export async function processCpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // After the command name (which may contain spaces), utime and stime are the 12th and 13th fields.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The CPU seconds of each backend now connected to `database`, by process id. */
export async function backendCpuByPid(db: Db, database: string): Promise<Map<number, number> | undefined> {
  const { rows } = await sql<{ pid: number }>`
    select pid from pg_stat_activity where datname = ${database}`.execute(db);
  const seconds = new Map<number, number>();
  for (const { pid } of rows) {
    const used = await processCpuSeconds(pid);
    if (used === undefined) return undefined;
    seconds.set(pid, used);
  }
  return seconds;
}

/** All backends now connected to `database` (a pool's connections live for the whole run). */
export async function backendCpuSeconds(db: Db, database: string): Promise<number | undefined> {
  const seconds = await backendCpuByPid(db, database);
  return seconds && [...seconds.values()].reduce((sum, s) => sum + s, 0);
}

/**
 * The CPU seconds backends used between two readings: those connected at both (a connection that
 * came or went in between is left out rather than counted as a negative or a whole life).
 */
export function backendCpuBetween(
  before: Map<number, number> | undefined,
  after: Map<number, number> | undefined,
): number | undefined {
  if (!before || !after) return undefined;
  let used = 0;
  for (const [pid, seconds] of after) {
    const earlier = before.get(pid);
    if (earlier !== undefined) used += seconds - earlier;
  }
  return used;
}

/** What Redis has used in all, system and user time (INFO cpu). */
export async function redisCpuSeconds(redis: Redis): Promise<number | undefined> {
  const info = await redis.info('cpu').catch(() => '');
  const read = (field: string) => Number(new RegExp(`^${field}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  const seconds = read('used_cpu_sys') + read('used_cpu_user');
  return Number.isFinite(seconds) ? seconds : undefined;
}
