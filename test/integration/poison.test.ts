/**
 * A message that passes validation but makes its transaction fail (here: a trigger standing in for
 * a bug or a data conflict) is isolated and kept as a dead letter; the messages around it are
 * processed. A broken service (every message failing) is not mistaken for poison.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { ingestHttp } from '../helpers/conformance.ts';

const created = (id: number) =>
  JSON.stringify({
    type: 'BookingCreated',
    booking_id: id,
    event_id: 1,
    user_id: id,
    booking_data: { quantity: 1, total_amount: 10, created_at: '2026-11-10T10:00:00' },
  });

describe('a poison message', () => {
  let t: TestApp;
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  beforeAll(async () => {
    process.on('warning', onWarning);
    t = await startTestApp();
    await sql
      .raw(
        `
      create function refuse_666() returns trigger language plpgsql as $$
      begin
        if new.booking_id between 600 and 699 then raise exception 'refusing booking %', new.booking_id; end if;
        if new.booking_id = 999 then raise exception 'refusing every booking'; end if;
        if new.booking_id = 777 and new.state::text like '%"confirmed"%' then raise exception 'refusing 777'; end if;
        return new;
      end $$;
      create trigger refuse_666 before insert or update on bookings for each row execute function refuse_666();
    `,
      )
      .execute(t.deps.database.db);
  });
  afterAll(async () => {
    process.off('warning', onWarning);
    await t.close();
  });

  it('is kept as a dead letter while the rest of its batch is processed', async () => {
    const ids = [1, 2, 3, 666, 4, 5, 6, 7];
    const results = await ingestHttp(t.app, t.token, ids.map(created));
    expect(results.map((r) => r.outcome)).toEqual(ids.map((id) => (id === 666 ? 'rejected' : 'processed')));
    expect(results[3]?.reason).toBe('processing_error');
    const letters = await t.app.inject({
      method: 'GET',
      url: '/api/v1/analytics/dead-letters?reason=processing_error',
      headers: { authorization: `Bearer ${t.token}` },
    });
    const body = letters.json<{ data: { dead_letters: { raw: string; detail: string }[] } }>();
    expect(body.data.dead_letters).toHaveLength(1);
    expect(body.data.dead_letters[0]?.raw).toContain('666');
    expect(JSON.stringify(body)).not.toMatch(/refusing|plpgsql|trigger/);
  });

  it('lets a booking through when what fails is a parked transition it releases', async () => {
    const confirm = JSON.stringify({
      type: 'BookingConfirmed',
      booking_id: 777,
      booking_data: { confirmed_at: '2026-11-10T11:00:00' },
    });
    expect((await ingestHttp(t.app, t.token, [confirm]))[0]?.reason).toBe('unknown_booking');
    const results = await ingestHttp(t.app, t.token, [created(777)]);
    expect(results[0]?.outcome).toBe('processed');
    const { rows } = await sql<{ outcome: string; reason: string }>`
      select outcome, reason from event_log where booking_id = 777 order by id`.execute(t.deps.database.db);
    expect(rows).toEqual([
      { outcome: 'rejected', reason: 'unknown_booking' },
      { outcome: 'processed', reason: null },
    ]);
  });

  it('keeps one dead letter when the same poison message is delivered again', async () => {
    await ingestHttp(t.app, t.token, [created(666)]);
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from event_log where reason = 'processing_error' and raw like '%666%'`.execute(
      t.deps.database.db,
    );
    expect(rows[0]?.n).toBe(1);
  });

  it('never stops the messages behind a run of poison messages, in one call or one after another', async () => {
    const together = await ingestHttp(t.app, t.token, [601, 602, 603, 604, 605, 20].map(created));
    expect(together.map((r) => r.reason ?? r.outcome)).toEqual([
      ...Array<string>(5).fill('processing_error'),
      'processed',
    ]);
    for (const id of [611, 612, 613, 614, 615])
      expect((await ingestHttp(t.app, t.token, [created(id)]))[0]?.reason).toBe('processing_error');
    expect((await ingestHttp(t.app, t.token, [created(21)]))[0]?.outcome).toBe('processed');
  });

  it('is not taken for poison when a path other than bookings is broken (user status here)', async () => {
    const db = t.deps.database.db;
    await sql
      .raw(
        `create function refuse_status() returns trigger language plpgsql as $$
         begin raise exception 'refusing every user status'; end $$;
         create trigger refuse_status before insert or update on user_status
           for each row execute function refuse_status();`,
      )
      .execute(db);
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/analytics/ingest',
        headers: { authorization: `Bearer ${t.token}` },
        payload: {
          messages: [
            JSON.stringify({ type: 'UserDeactivated', user_id: 42, occurred_at: '2026-11-10T10:00:00Z' }),
          ],
        },
      });
      expect(res.statusCode).toBe(500);
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from event_log where raw like '%UserDeactivated%'`.execute(db);
      expect(rows[0]?.n).toBe(0);
    } finally {
      await sql.raw('drop trigger refuse_status on user_status; drop function refuse_status()').execute(db);
    }
  });

  it('stops instead of dead-lettering message after message when the service itself is broken', async () => {
    const deadLetters = async () =>
      (
        await sql<{
          n: number;
        }>`select count(*)::int as n from event_log where reason = 'processing_error'`.execute(
          t.deps.database.db,
        )
      ).rows[0]?.n;
    const before = await deadLetters();
    await sql
      .raw(
        `
      create or replace function refuse_666() returns trigger language plpgsql as $$
      begin raise exception 'refusing every booking'; end $$;
    `,
      )
      .execute(t.deps.database.db);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/ingest',
      headers: { authorization: `Bearer ${t.token}` },
      payload: { messages: [10, 11, 12, 13, 14, 15].map(created) },
    });
    expect(res.statusCode).toBe(500);
    // Not one of them is taken for poison: a known-good message fails too, so the service is broken.
    expect(await deadLetters()).toBe(before);
  });

  it('is rolled back with no statement of its batch still queued on the connection', () => {
    // node-postgres warns (once per process) when a query is queued behind a busy client, which
    // is what a ROLLBACK sent while the batch's other statements were still queued does.
    expect(warnings.map((w) => w.message).filter((m) => /already executing a query/.test(m))).toEqual([]);
  });
});
