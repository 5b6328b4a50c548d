/**
 * Kysely over PostgreSQL (pg pool) or over PGlite (embedded PostgreSQL, one connection behind a
 * mutex). Both run the same SQL; queries cast what they return (::int, ::float8, ::text), so no
 * driver-specific type parsing leaks into the code.
 */
import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { lockDataDir } from './data-dir-lock.ts';
import { DiskGuard } from './disk-guard.ts';
import { errorMessage } from './error-message.ts';
import { makeDirectory } from './make-directory.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tables are accessed through typed raw SQL
export type Db = Kysely<any>;

export interface Database {
  readonly db: Db;
  readonly kind: 'postgres' | 'pglite';
  /** Pool statistics for /metrics. */
  poolStats(): { total: number; idle: number; waiting: number };
  /** Why the store takes no writes now (the embedded store's disk nearly full); null when it does. */
  storageProblem(): string | null;
  close(): Promise<void>;
}

interface QueryResultLike {
  rows: unknown[];
  rowCount: number;
  command: string;
}

interface PGliteLike {
  query(
    sql: string,
    params?: unknown[],
    options?: { blob?: Blob },
  ): Promise<{ rows: unknown[]; affectedRows?: number }>;
  close(): Promise<void>;
}

/** How `copyRows` reaches the drivers: this statement, its rows (COPY's text format) as its one parameter. */
const COPY_IN = /^COPY \w+ \([\w, ]+\) FROM STDIN$/;

const isCopyIn = (args: readonly unknown[]): args is [string, [string]] =>
  typeof args[0] === 'string' &&
  COPY_IN.test(args[0]) &&
  Array.isArray(args[1]) &&
  args[1].length === 1 &&
  typeof args[1][0] === 'string';

/**
 * Writes rows with `COPY ... FROM STDIN`, inside the caller's transaction: less PostgreSQL work
 * per row than an INSERT of the same rows from a JSON parameter (the event log: about a third
 * less). `rows` is in COPY's text format (rows.ts `copyLine`). Kysely has no COPY: the statement
 * goes through it as an ordinary query, which each pool below recognizes and streams.
 */
export async function copyRows(
  trx: Db,
  table: string,
  columns: readonly string[],
  rows: string,
): Promise<void> {
  if (rows === '') return;
  await trx.executeQuery(CompiledQuery.raw(`COPY ${table} (${columns.join(', ')}) FROM STDIN`, [rows]));
}

/**
 * Promise.all for statements sent back to back on the transaction's connection, except that it
 * settles only when every one has: when one fails, the rest (failing fast in the aborted
 * transaction) are off the connection before the caller rolls back, rather than still queued
 * behind the ROLLBACK (which node-postgres deprecates, and version 9 will refuse). It throws the
 * failure that aborted the transaction, not one of those it caused ("current transaction is
 * aborted", 25P02, from a statement sent later but listed first): a deadlock or a lock timeout
 * must be seen as one, so the batch is retried whole rather than split as if a message broke it.
 */
export async function allStatements<T extends readonly unknown[]>(statements: {
  readonly [K in keyof T]: Promise<T[K]>;
}): Promise<T> {
  const settled = await Promise.allSettled(statements);
  const failures = settled.filter((s) => s.status === 'rejected').map((s) => s.reason as unknown);
  const cause = failures.find((reason) => (reason as { code?: unknown } | null)?.code !== '25P02');
  if (failures.length > 0) throw cause ?? failures[0];
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Lets a pg client take copyRows' statements (pg-copy-streams); every other query passes through. */
function acceptCopy(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const copy = async (text: string, rows: string): Promise<QueryResultLike> => {
    const stream = query(copyFrom(text)) as ReturnType<typeof copyFrom>;
    await pipeline(Readable.from([Buffer.from(rows)]), stream);
    return { rows: [], rowCount: stream.rowCount, command: 'COPY' };
  };
  client.query = ((...args: unknown[]) =>
    isCopyIn(args) ? copy(args[0], args[1][0]) : query(...args)) as typeof client.query;
}

/** A pg-Pool look-alike over one PGlite instance; `connect()` waits for the previous release. */
class PGlitePool {
  private tail: Promise<void> = Promise.resolve();
  waiting = 0;
  constructor(
    private readonly lite: PGliteLike,
    private readonly disk: DiskGuard | undefined,
  ) {}

  async connect(): Promise<{
    query: (text: string, params?: unknown[]) => Promise<QueryResultLike>;
    release: () => void;
  }> {
    this.waiting++;
    let release!: () => void;
    const previous = this.tail;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    this.waiting--;
    const { lite, disk } = this;
    return {
      async query(text: string, params?: unknown[]): Promise<QueryResultLike> {
        disk?.check(text);
        const args = [text, params];
        const result = isCopyIn(args)
          ? await lite.query(text.replace(/STDIN$/, "'/dev/blob'"), [], { blob: new Blob([args[1][0]]) })
          : await lite.query(text, params ?? []);
        const command = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'SELECT';
        return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length, command };
      },
      release,
    };
  }

  async end(): Promise<void> {
    await this.tail;
    await this.lite.close();
  }
}

export async function openPostgres(url: string, poolSize = 10): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 5_000,
  });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it. Health checks report outages.
  });
  // pg-pool listens for errors only on idle clients: a connection that dies while checked out
  // (between statements of a transaction) would otherwise emit an unhandled 'error' and kill the
  // process. The statement in flight still fails through its promise, and the client is discarded.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    acceptCopy(client);
    // No JIT: the service's statements are short, and PostgreSQL's cost estimates of the rankings'
    // per-event counts (an index range each) cross its JIT threshold, so a 20 ms read spent 125 ms
    // compiling first. A statement, not a startup option, which poolers such as PgBouncer refuse;
    // queued before the client's first query.
    client.query('SET jit = off').catch(() => undefined);
  });
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) }) as Db;
  return {
    db,
    kind: 'postgres',
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    storageProblem: () => null,
    close: () => db.destroy(),
  };
}

export async function openPGlite(
  dataDir: string | undefined,
  { minFreeMb = 0, freeBytes }: { minFreeMb?: number; freeBytes?: (dir: string) => number } = {},
): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  let lite: PGliteLike;
  let unlock = () => {};
  let disk: DiskGuard | undefined;
  if (dataDir) {
    const dir = path.join(dataDir, 'pglite');
    try {
      makeDirectory(dir);
    } catch (error) {
      throw new Error(`could not open the embedded database under ${dir}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    unlock = lockDataDir(dataDir);
    disk = new DiskGuard(dir, minFreeMb * 1_048_576, freeBytes);
    const full = disk.problem();
    lite = await PGlite.create(dir).catch((error: unknown) => {
      unlock();
      // PGlite's own errors on a full or read-only disk say nothing of it (or are not Errors).
      const cause = full ?? `${errorMessage(error)} (is ${dir} writable, with space free?)`;
      throw new Error(`could not open the embedded database under ${dir}: ${cause}`, { cause: error });
    });
  } else {
    lite = await PGlite.create();
  }
  const pool = new PGlitePool(lite, disk);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment -- the adapter mimics pg.Pool's shape
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: pool as any }) }) as Db;
  return {
    db,
    kind: 'pglite',
    poolStats: () => ({ total: 1, idle: pool.waiting === 0 ? 1 : 0, waiting: pool.waiting }),
    storageProblem: () => disk?.problem() ?? null,
    close: () => db.destroy().finally(unlock),
  };
}

export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
