/**
 * A batch that waits for the writer lock (a rebuild, the retention, another instance's batch) is not
 * poison when the wait is cut short: a database or role `statement_timeout` does not apply to the
 * writer, and a cancelled wait (`pg_cancel_backend`) is retried whole, never split into dead
 * letters or committed without the parked transitions it releases.
 */
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { getData, ingestHttp } from '../helpers/conformance.ts';
import { waitFor } from '../helpers/db.ts';
import { failOnce } from '../support/fail-once.ts';
import { bookingMessage, eventCreated } from '../support/messages.ts';

const WRITER_LOCK = 7_335_001;
const at = Date.parse('2026-11-10T10:00:00Z');

const event = (id: number) =>
  eventCreated({
    id,
    name: `Event ${id}`,
    category: 'music',
    capacity: 100,
    price: 10,
    createdAt: at - 86_400_000,
    eventDate: at + 86_400_000,
  });
const booking = (id: number, eventId: number) => ({
  id,
  eventId,
  userId: id,
  quantity: 2,
  totalAmount: 20,
  createdAt: at,
});
/** A confirmation that carries nothing but its time: parked until its booking is known. */
const bareConfirmation = (id: number) =>
  JSON.stringify({
    type: 'BookingConfirmed',
    booking_id: id,
    booking_data: { confirmed_at: '2026-11-10T11:00:00' },
  });

