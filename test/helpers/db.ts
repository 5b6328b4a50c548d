/**
 * Unique, throw-away PostgreSQL databases for tests. The guard refuses to drop any database whose
 * name does not mark it as a test's.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const ADMIN_URL =
  process.env.TEST_POSTGRES_URL ??
  process.env.TEST_DATABASE_ADMIN_URL ??
  'postgresql://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function assertTestDatabase(name: string): void {
  if (!/^evently_test_[a-z0-9_]+$/.test(name))
    throw new Error(`refusing to touch database "${name}": not a test database`);
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function urlFor(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createTestDatabase(label = 'db'): Promise<TestDatabase> {
  const name = `evently_test_${label.replace(/[^a-z0-9]/gi, '').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  assertTestDatabase(name);
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: urlFor(name),
    async drop() {
      assertTestDatabase(name);
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export function uniqueKey(prefix: string): string {
  return `${prefix}:test:${randomBytes(5).toString('hex')}`;
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A `waitFor` check that reads `probe()` and passes its value on once `until` holds for it.
 *
 * @example
 * const t = await waitFor('4 processed', when(() => totals(db), (t) => t.processed === 4));
 */
export function when<T>(
  probe: () => T | Promise<T>,
  until: (value: T) => boolean,
): () => Promise<T | undefined> {
  return async () => {
    const value = await probe();
    return until(value) ? value : undefined;
  };
}
