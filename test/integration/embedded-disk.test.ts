/**
 * The embedded store on a nearly full disk: PGlite runs in the service's own process, and a write
 * its disk refuses leaves it spinning for good, deaf to every request. Below EMBEDDED_MIN_FREE_MB
 * (128 MB by default) it takes no writes: ingest answers 503 and loses nothing, reads and /health
 * answer and say why, and once space is freed the same messages go in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError } from '../../src/platform/db.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { getData } from '../helpers/conformance.ts';
import { bookingMessage, eventCreated } from '../support/messages.ts';

const MB = 1_048_576;
/** The guard reads the free space again after a second. */
const RECHECK_MS = 1_100;

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
    await new Promise((resolve) => setTimeout(resolve, RECHECK_MS));
    const refused = await ingest();
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
    expect(refused.json<{ title: string }>().title).toBe('Service Unavailable');

    const system = await getData(t.app, t.token, '/api/v1/analytics/system');
    expect(system.total_bookings).toBe(0);
    const report = await health();
    expect(report.status).toBe('degraded');
    expect(report.reasons.some((r) => /has 50 MB free: below 128 MB \(EMBEDDED_MIN_FREE_MB\)/.test(r))).toBe(
      true,
    );
  });

  it('takes the same messages once space is freed, counting each once', async () => {
    free = 10_000 * MB;
    await new Promise((resolve) => setTimeout(resolve, RECHECK_MS));
    const taken = await ingest();
    expect(taken.statusCode).toBe(200);
    expect(
      taken.json<{ data: { results: { outcome: string }[] } }>().data.results.map((r) => r.outcome),
    ).toEqual(['processed', 'processed']);
    const system = await getData(t.app, t.token, '/api/v1/analytics/system');
    expect(system.total_bookings).toBe(1);
    expect((await health()).reasons.some((r) => r.includes('EMBEDDED_MIN_FREE_MB'))).toBe(false);
  });
});

describe('an error thrown as a plain object (PGlite, Emscripten)', () => {
  it('is told by its message, or its name, code and errno, never as [object Object]', () => {
    expect(describeError({ name: 'ErrnoError', errno: 28, code: 'ENOSPC' })).toBe(
      'ErrnoError ENOSPC errno 28',
    );
    expect(describeError({ message: 'could not extend file' })).toBe('could not extend file');
    expect(describeError({ detail: 'x' })).toBe('{"detail":"x"}');
    expect(describeError(new Error('plain'))).toBe('plain');
    expect(describeError('text')).toBe('text');
  });
});
