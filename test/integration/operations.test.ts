/** Operator tools: rebuild, reconcile (drift detection) and event-log retention. */
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTimeout } from '../../src/platform/deadline.ts';
import { pruneEventLog } from '../../src/store/maintenance.repository.ts';
import { startTestApp, TEST_SECRET, type TestApp } from '../helpers/app.ts';
import { runCli } from '../helpers/cli.ts';
import { getData, ingestHttp, loadCases } from '../helpers/conformance.ts';

const c = loadCases().find((x) => x.name === '04-updates-deletes');
if (!c) throw new Error('fixture missing');

describe('operations on the event log', () => {
  let t: TestApp;
  const post = async (url: string) =>
    t.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${t.token}` } });

  beforeAll(async () => {
    t = await startTestApp();
    await ingestHttp(
      t.app,
      t.token,
      c.lines.map((l) => l.raw),
    );
  });
  afterAll(async () => t.close());

  it('finds no drift when the incremental figures are right', async () => {
    const res = await post('/api/v1/analytics/reconcile');
    expect(res.statusCode).toBe(200);
    const report = res.json<{ data: { drift: boolean; difference_count: number } }>().data;
    expect(report).toMatchObject({ drift: false, difference_count: 0 });
  });

  it('reports drift in /health after a figure was changed behind its back, and a rebuild repairs it', async () => {
    await sql`update events set total_bookings = total_bookings + 5 where event_id = (select min(event_id) from events)`.execute(
      t.deps.database.db,
    );
    const res = await post('/api/v1/analytics/reconcile');
    const report = res.json<{ data: { drift: boolean; differences: { table: string }[] } }>().data;
    expect(report.drift).toBe(true);
    expect(report.differences[0]?.table).toBe('events');
    const health = (await t.app.inject({ method: 'GET', url: '/health' })).json<{
      status: string;
      reasons: string[];
    }>();
    expect(health.status).toBe('degraded');
    // One figure changed: said in the singular, with what mends it.
    expect(health.reasons.join(' ')).toMatch(
      /reconcile at \S+ found 1 figure that differs from a recomputation: npm run rebuild/,
    );

    const rebuilt = await post('/api/v1/analytics/rebuild');
    expect(rebuilt.statusCode).toBe(200);
    expect(rebuilt.json<{ data: { messages: number; duration_ms: number } }>().data.messages).toBeGreaterThan(
      0,
    );
    const again = (await post('/api/v1/analytics/reconcile')).json<{ data: { drift: boolean } }>().data;
    expect(again.drift).toBe(false);
    const system = await getData(t.app, t.token, `/api/v1/analytics/system?as_of=${c.config.as_of}`);
    expect(system.total_bookings).toBe(c.expected.system.total_bookings);
  });

  it('reports drift in the per-event day and quarter-hour flows and in the booking states too', async () => {
    const db = t.deps.database.db;
    await sql`update flow_day_event set new_bookings = new_bookings + 5
      where (event_id, day) = (select event_id, day from flow_day_event order by 1, 2 limit 1)`.execute(db);
    await sql`update flow_bucket_event set new_bookings = new_bookings + 7
      where (event_id, bucket) = (select event_id, bucket from flow_bucket_event order by 1, 2 limit 1)`.execute(
      db,
    );
    await sql`update bookings set state = jsonb_set(state::jsonb, '{created,amount}', '9990000')::json
      where booking_id = (select min(booking_id) from bookings where state::jsonb ? 'created')`.execute(db);
    const report = (await post('/api/v1/analytics/reconcile')).json<{
      data: { drift: boolean; difference_count: number; differences: { table: string }[] };
    }>().data;
    expect(report.drift).toBe(true);
    expect(report.difference_count).toBe(3);
    expect(report.differences.map((d) => d.table).sort()).toEqual([
      'bookings',
      'flow_bucket_event',
      'flow_day_event',
    ]);

    expect((await post('/api/v1/analytics/rebuild')).statusCode).toBe(200);
    const again = (await post('/api/v1/analytics/reconcile')).json<{ data: { drift: boolean } }>().data;
    expect(again.drift).toBe(false);
  });

  it('reports drift in the users, the activity masks and the revenue per currency, compared in the database', async () => {
    const db = t.deps.database.db;
    await sql`update users set bookings = bookings + 1 where user_id = (select min(user_id) from users where bookings > 0)`.execute(
      db,
    );
    await sql`delete from flow_mask_event where (day, event_id) = (select day, event_id from flow_mask_event
      where bit_count(quarters) > 0 order by 1, 2 limit 1)`.execute(db);
    await sql`insert into event_currency_revenue (event_id, currency, confirmed, amount)
      select min(event_id), 'ZZZ', 1, 5 from events`.execute(db);
    const report = (await post('/api/v1/analytics/reconcile')).json<{
      data: { drift: boolean; difference_count: number; differences: { table: string; key: string }[] };
    }>().data;
    expect(report.difference_count).toBe(3);
    expect(report.differences.map((d) => d.table).sort()).toEqual([
      'event_currency_revenue',
      'flow_mask_event',
      'users',
    ]);
    expect(report.differences.find((d) => d.table === 'event_currency_revenue')?.key).toMatch(/\|ZZZ$/);

    expect((await post('/api/v1/analytics/rebuild')).statusCode).toBe(200);
    const again = (await post('/api/v1/analytics/reconcile')).json<{ data: { drift: boolean } }>().data;
    expect(again.drift).toBe(false);
  });

  it('runs one rebuild at a time: requests arriving during one get its answer, without holding a connection each', async () => {
    const version = async () =>
      (await t.app.inject({ method: 'GET', url: '/health' })).json<{ data_version: number }>().data_version;
    const before = await version();
    // Ten at once (a double click, clients retrying), and reads meanwhile: the pool has ten connections.
    const [answers, reads] = await Promise.all([
      Promise.all(Array.from({ length: 10 }, () => post('/api/v1/analytics/rebuild'))),
      Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          t.app.inject({
            method: 'GET',
            url: `/api/v1/analytics/daily?days=${i + 2}&tz=Asia/Kathmandu`,
            headers: { authorization: `Bearer ${t.token}` },
          }),
        ),
      ),
    ]);
    expect(answers.map((a) => a.statusCode)).toEqual(Array(10).fill(200));
    const reports = answers.map((a) => a.json<{ data: { data_version: number } }>().data);
    expect(new Set(reports.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(reports[0]?.data_version).toBe(before + 1);
    expect(await version()).toBe(before + 1);
    expect(reads.map((r) => r.statusCode)).toEqual(Array(5).fill(200));
    // A rebuild of the other kind waits its turn, told when to come back; after it, it runs.
    const [plain, forced] = await Promise.all([
      post('/api/v1/analytics/rebuild'),
      post('/api/v1/analytics/rebuild?force=true'),
    ]);
    expect(plain.statusCode).toBe(200);
    expect(forced.statusCode).toBe(409);
    expect(forced.headers['retry-after']).toBe('5');
    expect(forced.json<{ detail: string }>().detail).toBe(
      'a rebuild is running on this instance: retry when it is done',
    );
    expect((await post('/api/v1/analytics/rebuild?force=true')).statusCode).toBe(200);
  });

  it('keeps processed keys through retention, so an old message re-delivered is still a duplicate, and says a rebuild would be incomplete', async () => {
    await sql`update event_log set received_at = now() - interval '40 days'`.execute(t.deps.database.db);
    const pruned = await t.deps.database.db.transaction().execute((trx) => pruneEventLog(trx, 30));
    expect(pruned.payloadsDropped).toBeGreaterThan(0);

    const firstProcessed = c.lines.find((l) => l.raw.includes('"BookingCreated"'));
    const results = await ingestHttp(t.app, t.token, [firstProcessed?.raw ?? '']);
    expect(results[0]?.outcome).toBe('duplicate');

    const refused = await post('/api/v1/analytics/rebuild');
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ detail: string }>().detail).toMatch(/pruned/);
    // The command line refuses the same way, with a code of its own (not a crash's 1).
    const cli = await runCli(['rebuild'], {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      DATABASE_URL: t.database?.url ?? '',
      JWT_SECRET: TEST_SECRET,
    });
    expect(cli.code).toBe(3);
    expect(cli.stderr).toMatch(/pruned .*npm run rebuild -- --force/);
    expect(cli.stderr).not.toMatch(/fatal|\n\s+at /);
    expect(cli.stdout).toBe('');
    const health = (await t.app.inject({ method: 'GET', url: '/health' })).json<{
      event_log: { rebuild_complete: boolean; payloads_pruned_before: string | null };
    }>();
    expect(health.event_log.rebuild_complete).toBe(false);
    expect(health.event_log.payloads_pruned_before).not.toBeNull();

    // Forced, it rebuilds from what is left and says how many processed messages it had to leave out.
    const forced = await post('/api/v1/analytics/rebuild?force=true');
    expect(forced.statusCode).toBe(200);
    expect(forced.json<{ data: { messages_without_payload: number } }>().data.messages_without_payload).toBe(
      pruned.payloadsDropped,
    );
  });

  it('says, once payloads are pruned, that drift can no longer be verified, without degrading the service', async () => {
    const report = (await post('/api/v1/analytics/reconcile')).json<{
      data: { drift: boolean; comparable: boolean; reason?: string; payloads_pruned_before?: string };
    }>().data;
    expect(report).toMatchObject({ drift: false, comparable: false });
    expect(report.reason).toMatch(/retention dropped the payloads .* drift cannot be verified/);
    expect(report.payloads_pruned_before).toMatch(/^\d{4}-\d\d-\d\dT/);

    const health = (await t.app.inject({ method: 'GET', url: '/health' })).json<{
      status: string;
      reconcile: {
        status: string;
        reason: string;
        checked_at: string;
        last_verified: { checked_at: string; drift: boolean } | null;
      };
    }>();
    expect(health.status).toBe('healthy');
    expect(health.reconcile.status).toBe('unverifiable');
    expect(health.reconcile.reason).toMatch(/drift cannot be verified/);
    // The clean run after the rebuild above was the last that could compare.
    expect(health.reconcile.last_verified).toMatchObject({ drift: false });
    expect(health.reconcile.last_verified!.checked_at <= health.reconcile.checked_at).toBe(true);
  });
});

describe('/health while another session holds a lock on the tables it reads', () => {
  let t: TestApp;
  let locker: pg.Client;
  beforeAll(async () => {
    t = await startTestApp();
    locker = new pg.Client({ connectionString: t.database?.url });
    await locker.connect();
  });
  afterAll(async () => {
    await locker.end();
    await t.close();
  });

  it('answers within its probe budget, degraded with the reason, and healthy again once the lock goes', async () => {
    await locker.query('begin');
    await locker.query('lock table totals, reconcile_runs in access exclusive mode');
    try {
      const started = performance.now();
      // Bounded here too, so that a /health that waits for the lock fails this test instead of hanging it.
      const res = await withTimeout(t.app.inject({ method: 'GET', url: '/health' }), 10_000, '/health');
      expect(performance.now() - started).toBeLessThan(4_000);
      expect(res.statusCode).toBe(200);
      const body = res.json<{
        status: string;
        reasons: string[];
        ingest: Record<string, unknown>;
        data_version: number | null;
        reconcile: unknown;
        event_log: { rebuild_complete: boolean | null };
      }>();
      expect(body.status).toBe('degraded');
      expect(body.reasons.join(' ')).toMatch(/not read: a query failed or took over 2000 ms/);
      expect(body.ingest).toMatchObject({ processed: null, duplicates: null, ignored: null, rejected: null });
      expect(body.data_version).toBeNull();
      expect(body.event_log.rebuild_complete).toBeNull();
      for (const url of ['/health/live', '/health/ready'])
        expect((await t.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    } finally {
      await locker.query('rollback');
    }
    const after = (await t.app.inject({ method: 'GET', url: '/health' })).json<{ status: string }>();
    expect(after.status).toBe('healthy');
  });
});

describe('a message that carries no time at all', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('finds no drift for messages that carry no time at all (their time of receipt is the one logged)', async () => {
    await ingestHttp(t.app, t.token, [
      JSON.stringify({
        type: 'EventCreated',
        event_id: 9101,
        event_data: { id: 9101, name: 'Timeless', capacity: 5 },
      }),
      JSON.stringify({
        type: 'BookingCreated',
        booking_id: 9102,
        event_id: 9101,
        user_id: 9103,
        booking_data: { quantity: 1, total_amount: 10, currency: 'USD' },
      }),
    ]);
    const report = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/analytics/reconcile',
        headers: { authorization: `Bearer ${t.token}` },
      })
    ).json<{
      data: { drift: boolean; differences: unknown[] };
    }>().data;
    expect(report.differences).toEqual([]);
    expect(report.drift).toBe(false);
  });
});
