/**
 * What the transport integration tests share: a fresh migrated database with a pipeline on it,
 * a pipeline whose database cannot be reached, and the queries that show what was stored.
 */
import { sql } from 'kysely';
import pino, { type Logger } from 'pino';
import { createPipeline, type Pipeline } from '../../src/ingest/pipeline.ts';
import { openPostgres, type Database, type Db } from '../../src/platform/db.ts';
import { waitFor, when } from '../helpers/db.ts';
import { ScratchDatabases } from './scratch-database.ts';

export const silentLogger: Logger = pino({ level: 'silent' });

export interface Totals {
  processed: number;
  duplicates: number;
  ignored: number;
  rejected: number;
}

export async function totals(db: Db): Promise<Totals> {
  const { rows } = await sql<Totals>`
    select processed::int, duplicates::int, ignored::int, rejected::int from totals`.execute(db);
  return rows[0] as Totals;
}

/** Waits until the totals of `db` satisfy `until` (`what` names that in a timeout); returns them. */
export function totalsWhen(db: Db, what: string, until: (totals: Totals) => boolean): Promise<Totals> {
  return waitFor(
    what,
    when(() => totals(db), until),
  );
}

export async function countBookings(db: Db): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from bookings`.execute(db);
  return rows[0]?.n ?? 0;
}

export async function rejections(
  db: Db,
): Promise<{ reason: string; transport: string; channel: string | null }[]> {
  const { rows } = await sql<{ reason: string; transport: string; channel: string | null }>`
    select reason, transport, channel from event_log where outcome = 'rejected' order by id`.execute(db);
  return rows;
}

export async function countLogRows(db: Db): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from event_log`.execute(db);
  return rows[0]?.n ?? 0;
}

const settings = { baseCurrency: 'USD', reportingTimezone: 'UTC' };

/** Opens databases and pipelines for one test file and closes/drops all of them in `close()`. */
export class IngestHarness {
  readonly databases = new ScratchDatabases('test');
  private readonly opened: Database[] = [];

  /** A pipeline on a new, empty database. */
  async freshPipeline(): Promise<{ name: string; url: string; db: Db; pipeline: Pipeline }> {
    const { name, url } = await this.databases.create();
    const database = await openPostgres(url, 2);
    this.opened.push(database);
    return { name, url, db: database.db, pipeline: createPipeline({ db: database.db, config: settings }) };
  }

  /** A pipeline whose PostgreSQL port refuses connections: every batch fails. */
  async unreachablePipeline(): Promise<Pipeline> {
    const database = await openPostgres('postgresql://postgres@127.0.0.1:1/evently_test_unreachable', 1);
    this.opened.push(database);
    return createPipeline({ db: database.db, config: settings });
  }

  async close(): Promise<void> {
    for (const database of this.opened) await database.close();
    await this.databases.dropAll();
  }
}
