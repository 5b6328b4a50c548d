/**
 * Migrations on a database that already holds figures: what a release adds is filled in from what
 * is stored, so an upgrade needs no rebuild.
 */
import { Migrator, sql, type Migration } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nameKey } from '../../src/aggregate/events.ts';
import { openPostgres, type Database } from '../../src/platform/db.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import * as initial from '../../src/store/migrations/0001_initial.ts';
import * as currencyConfirmations from '../../src/store/migrations/0002_currency_confirmations.ts';
import * as ticketSumsBigint from '../../src/store/migrations/0003_ticket_sums_bigint.ts';
import * as bookingsWithoutFacts from '../../src/store/migrations/0004_bookings_without_facts.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { expectShiftedDaysFromBuckets } from '../helpers/shifted-days.ts';

/** A database of the describe's own, created before its tests and dropped after them. */
function scratchStore(): { readonly db: Database['db'] } {
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
  return {
    get db() {
      return store.db;
    },
  };
}

/** The migrations released before 0005: a store as an earlier release left it. */
const upTo0004 = {
  getMigrations: (): Promise<Record<string, Migration>> =>
    Promise.resolve({
      '0001_initial': initial,
      '0002_currency_confirmations': currencyConfirmations,
      '0003_ticket_sums_bigint': ticketSumsBigint,
      '0004_bookings_without_facts': bookingsWithoutFacts,
    }),
};

describe('0002: confirmed bookings per other currency', () => {
  const scratch = scratchStore();

  it('counts the confirmations already stored', async () => {
    const onlyInitial = {
      getMigrations: (): Promise<Record<string, Migration>> => Promise.resolve({ '0001_initial': initial }),
    };
    const first = await new Migrator({ db: scratch.db, provider: onlyInitial }).migrateToLatest();
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
        scratch.db,
      );
    }
    await sql`insert into event_currency_revenue (event_id, currency, amount) values (5, 'EUR', 12.5), (6, 'GBP', 3)`.execute(
      scratch.db,
    );

    const latest = await migrateToLatest(scratch.db);
    expect(latest.error).toBeUndefined();
    const { rows } = await sql<{ event_id: string; currency: string; confirmed: number; amount: string }>`
      select event_id::text, currency, confirmed, amount::text from event_currency_revenue order by 1, 2`.execute(
      scratch.db,
    );
    expect(rows).toEqual([
      { event_id: '5', currency: 'EUR', confirmed: 2, amount: '12.5000' },
      { event_id: '6', currency: 'GBP', confirmed: 1, amount: '3.0000' },
    ]);
  });
});

describe('0005: activity masks', () => {
  const scratch = scratchStore();

  it('sets a bit for each quarter-hour of a UTC day in which an event had a transition', async () => {
    const first = await new Migrator({ db: scratch.db, provider: upTo0004 }).migrateToLatest();
    expect(first.error).toBeUndefined();
    // Day 20000 (2024-10-04): quarters 0 and 95 of event 1, and quarter 3 of event 2 with no
    // transition left; the quarter before 1970 (bucket −1) is quarter 95 of day −1.
    await sql`insert into flow_bucket_event (event_id, bucket, transitions) values
      (1, 1920000, 1), (1, 1920095, 2), (2, 1920003, 0), (3, -1, 1)`.execute(scratch.db);

    expect((await migrateToLatest(scratch.db)).error).toBeUndefined();
    const { rows } = await sql<{ day: number; event_id: string; quarters: string }>`
      select day, event_id::text, quarters::text from flow_mask_event order by day, event_id`.execute(
      scratch.db,
    );
    const bits = (...set: number[]) =>
      Array.from({ length: 96 }, (_, q) => (set.includes(q) ? '1' : '0')).join('');
    expect(rows).toEqual([
      { day: -1, event_id: '3', quarters: bits(95) },
      { day: 20000, event_id: '1', quarters: bits(0, 95) },
    ]);
  });
});

