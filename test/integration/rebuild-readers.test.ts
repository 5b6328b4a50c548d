/**
 * A rebuild or a reconcile of a sizeable log does not hold readers up: while either runs, reads of
 * the figures and /health answer at once with the figures as they were before it. A reconcile
 * does not hold ingestion up either.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { bookingMessage, eventCreated } from '../support/messages.ts';

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 5);
const BOOKINGS = 15_000;

/** Ten events and BOOKINGS bookings over 30 days, most confirmed, some cancelled: ~28k messages. */
function history(): string[] {
  const messages: string[] = [];
  for (let id = 1; id <= 10; id++) {
    messages.push(
      eventCreated({
        id,
        name: `Event ${id}`,
        category: 'music',
        capacity: 10_000,
        price: 20,
        createdAt: START - DAY,
        eventDate: START + 60 * DAY,
      }),
    );
  }
  const step = (30 * DAY) / BOOKINGS;
  for (let id = 1; id <= BOOKINGS; id++) {
    const b = {
      id,
      eventId: 1 + (id % 10),
      userId: 1 + (id % 3_000),
      quantity: 1 + (id % 3),
      totalAmount: 20 * (1 + (id % 3)),
      createdAt: Math.floor(START + id * step),
    };
    messages.push(bookingMessage('BookingCreated', b));
    if (id % 5 !== 0) messages.push(bookingMessage('BookingConfirmed', b, b.createdAt + 60_000));
    if (id % 11 === 0) messages.push(bookingMessage('BookingCancelled', b, b.createdAt + 120_000));
  }
  return messages;
}

interface Sample {
  totalBookings: number;
  health: string;
  ms: number;
  /** The read answered before the operation did. */
  during: boolean;
}

describe('readers during a rebuild or a reconcile', () => {
  let t: TestApp;
  const auth = () => ({ authorization: `Bearer ${t.token}` });

  const totalBookings = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/system', headers: auth() });
    expect(res.statusCode).toBe(200);
    return res.json<{ data: { total_bookings: number } }>().data.total_bookings;
  };

  /** Reads the figures and /health back to back until `operation` answers; returns each read. */
  async function readWhile(operation: Promise<unknown>): Promise<{ samples: Sample[]; ms: number }> {
    const started = performance.now();
    let done = false;
    const finished = operation.finally(() => {
      done = true;
    });
    const samples: Sample[] = [];
    while (!done) {
      const s = performance.now();
      const [total, health] = await Promise.all([
        totalBookings(),
        t.app.inject({ method: 'GET', url: '/health' }),
      ]);
      samples.push({
        totalBookings: total,
        health: health.json<{ status: string }>().status,
        ms: performance.now() - s,
        during: !done,
      });
    }
    await finished;
    return { samples, ms: performance.now() - started };
  }

  beforeAll(async () => {
    // Cache off: every read goes to PostgreSQL.
    t = await startTestApp({ env: { ANALYTICS_CACHE_TTL: '0' } });
    const messages = history();
    for (let i = 0; i < messages.length; i += 5_000) {
      const batch = messages.slice(i, i + 5_000).map((raw) => ({ raw, transport: 'http' as const }));
      await t.deps.ingest.processBatch(batch);
    }
  }, 120_000);
  afterAll(async () => t.close());

  it('answers reads with the old figures, without waiting, while a rebuild replaces them', async () => {
    // A figure changed behind the service's back: the rebuild puts it right, so the figures read
    // during the rebuild show whether they are the old ones.
    const right = await totalBookings();
    await sql`update totals set bookings = bookings + 7 where id = 1`.execute(t.deps.database.db);

    const rebuild = t.app.inject({ method: 'POST', url: '/api/v1/analytics/rebuild', headers: auth() });
    const { samples, ms } = await readWhile(rebuild);

    expect((await rebuild).statusCode).toBe(200);
    const during = samples.filter((s) => s.during);
    expect(during.length, `reads answered during a ${Math.round(ms)} ms rebuild`).toBeGreaterThanOrEqual(3);
    expect(new Set(during.map((s) => s.totalBookings))).toEqual(new Set([right + 7]));
    expect(new Set(samples.map((s) => s.health))).toEqual(new Set(['healthy']));
    // Generous: a read shares the event loop with the rebuild's parsing, but never waits for its commit.
    expect(Math.max(...samples.map((s) => s.ms))).toBeLessThan(ms / 2);
    expect(await totalBookings()).toBe(right);
  }, 60_000);

  it('answers reads without waiting while a reconcile recomputes every figure', async () => {
    const before = await totalBookings();
    const reconcile = t.app.inject({ method: 'POST', url: '/api/v1/analytics/reconcile', headers: auth() });
    const { samples, ms } = await readWhile(reconcile);

    const report = (await reconcile).json<{ data: { drift: boolean } }>().data;
    expect(report.drift).toBe(false);
    const during = samples.filter((s) => s.during);
    expect(during.length, `reads answered during a ${Math.round(ms)} ms reconcile`).toBeGreaterThanOrEqual(3);
    expect(new Set(samples.map((s) => s.totalBookings))).toEqual(new Set([before]));
    expect(Math.max(...samples.map((s) => s.ms))).toBeLessThan(ms / 2);
  }, 60_000);

  /** Until a reconcile's session has read a page of the event log: its snapshot taken, its replay under way. */
  async function untilReplaying(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()
          and state in ('active', 'idle in transaction')
          and query like '%from event_log where outcome = ''processed'' and id >%'`.execute(
        t.deps.database.db,
      );
      if ((rows[0]?.n ?? 0) > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    throw new Error('the reconcile did not begin its replay within 10 s');
  }

  it('takes ingest while a reconcile recomputes, and the reconcile still finds no drift', async () => {
    const before = await totalBookings();
    const booking = {
      id: BOOKINGS + 1,
      eventId: 1,
      userId: 1,
      quantity: 1,
      totalAmount: 20,
      createdAt: START + DAY,
    };
    const answered: string[] = [];
    const reconcile = t.app
      .inject({ method: 'POST', url: '/api/v1/analytics/reconcile', headers: auth() })
      .finally(() => answered.push('reconcile'));
    // Once the reconcile is replaying the log: its snapshot is taken, and the ingest commits after it.
    await untilReplaying();
    const ingestSentAt = Date.now();
    const ingest = t.app
      .inject({
        method: 'POST',
        url: '/api/v1/analytics/ingest',
        headers: auth(),
        payload: { messages: [JSON.parse(bookingMessage('BookingCreated', booking)) as unknown] },
      })
      .finally(() => answered.push('ingest'));
    const [reconciled, ingested] = await Promise.all([reconcile, ingest]);

    expect(ingested.statusCode).toBe(200);
    expect(ingested.json<{ data: { results: { outcome: string }[] } }>().data.results[0]?.outcome).toBe(
      'processed',
    );
    // Processed while the recomputation ran, not after it.
    expect(answered).toEqual(['ingest', 'reconcile']);
    const report = reconciled.json<{ data: { drift: boolean; checked_at: string } }>().data;
    expect(report.drift).toBe(false);
    // The figures checked are those of the snapshot, from before the ingest.
    expect(Date.parse(report.checked_at)).toBeLessThan(ingestSentAt);
    expect(await totalBookings()).toBe(before + 1);
    // And a reconcile of the store with the new booking finds none either.
    const again = await t.app.inject({ method: 'POST', url: '/api/v1/analytics/reconcile', headers: auth() });
    expect(again.json<{ data: { drift: boolean } }>().data.drift).toBe(false);
  }, 60_000);
});
