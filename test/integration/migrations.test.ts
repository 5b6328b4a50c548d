/**
 * Migrations on a database that already holds figures: what a release adds is filled in from what
 * is stored, so an upgrade needs no rebuild.
 */
import { Migrator, sql, type Migration } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type Database } from '../../src/platform/db.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import * as initial from '../../src/store/migrations/0001_initial.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

describe('0002: confirmed bookings per other currency', () => {
  let database: TestDatabase;
  let store: Database;

  beforeAll(async () => {
    database = await createTestDatabase('migrate');
    store = await openPostgres(database.url, 2);
  });
  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  it('counts the confirmations already stored', async () => {
    const onlyInitial = {
      getMigrations: (): Promise<Record<string, Migration>> => Promise.resolve({ '0001_initial': initial }),
    };
    const first = await new Migrator({ db: store.db, provider: onlyInitial }).migrateToLatest();
    expect(first.error).toBeUndefined();

    const created = (currency: string, amount: number) => ({
      t: 1,
      eventId: 5,
      quantity: 1,
      amount,
      currency,
    });
    const bookings = [
      // Confirmed in EUR, the currency named by the creation only.
      { id: 1, event: 5, state: { created: created('EUR', 125_000), confirmed: { t: 2 } } },
      // Confirmed, then cancelled: no longer confirmed.
      {
        id: 2,
        event: 5,
        state: { created: created('EUR', 50_000), confirmed: { t: 2 }, cancelled: { t: 3 } },
      },
      // A free ticket: confirmed, amount 0.
      { id: 3, event: 5, state: { created: created('EUR', 0), confirmed: { t: 2 } } },
      // The currency named by the confirmation only.
      {
        id: 4,
        event: 6,
        state: { confirmed: { t: 2, eventId: 6, quantity: 1, amount: 30_000, currency: 'GBP' } },
      },
      // Still pending.
      { id: 5, event: 6, state: { created: { ...created('GBP', 10_000), eventId: 6 } } },
    ];
    for (const b of bookings) {
      await sql`insert into bookings (booking_id, state, event_id) values (${b.id}, ${JSON.stringify(b.state)}::json, ${b.event})`.execute(
        store.db,
      );
    }
    await sql`insert into event_currency_revenue (event_id, currency, amount) values (5, 'EUR', 12.5), (6, 'GBP', 3)`.execute(
      store.db,
    );

    const latest = await migrateToLatest(store.db);
    expect(latest.error).toBeUndefined();
    const { rows } = await sql<{ event_id: string; currency: string; confirmed: number; amount: string }>`
      select event_id::text, currency, confirmed, amount::text from event_currency_revenue order by 1, 2`.execute(
      store.db,
    );
    expect(rows).toEqual([
      { event_id: '5', currency: 'EUR', confirmed: 2, amount: '12.5000' },
      { event_id: '6', currency: 'GBP', confirmed: 1, amount: '3.0000' },
    ]);
  });
});