describe('a batch whose wait for the writer lock is cut short', () => {
  let t: TestApp;
  let holder: pg.Client;
  beforeAll(async () => {
    t = await startTestApp();
    holder = new pg.Client({ connectionString: t.database?.url });
    await holder.connect();
  });
  afterAll(async () => {
    await holder.end();
    await t.close();
  });

  /** Holds the writer lock from another session, as a rebuild or another instance does. */
  const holdLock = () => holder.query('select pg_advisory_lock($1)', [WRITER_LOCK]);
  const releaseLock = () => holder.query('select pg_advisory_unlock($1)', [WRITER_LOCK]);

  it('waits past the database’s statement_timeout and releases the parked confirmation', async () => {
    const name = t.database?.name as string;
    await ingestHttp(t.app, t.token, [event(1)]);
    // The confirmation comes first: parked until its booking is known.
    const [parked] = await ingestHttp(t.app, t.token, [bareConfirmation(501)]);
    expect(parked?.reason).toBe('unknown_booking');
    await sql.raw(`alter database ${name} set statement_timeout = '300ms'`).execute(t.deps.database.db);
    // A second instance on the same data: its connections take the setting.
    const timed = await startTestApp({ databaseUrl: t.database?.url });
    try {
      await holdLock();
      const ingesting = ingestHttp(timed.app, timed.token, [
        bookingMessage('BookingCreated', booking(501, 1)),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await releaseLock();
      expect((await ingesting)[0]?.outcome).toBe('processed');
    } finally {
      await sql.raw(`alter database ${name} reset statement_timeout`).execute(t.deps.database.db);
      await timed.close();
    }
    expect(await getData(t.app, t.token, '/api/v1/analytics/events/1')).toMatchObject({
      confirmed_bookings: 1,
      total_revenue: 20,
    });
  });

  it('is retried whole when its wait is cancelled, and loses no parked transition', async () => {
    await ingestHttp(t.app, t.token, [event(2)]);
    const [parked] = await ingestHttp(t.app, t.token, [bareConfirmation(502)]);
    expect(parked?.reason).toBe('unknown_booking');
    await holdLock();
    const created = JSON.parse(bookingMessage('BookingCreated', booking(502, 2))) as unknown;
    // Started now (an injected request is sent once it is awaited or its then() is called).
    const first = Promise.resolve(
      t.app.inject({
        method: 'POST',
        url: '/api/v1/analytics/ingest',
        headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
        payload: { messages: [created] },
      }),
    );
    // An operator cancels the waiting statement; the lock is free a moment later.
    const waiting = await waitFor('the batch to wait for the lock', async () => {
      const { rows } = await holder.query<{ pid: number }>(
        "select pid from pg_stat_activity where wait_event_type = 'Lock' and query like '%pg_advisory_xact_lock%'",
      );
      return rows[0]?.pid;
    });
    await holder.query('select pg_cancel_backend($1)', [waiting]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await releaseLock();
    const answer = await first;
    // Not a dead letter, not committed without its parked confirmation: the whole batch is refused
    // for now, as during an outage, and the client sends it again.
    expect(answer.statusCode).toBe(503);
    expect(answer.headers['retry-after']).toBeDefined();
    const again = await ingestHttp(t.app, t.token, [JSON.stringify(created)]);
    expect(again[0]?.outcome).toBe('processed');
    expect(await getData(t.app, t.token, '/api/v1/analytics/events/2')).toMatchObject({
      confirmed_bookings: 1,
      total_revenue: 20,
    });
    const letters = await t.app.inject({
      url: '/api/v1/analytics/dead-letters?reason=processing_error',
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(letters.json<{ data: { dead_letters: unknown[] } }>().data.dead_letters).toEqual([]);
  });

  it('answers 503 when the writer stays busy past INGEST_WAIT_SECONDS, having written nothing', async () => {
    await ingestHttp(t.app, t.token, [event(3)]);
    const quick = await startTestApp({ databaseUrl: t.database?.url, env: { INGEST_WAIT_SECONDS: '1' } });
    const post = (id: number) =>
      quick.app.inject({
        method: 'POST',
        url: '/api/v1/analytics/ingest',
        headers: { authorization: `Bearer ${quick.token}`, 'content-type': 'application/json' },
        payload: { messages: [JSON.parse(bookingMessage('BookingCreated', booking(id, 3))) as unknown] },
      });
    try {
      await holdLock();
      const started = Date.now();
      // One waits on the lock, the other behind it in the instance's own queue: both are answered.
      const answers = await Promise.all([post(601), post(602)]);
      const waited = Date.now() - started;
      await releaseLock();
      for (const answer of answers) {
        expect(answer.statusCode).toBe(503);
        expect(answer.headers['retry-after']).toBe('5');
        expect(answer.json<{ detail: string }>().detail).toMatch(
          /the writer was busy for 1 s .*nothing of this batch was written/,
        );
      }
      expect(waited).toBeLessThan(10_000);
      // Nothing of them was written, now that the lock is free either.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await getData(t.app, t.token, '/api/v1/analytics/events/3')).toMatchObject({
        total_bookings: 0,
      });
      const sentAgain = await post(601);
      expect(sentAgain.statusCode).toBe(200);
      expect(sentAgain.json<{ data: { results: { outcome: string }[] } }>().data.results[0]?.outcome).toBe(
        'processed',
      );
      expect(await getData(t.app, t.token, '/api/v1/analytics/events/3')).toMatchObject({
        total_bookings: 1,
      });
    } finally {
      await releaseLock().catch(() => undefined);
      await quick.close();
    }
  });

  it('runs a batch that has the writer to its end, however long its statements wait', async () => {
    await ingestHttp(t.app, t.token, [event(4)]);
    const quick = await startTestApp({ databaseUrl: t.database?.url, env: { INGEST_WAIT_SECONDS: '1' } });
    try {
      // Another session holds a table the batch writes, for longer than the wait for the writer.
      await holder.query('begin');
      await holder.query('lock table totals in exclusive mode');
      // Started now (an injected request is sent once it is awaited or its then() is called).
      const answer = Promise.resolve(
        quick.app.inject({
          method: 'POST',
          url: '/api/v1/analytics/ingest',
          headers: { authorization: `Bearer ${quick.token}`, 'content-type': 'application/json' },
          payload: { messages: [JSON.parse(bookingMessage('BookingCreated', booking(701, 4))) as unknown] },
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await holder.query('commit');
      const res = await answer;
      expect(res.statusCode, res.body).toBe(200);
      expect(await getData(t.app, t.token, '/api/v1/analytics/events/4')).toMatchObject({
        total_bookings: 1,
      });
    } finally {
      await holder.query('rollback').catch(() => undefined);
      await quick.close();
    }
  });

  it('takes a failure of the moment in its writes for one: refused whole, not split', async () => {
    await ingestHttp(t.app, t.token, [event(5)]);
    // The batch's last write fails once, as a deadlock would; statements sent after it fail as
    // "current transaction is aborted", which is not what went wrong.
    const failing = await failOnce(t.deps.database.db, {
      name: 'totals_fail_once',
      table: 'totals',
      on: 'update',
      errcode: '40P01',
    });
    try {
      const messages = [801, 802].map(
        (id) => JSON.parse(bookingMessage('BookingCreated', booking(id, 5))) as unknown,
      );
      const post = () =>
        t.app.inject({
          method: 'POST',
          url: '/api/v1/analytics/ingest',
          headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
          payload: { messages },
        });
      const first = await post();
      expect(first.statusCode, first.body).toBe(503);
      expect(first.headers['retry-after']).toBeDefined();
      expect(await getData(t.app, t.token, '/api/v1/analytics/events/5')).toMatchObject({
        total_bookings: 0,
      });
      const again = await post();
      expect(again.statusCode, again.body).toBe(200);
      expect(await getData(t.app, t.token, '/api/v1/analytics/events/5')).toMatchObject({
        total_bookings: 2,
      });
    } finally {
      await failing.remove();
    }
  });
});
