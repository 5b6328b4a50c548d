/** Regressions found in review: retry races, user status order, rebuild and user status, ETags at midnight. */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { getData, ingestHttp } from '../helpers/conformance.ts';

const BASE = '/api/v1/analytics';

describe('review regressions', () => {
  let t: TestApp;
  const auth = () => ({ authorization: `Bearer ${t.token}` });
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('keeps a parked message processed when its retry races with the booking that releases it', async () => {
    const confirm = JSON.stringify({
      type: 'BookingConfirmed',
      booking_id: 9200,
      booking_data: { confirmed_at: '2026-11-02T10:00:00' },
    });
    const created = JSON.stringify({
      type: 'BookingCreated',
      booking_id: 9200,
      event_id: 79,
      user_id: 1,
      booking_data: { quantity: 1, total_amount: 10, created_at: '2026-11-02T09:00:00' },
    });
    await ingestHttp(t.app, t.token, [confirm]);
    const { rows } = await sql<{ id: number }>`
      select id::float8 as id from event_log where booking_id = 9200 and reason = 'unknown_booking'`.execute(
      t.deps.database.db,
    );
    const parked = rows[0]?.id;
    await Promise.all([
      t.app.inject({
        method: 'POST',
        url: `${BASE}/ingest`,
        headers: auth(),
        payload: { messages: [created] },
      }),
      t.app.inject({ method: 'POST', url: `${BASE}/dead-letters/${parked}/retry`, headers: auth() }),
    ]);
    const row = await sql<{ outcome: string }>`select outcome from event_log where id = ${parked}`.execute(
      t.deps.database.db,
    );
    expect(row.rows[0]?.outcome).toBe('processed');
    expect((await ingestHttp(t.app, t.token, [confirm]))[0]?.outcome).toBe('duplicate');
    expect((await getData(t.app, t.token, `${BASE}/events/79`)).confirmed_bookings).toBe(1);
    await t.app.inject({ method: 'POST', url: `${BASE}/rebuild`, headers: auth() });
    expect((await getData(t.app, t.token, `${BASE}/events/79`)).confirmed_bookings).toBe(1);
  });

  it('applies the newest user status whatever the order, and a rebuild does not undo an admin', async () => {
    const as = async (userId: number) =>
      (
        await t.app.inject({
          method: 'GET',
          url: `${BASE}/system`,
          headers: { authorization: `Bearer ${await t.mint({ userId })}` },
        })
      ).statusCode;
    await ingestHttp(t.app, t.token, [
      JSON.stringify({ type: 'UserDeactivated', user_id: 503, timestamp: '2026-01-03T00:00:00Z' }),
      JSON.stringify({ type: 'UserReactivated', user_id: 503, timestamp: '2026-01-01T00:00:00Z' }),
    ]);
    await t.deps.disabledUsers.refresh();
    expect(await as(503)).toBe(401);

    await ingestHttp(t.app, t.token, [
      JSON.stringify({ type: 'UserDeactivated', user_id: 501, timestamp: '2026-01-01T00:00:00Z' }),
      JSON.stringify({ type: 'UserReactivated', user_id: 501, timestamp: '2026-01-02T00:00:00Z' }),
    ]);
    await t.app.inject({ method: 'POST', url: `${BASE}/admin/users/501/disable`, headers: auth() });
    expect(await as(501)).toBe(401);
    await t.app.inject({ method: 'POST', url: `${BASE}/rebuild`, headers: auth() });
    await t.deps.disabledUsers.refresh();
    expect(await as(501)).toBe(401);
  });

  it('dates a parked message by when it was first received, live as in a rebuild', async () => {
    await ingestHttp(t.app, t.token, [JSON.stringify({ type: 'BookingConfirmed', booking_id: 9101 })]);
    const longLived = await t.mint({ expiresInSeconds: 5 * 86_400 });
    const realNow = Date.now();
    vi.spyOn(Date, 'now').mockImplementation(() => realNow + 3 * 86_400_000);
    try {
      const created = JSON.stringify({
        type: 'BookingCreated',
        booking_id: 9101,
        event_id: 80,
        booking_data: { quantity: 1, total_amount: 5, created_at: '2026-11-01T10:00:00' },
      });
      await ingestHttp(t.app, longLived, [created]);
    } finally {
      vi.restoreAllMocks();
    }
    const res = await t.app.inject({ method: 'POST', url: `${BASE}/reconcile`, headers: auth() });
    expect(res.json<{ data: { drift: boolean } }>().data.drift).toBe(false);
  });

  it('does not answer 304 for yesterday once the default as_of has moved to a new day', async () => {
    // A token that is still valid tomorrow, so only the date moves.
    const longLived = { authorization: `Bearer ${await t.mint({ expiresInSeconds: 3 * 86_400 })}` };
    const first = await t.app.inject({ method: 'GET', url: `${BASE}/daily?days=7`, headers: longLived });
    const etag = first.headers.etag as string;
    const realNow = Date.now();
    vi.spyOn(Date, 'now').mockImplementation(() => realNow + 86_400_000);
    try {
      const next = await t.app.inject({
        method: 'GET',
        url: `${BASE}/daily?days=7`,
        headers: { ...longLived, 'if-none-match': etag },
      });
      expect(next.statusCode).toBe(200);
    } finally {
      vi.restoreAllMocks();
    }
  });
});
