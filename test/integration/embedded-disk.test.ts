/**
 * The embedded store on a nearly full disk: PGlite runs in the service's own process, and a write
 * its disk refuses leaves it spinning for good, deaf to every request. Below EMBEDDED_MIN_FREE_MB
 * (128 MB by default) it takes no writes: ingest answers 503 and loses nothing, reads and /health
 * answer and say why, and once space is freed the same messages go in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorMessage } from '../../src/platform/error-message.ts';
import { isWriteStatement } from '../../src/platform/disk-guard.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { getData } from '../helpers/conformance.ts';
import { waitFor } from '../helpers/db.ts';
import { bookingMessage, eventCreated } from '../support/messages.ts';

const MB = 1_048_576;

describe('the embedded store on a nearly full disk', () => {
  let t: TestApp;
  let free = 10_000 * MB;
  beforeAll(async () => {
    t = await startTestApp({ store: 'pglite', depsOptions: { freeBytes: () => free } });
  });
  afterAll(async () => t.close());

  const now = Date.parse('2026-11-20T10:00:00Z');
  const messages = [
    eventCreated({
      id: 1,
      name: 'Disk night',
      category: 'music',
      capacity: 10,
      price: 5,
      createdAt: now,
      eventDate: now + 86_400_000,
    }),
    bookingMessage('BookingCreated', {
      id: 1,
      eventId: 1,
      userId: 1,
      quantity: 2,
      totalAmount: 10,
      createdAt: now,
    }),
  ];
  const ingest = () =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/ingest',
      headers: { authorization: `Bearer ${t.token}` },
      payload: { messages: messages.map((m) => JSON.parse(m) as unknown) },
    });
  const health = async () =>
    (await t.app.inject({ method: 'GET', url: '/health' })).json<{ status: string; reasons: string[] }>();

  it('refuses writes with a 503 below the free space it needs, keeps answering reads, and says why', async () => {
    free = 50 * MB;
    // The guard reads the free space again within a second.
    const report = await waitFor('the disk to be told full', async () => {
      const h = await health();
      return h.status === 'degraded' ? h : undefined;
    });
    expect(report.reasons.some((r) => /has 50 MB free: below 128 MB \(EMBEDDED_MIN_FREE_MB\)/.test(r))).toBe(
      true,
    );
    const refused = await ingest();
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
    expect(refused.json<{ title: string }>().title).toBe('Service Unavailable');

    const system = await getData(t.app, t.token, '/api/v1/analytics/system');
    expect(system.total_bookings).toBe(0);
    // Any other write is refused the same way, not as an internal error.
    const disable = await t.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/admin/users/4242/disable',
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(disable.statusCode).toBe(503);
    expect(disable.headers['retry-after']).toBeDefined();
  });

  it('takes the same messages once space is freed, counting each once', async () => {
    free = 10_000 * MB;
    await waitFor('the disk to be told free again', async () =>
      (await health()).status === 'healthy' ? true : undefined,
    );
    const taken = await ingest();
    expect(taken.statusCode).toBe(200);
    expect(
      taken.json<{ data: { results: { outcome: string }[] } }>().data.results.map((r) => r.outcome),
    ).toEqual(['processed', 'processed']);
    const system = await getData(t.app, t.token, '/api/v1/analytics/system');
    expect(system.total_bookings).toBe(1);
  });
});

describe('an error thrown as a plain object (PGlite, Emscripten)', () => {
  it('is told by its message, or its name, code and errno, never as [object Object]', () => {
    expect(errorMessage({ name: 'ErrnoError', errno: 28, code: 'ENOSPC' })).toBe(
      'ErrnoError ENOSPC errno 28',
    );
    expect(errorMessage({ message: 'could not extend file' })).toBe('could not extend file');
    expect(errorMessage({ detail: 'x' })).toBe('{"detail":"x"}');
    expect(errorMessage(new Error('plain'))).toBe('plain');
    expect(errorMessage('text')).toBe('text');
  });
});

describe('which statements the full-disk guard stops', () => {
  it('stops writes however they are written, and lets reads, probes and transaction control through', () => {
    const writes = [
      'insert into event_log (raw) values ($1)',
      '  UPDATE events SET name = $1',
      '-- a comment first\ndelete from uptime_runs',
      '/* a block */ (insert into t values (1))',
      'with held as (select 1) insert into uptime_runs select 1, 2',
      'with x as (update "users" set bookings = 1 returning 1) select * from x',
      'merge into t using s on true when matched then do nothing',
      'create index i on t (c)',
      'analyze event_log',
      'truncate flow_day',
    ];
    const reads = [
      'select 1',
      'begin',
      'rollback',
      "select set_config('statement_timeout', '0', true)",
      'select pg_advisory_xact_lock($1)',
      'with s as (select updated_at, last_update from events) select * from s',
      '-- insert into nothing\nselect 2',
    ];
    for (const text of writes) expect(isWriteStatement(text), text).toBe(true);
    for (const text of reads) expect(isWriteStatement(text), text).toBe(false);
  });
});
