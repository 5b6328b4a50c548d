/**
 * Throwaway PostgreSQL databases for integration tests and benches: uniquely named, created from a
 * migrated template so each test starts from an empty schema in a few milliseconds, and dropped at
 * the end. Refuses any name that does not say it is a test or bench database.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgres } from '../../src/platform/db.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';

const SERVER_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** `evently_test_<time>_<random>`: unique across parallel runs on one server. */
export function uniqueName(kind: 'test' | 'bench'): string {
  return `evently_${kind}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

function guard(name: string): string {
  if (!/^[a-z0-9_]+$/.test(name) || !/(test|bench)/.test(name)) {
    throw new Error(`refusing to touch database "${name}": its name must contain "test" or "bench"`);
  }
  return name;
}

export function databaseUrl(name: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${guard(name)}`;
  return url.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Makes a test database refuse (and drop) its connections, or accept them again: a real, reversible
 * outage of that database alone.
 */
export async function setDatabaseReachable(name: string, reachable: boolean): Promise<void> {
  guard(name);
  await admin(async (c) => {
    await c.query(`alter database ${name} with allow_connections ${reachable}`);
    if (!reachable) {
      await c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
    }
  });
}

/** A migrated template plus the databases copied from it; `dropAll()` removes every one. */
export class ScratchDatabases {
  private readonly created: string[] = [];
  private template: string | undefined;

  constructor(private readonly kind: 'test' | 'bench') {}

  /** A new, empty, migrated database; returns its name and URL. */
  async create(): Promise<{ name: string; url: string }> {
    const template = this.template ?? (await this.createTemplate());
    const name = guard(uniqueName(this.kind));
    this.created.push(name);
    await admin((c) => c.query(`create database ${name} template ${template}`));
    return { name, url: databaseUrl(name) };
  }

  /** Refuses or accepts new connections: a real, reversible database outage. */
  async setReachable(name: string, reachable: boolean): Promise<void> {
    await setDatabaseReachable(name, reachable);
  }

  /** Drops one database made by `create()` before the others (a bench frees disk between runs). */
  async drop(name: string): Promise<void> {
    const index = this.created.indexOf(name);
    if (index === -1) throw new Error(`"${name}" was not created here`);
    await admin((c) => c.query(`drop database if exists ${guard(name)} with (force)`));
    this.created.splice(index, 1);
  }

  async dropAll(): Promise<void> {
    const names = [...this.created, ...(this.template ? [this.template] : [])];
    await admin(async (c) => {
      for (const name of names) await c.query(`drop database if exists ${guard(name)} with (force)`);
    });
    this.created.length = 0;
    this.template = undefined;
  }

  private async createTemplate(): Promise<string> {
    const name = guard(`${uniqueName(this.kind)}_tpl`);
    this.template = name;
    await admin((c) => c.query(`create database ${name}`));
    const database = await openPostgres(databaseUrl(name), 1);
    try {
      const { error } = await migrateToLatest(database.db);
      if (error) throw error instanceof Error ? error : new Error('migration failed', { cause: error });
    } finally {
      await database.close();
    }
    return name;
  }
}