describe('0006: shifted days', () => {
  const scratch = scratchStore();

  it('fills every 24-hour window of quarter-hours with its flows and active events', async () => {
    expect(
      (await new Migrator({ db: scratch.db, provider: upTo0004 }).migrateToLatest()).error,
    ).toBeUndefined();
    // Event 1 at 23:45 UTC on day 20000 and 00:00 the next day; event 2 at 06:00 on day 20000 and
    // in a quarter with no transition left; event 3 in the last quarter-hour before 1970.
    await sql`insert into flow_bucket_event (event_id, bucket, new_bookings, transitions) values
      (1, 1920095, 1, 1), (1, 1920096, 1, 1), (2, 1920024, 2, 2), (2, 1920030, 0, 0), (3, -1, 1, 1)`.execute(
      scratch.db,
    );
    await sql`insert into flow_bucket (bucket, new_bookings, revenue, new_users) values
      (1920095, 1, 12.5, 1), (1920096, 1, 0, 0), (1920024, 2, 7.25, 2), (-1, 1, 0, 1)`.execute(scratch.db);

    expect((await migrateToLatest(scratch.db)).error).toBeUndefined();
    await expectShiftedDaysFromBuckets(scratch.db);
    const row = async (phase: number, day: number) => {
      const { rows } = await sql<{ new_bookings: number; revenue: string; active_events: number }>`
        select new_bookings, revenue::text, active_events from flow_phase_day
        where phase = ${phase} and day = ${day}`.execute(scratch.db);
      return rows[0];
    };
    // The UTC day 20000: both events, three bookings.
    expect(await row(0, 20000)).toEqual({ new_bookings: 3, revenue: '19.7500', active_events: 2 });
    // From 23:45 on day 20000 to 23:45 the next day: event 1 only, twice.
    expect(await row(95, 20000)).toEqual({ new_bookings: 2, revenue: '12.5000', active_events: 1 });
    // From 06:15 on day 20000: only the 23:45 and 00:00 quarters.
    expect(await row(25, 20000)).toEqual({ new_bookings: 2, revenue: '12.5000', active_events: 1 });
    expect(await row(95, -1)).toEqual({ new_bookings: 1, revenue: '0.0000', active_events: 1 });
  });
});

describe('0007: name keys', () => {
  const scratch = scratchStore();

  it('gives every stored event the key its name sorts and is searched by', async () => {
    expect(
      (await new Migrator({ db: scratch.db, provider: upTo0004 }).migrateToLatest()).error,
    ).toBeUndefined();
    await sql`insert into events (event_id, event_name) values
      (1, 'Café Ünïcode'), (2, 'Straße'), (3, 'Istanbul ıİ'), (4, 'Unknown Event')`.execute(scratch.db);

    expect((await migrateToLatest(scratch.db)).error).toBeUndefined();
    const { rows } = await sql<{ event_id: string; name_key: string }>`
      select event_id::text, name_key from events order by event_id`.execute(scratch.db);
    expect(rows.map((r) => r.name_key)).toEqual(['cafe unicode', 'strasse', 'istanbul ii', 'unknown event']);
    // The same key as ingest gives a name from then on.
    expect(rows.map((r) => r.name_key)).toEqual(
      ['Café Ünïcode', 'Straße', 'Istanbul ıİ', 'Unknown Event'].map(nameKey),
    );
  });
});

describe('0008: user status changes stored in the future', () => {
  const scratch = scratchStore();

  it('counts a change stamped in the future as made now, and leaves the others alone', async () => {
    expect(
      (await new Migrator({ db: scratch.db, provider: upTo0004 }).migrateToLatest()).error,
    ).toBeUndefined();
    await sql`insert into user_status (user_id, disabled, changed_at) values
      (1, true, now() + interval '10 years'), (2, false, '2026-01-01T00:00:00Z')`.execute(scratch.db);

    expect((await migrateToLatest(scratch.db)).error).toBeUndefined();
    const { rows } = await sql<{ user_id: string; disabled: boolean; future: boolean; changed_at: Date }>`
      select user_id::text, disabled, changed_at > now() as future, changed_at
      from user_status order by user_id`.execute(scratch.db);
    expect(rows.map((r) => [r.user_id, r.disabled, r.future])).toEqual([
      ['1', true, false],
      ['2', false, false],
    ]);
    expect(rows[1]?.changed_at.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });
});

describe('0009: uptime as runs of minutes', () => {
  const scratch = scratchStore();

  it('turns the minutes with a heartbeat into their runs, counting the same minutes', async () => {
    expect(
      (await new Migrator({ db: scratch.db, provider: upTo0004 }).migrateToLatest()).error,
    ).toBeUndefined();
    // Minutes 100–104, 106, 200–209: three stretches up.
    await sql`insert into heartbeats (minute)
      select generate_series(100, 104) union all select 106 union all select generate_series(200, 209)`.execute(
      scratch.db,
    );

    expect((await migrateToLatest(scratch.db)).error).toBeUndefined();
    const { rows } = await sql<{ start: number; end: number }>`
      select start_minute::int as start, end_minute::int as "end" from uptime_runs order by 1`.execute(
      scratch.db,
    );
    expect(rows).toEqual([
      { start: 100, end: 105 },
      { start: 106, end: 107 },
      { start: 200, end: 210 },
    ]);
    // The previous release, still running during a rolling upgrade, reads the same minutes.
    const { rows: minutes } = await sql<{ n: number; first: number; last: number }>`
      select count(*)::int as n, min(minute)::int as first, max(minute)::int as last from heartbeats`.execute(
      scratch.db,
    );
    expect(minutes).toEqual([{ n: 16, first: 100, last: 209 }]);
  });
});
