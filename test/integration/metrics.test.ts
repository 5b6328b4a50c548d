/**
 * GET /metrics against the real app and PostgreSQL: request counts by route pattern, ingest
 * counters by outcome and transport, cache hits and misses, database pool and consumer gauges.
 */
import net, { type AddressInfo } from 'node:net';
import pg from 'pg';
import { register as globalRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import type { ConsumerStats } from '../../src/ingest/consumer.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor, when } from '../helpers/db.ts';
import { bookingMessage, eventCreated } from '../support/messages.ts';

const HOUR = 3_600_000;
const now = Date.now();
const concert = {
  id: 31,
  name: 'Harbour Lights Concert',
  category: 'music',
  capacity: 300,
  price: 35,
  createdAt: now - 48 * HOUR,
  eventDate: now + 240 * HOUR,
};
const booking = { id: 3101, eventId: 31, userId: 77, quantity: 2, totalAmount: 70, createdAt: now - HOUR };

let service: TestApp;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const m of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[m[1] as string] = m[2] as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(app = service.app): Promise<Sample[]> {
  const response = await app.inject({ url: '/metrics' });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(response.body);
}

/** The value of the one sample with this name and (at least) these labels; undefined when absent. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

/** The port of the service, which starts listening the first time it is asked. */
async function listeningPort(): Promise<number> {
  if (!service.app.server.listening) await service.app.listen({ port: 0, host: '127.0.0.1' });
  return (service.app.server.address() as AddressInfo).port;
}

const get = (url: string) =>
  service.app.inject({ url, headers: { authorization: `Bearer ${service.token}` } });

beforeAll(async () => {
  service = await startTestApp();
});

afterAll(async () => {
  await service?.close();
});

describe('GET /metrics', () => {
  it('answers without a token, in the Prometheus text format', async () => {
    const response = await service.app.inject({ url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('# TYPE evently_analytics_http_requests_total counter');
  });

  it('counts requests by route pattern, method and status, never by raw URL', async () => {
    expect((await get('/api/v1/analytics/events/424242')).statusCode).toBe(404);
    expect((await get('/api/v1/analytics/events/424243')).statusCode).toBe(404);
    expect((await get('/api/v1/analytics/events?limit=5')).statusCode).toBe(200);
    expect((await service.app.inject({ url: '/api/v1/analytics/system' })).statusCode).toBe(401);
    expect((await service.app.inject({ url: '/no/such/page/91' })).statusCode).toBe(404);

    const samples = await scrape();
    const requests = 'evently_analytics_http_requests_total';
    expect(
      valueOf(samples, requests, {
        route: '/api/v1/analytics/events/:event_id',
        method: 'GET',
        status: '404',
      }),
    ).toBe(2);
    expect(
      valueOf(samples, requests, { route: '/api/v1/analytics/events', method: 'GET', status: '200' }),
    ).toBe(1);
    expect(
      valueOf(samples, requests, { route: '/api/v1/analytics/system', method: 'GET', status: '401' }),
    ).toBe(1);
    expect(valueOf(samples, requests, { route: 'unmatched', method: 'GET', status: '404' })).toBe(1);
    expect(samples.filter((s) => /424242|424243|\/no\/such|\?/.test(s.labels.route ?? ''))).toEqual([]);
    expect(
      valueOf(samples, 'evently_analytics_http_request_duration_seconds_count', {
        route: '/api/v1/analytics/events/:event_id',
        method: 'GET',
        status: '404',
      }),
    ).toBe(2);
  });

  it('counts and identifies requests refused before routing: a malformed URL, a request Node cannot parse', async () => {
    const before = await scrape();
    const requests = 'evently_analytics_http_requests_total';
    const count = (samples: Sample[], labels: Record<string, string>) =>
      valueOf(samples, requests, labels) ?? 0;
    const malformed = await service.app.inject({ url: '/api/v1/analytics/events/%E0%A4%A' });
    expect(malformed.statusCode).toBe(400);

    const port = await listeningPort();
    // A bare CR inside a header: Node's parser refuses the request before Fastify sees it.
    const raw = await new Promise<string>((resolve, reject) => {
      let answer = '';
      const socket = net.connect(port, '127.0.0.1', () =>
        socket.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\rSet-Cookie: x=1\r\n\r\n'),
      );
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    const id = /^X-Request-Id: (\S+)\r$/im.exec(raw)?.[1];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(raw).toContain(`"request_id":"${id ?? ''}"`);
    expect(raw).not.toContain('Set-Cookie');

    const after = await scrape();
    for (const labels of [
      { route: 'unmatched', method: 'GET', status: '400' },
      { route: 'unmatched', method: 'UNKNOWN', status: '400' },
    ])
      expect(count(after, labels) - count(before, labels), JSON.stringify(labels)).toBe(1);
  });

  it('counts a live stream once it ends, with how long it was open apart from request latency', async () => {
    const port = await listeningPort();
    const aborting = new AbortController();
    const stream = await fetch(`http://127.0.0.1:${port}/api/v1/analytics/stream`, {
      headers: { authorization: `Bearer ${service.token}` },
      signal: aborting.signal,
    });
    expect(stream.status).toBe(200);
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    aborting.abort();
    const labels = { route: '/api/v1/analytics/stream', method: 'GET', status: '200' };
    await waitFor(
      'the stream to be counted',
      when(
        async () => valueOf(await scrape(), 'evently_analytics_http_requests_total', labels),
        (n) => n === 1,
      ),
    );
    const samples = await scrape();
    expect(
      valueOf(samples, 'evently_analytics_live_stream_duration_seconds_count', { route: labels.route }),
    ).toBe(1);
    // An hour-long stream is not an hour-long request: request latency leaves streams out.
    expect(valueOf(samples, 'evently_analytics_http_request_duration_seconds_count', labels)).toBeUndefined();
  });

  it('counts a stream the server ends (its session over) once too, logged by its own line only', async () => {
    const lines: string[] = [];
    const t = await startTestApp({
      env: { LOG_LEVEL: 'info' },
      logDestination: { write: (line: string) => void lines.push(line) },
    });
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = t.app.server.address() as AddressInfo;
      // Expired 26 s ago: still inside the 30 s clock-skew allowance, so the stream opens and the
      // server ends it within a few seconds, when the allowance runs out.
      const token = await t.mint({ expiresInSeconds: -26 });
      const stream = await fetch(`http://127.0.0.1:${port}/api/v1/analytics/stream`, {
        headers: { authorization: `Bearer ${token}`, 'x-request-id': 'ended-by-server-1' },
      });
      expect(stream.status).toBe(200);
      // The whole body arrives: the server ended the stream, the client did not go away.
      expect(await stream.text()).toContain(': connected');
      const labels = { route: '/api/v1/analytics/stream', method: 'GET', status: '200' };
      const samples = await waitFor(
        'the stream to be counted',
        when(
          async () => parseExposition((await t.app.inject({ url: '/metrics' })).body),
          (s) =>
            valueOf(s, 'evently_analytics_live_stream_duration_seconds_count', { route: labels.route }) === 1,
        ),
      );
      expect(valueOf(samples, 'evently_analytics_http_requests_total', labels)).toBe(1);
      expect(
        valueOf(samples, 'evently_analytics_http_request_duration_seconds_count', labels),
      ).toBeUndefined();
      const ofStream = lines.filter((line) => line.includes('"reqId":"ended-by-server-1"'));
      expect(ofStream.filter((line) => line.includes('"msg":"live stream closed"'))).toHaveLength(1);
      expect(ofStream.filter((line) => line.includes('request completed'))).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('counts ingested messages by outcome and transport, with the batch size and commit time', async () => {
    const before = await scrape();
    const response = await service.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/ingest',
      headers: { authorization: `Bearer ${service.token}` },
      payload: {
        messages: [
          eventCreated(concert),
          bookingMessage('BookingCreated', booking),
          bookingMessage('BookingCreated', booking),
          '{"type":"BookingCreated","booking_id":"not-a-number"}',
        ],
      },
    });
    expect(response.statusCode).toBe(200);
    const outcomes = response
      .json<{ data: { results: { outcome: string }[] } }>()
      .data.results.map((r) => r.outcome);
    expect(outcomes).toEqual(['processed', 'processed', 'duplicate', 'rejected']);

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      (valueOf(after, name, labels) ?? 0) - (valueOf(before, name, labels) ?? 0);
    const messages = 'evently_analytics_ingest_messages_total';
    expect(delta(messages, { outcome: 'processed', transport: 'http' })).toBe(2);
    expect(delta(messages, { outcome: 'duplicate', transport: 'http' })).toBe(1);
    expect(delta(messages, { outcome: 'rejected', transport: 'http' })).toBe(1);
    expect(delta(messages, { outcome: 'ignored', transport: 'http' })).toBe(0);
    expect(delta('evently_analytics_ingest_batch_size_count')).toBe(1);
    expect(delta('evently_analytics_ingest_batch_size_sum')).toBe(4);
    expect(delta('evently_analytics_ingest_batch_size_bucket', { le: '5' })).toBe(1);
    expect(delta('evently_analytics_ingest_batch_size_bucket', { le: '1' })).toBe(0);
    expect(delta('evently_analytics_ingest_commit_duration_seconds_count')).toBe(1);
    expect(delta('evently_analytics_ingest_commit_duration_seconds_sum')).toBeGreaterThan(0);
  });

  it('counts the parked transitions a booking releases under "retry", as /health counts them', async () => {
    const ingest = (messages: string[]) =>
      service.app.inject({
        method: 'POST',
        url: '/api/v1/analytics/ingest',
        headers: { authorization: `Bearer ${service.token}` },
        payload: { messages },
      });
    const ingestTotals = async () =>
      (await service.app.inject({ url: '/health' })).json<{
        ingest: { processed: number; rejected: number };
      }>().ingest;
    const parkedBooking = { ...booking, id: 3102 };
    // A confirmation that cannot stand alone: parked as unknown_booking until its booking arrives.
    const confirmation = JSON.stringify({
      type: 'BookingConfirmed',
      booking_id: parkedBooking.id,
      booking_data: { confirmed_at: new Date(now - HOUR / 2).toISOString().slice(0, 19) },
    });
    expect(
      (await ingest([confirmation])).json<{ data: { results: { reason?: string }[] } }>().data.results,
    ).toMatchObject([{ reason: 'unknown_booking' }]);

    const before = { samples: await scrape(), totals: await ingestTotals() };
    expect((await ingest([bookingMessage('BookingCreated', parkedBooking)])).statusCode).toBe(200);
    const after = { samples: await scrape(), totals: await ingestTotals() };

    const messages = 'evently_analytics_ingest_messages_total';
    const delta = (labels: Record<string, string>) =>
      (valueOf(after.samples, messages, labels) ?? 0) - (valueOf(before.samples, messages, labels) ?? 0);
    // /health: the booking and the released confirmation processed, one dead letter fewer.
    expect(after.totals.processed - before.totals.processed).toBe(2);
    expect(after.totals.rejected - before.totals.rejected).toBe(-1);
    expect(delta({ outcome: 'processed', transport: 'http' })).toBe(1);
    expect(delta({ outcome: 'processed', transport: 'retry' })).toBe(1);
    for (const outcome of ['duplicate', 'ignored', 'rejected'])
      for (const transport of ['http', 'retry']) expect(delta({ outcome, transport })).toBe(0);
  });

  it('counts nothing for a dead letter retried and rejected again, as /health counts nothing', async () => {
    const ingested = await service.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/ingest',
      headers: { authorization: `Bearer ${service.token}` },
      payload: { messages: ['{"type":"BookingCreated","booking_id":"not a number"}'] },
    });
    expect(ingested.statusCode).toBe(200);
    const letters = (await get('/api/v1/analytics/dead-letters?reason=missing_booking_id')).json<{
      data: { dead_letters: { id: number }[] };
    }>().data.dead_letters;
    const id = letters[0]?.id ?? 0;
    const rejected = async () =>
      valueOf(await scrape(), 'evently_analytics_ingest_messages_total', {
        outcome: 'rejected',
        transport: 'retry',
      }) ?? 0;
    const before = await rejected();
    for (let i = 0; i < 2; i++) {
      const retried = await service.app.inject({
        method: 'POST',
        url: `/api/v1/analytics/dead-letters/${id}/retry`,
        headers: { authorization: `Bearer ${service.token}` },
      });
      expect(retried.statusCode).toBe(200);
      expect(retried.json<{ data: { result: { outcome: string } } }>().data.result.outcome).toBe('rejected');
    }
    expect(await rejected()).toBe(before);
  });

  it('moves the cache miss count on a first read and the hit count on a repeated one', async () => {
    const url = '/api/v1/analytics/capacity?as_of=2025-03-01';
    const before = await scrape();
    expect((await get(url)).headers['x-cache']).toBe('MISS');
    const afterMiss = await scrape();
    expect((await get(url)).headers['x-cache']).toBe('HIT');
    const afterHit = await scrape();

    const hits = 'evently_analytics_cache_hits_total';
    const misses = 'evently_analytics_cache_misses_total';
    expect((valueOf(afterMiss, misses) ?? 0) - (valueOf(before, misses) ?? 0)).toBe(1);
    expect(valueOf(afterMiss, hits)).toBe(valueOf(before, hits));
    expect((valueOf(afterHit, hits) ?? 0) - (valueOf(afterMiss, hits) ?? 0)).toBe(1);
    expect(valueOf(afterHit, misses)).toBe(valueOf(afterMiss, misses));
    expect(valueOf(afterHit, hits)).toBe(service.deps.cache.stats().hits);
  });

  it('reports the database pool as gauges read at scrape time', async () => {
    const samples = await scrape();
    const pool = service.deps.database.poolStats();
    const total = valueOf(samples, 'evently_analytics_db_pool_total');
    expect(total).toBeGreaterThanOrEqual(1);
    expect(total).toBe(pool.total);
    expect(valueOf(samples, 'evently_analytics_db_pool_idle')).toBeLessThanOrEqual(total ?? 0);
    expect(valueOf(samples, 'evently_analytics_db_pool_waiting')).toBe(0);
  });

  it('reports process metrics under the service prefix', async () => {
    const samples = await scrape();
    expect(valueOf(samples, 'evently_analytics_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(valueOf(samples, 'evently_analytics_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(samples.some((s) => s.name.startsWith('process_') || s.name.startsWith('nodejs_'))).toBe(false);
  });

  it('reads consumer lag and pending from the consumers at each scrape', async () => {
    let lag: number | null = 12;
    const app = await buildApp(service.deps, {
      consumers: () => ({
        stream: { lag, pending: 3, lastError: null, running: true },
        pubsub: { lag: null, pending: 0, lastError: null, running: true },
      }),
    });
    try {
      await app.ready();
      let samples = await scrape(app);
      expect(valueOf(samples, 'evently_analytics_consumer_lag', { consumer: 'stream' })).toBe(12);
      expect(valueOf(samples, 'evently_analytics_consumer_pending', { consumer: 'stream' })).toBe(3);
      expect(valueOf(samples, 'evently_analytics_consumer_pending', { consumer: 'pubsub' })).toBe(0);
      // Pub/sub has no lag to tell: no sample rather than a made-up number.
      expect(valueOf(samples, 'evently_analytics_consumer_lag', { consumer: 'pubsub' })).toBeUndefined();

      lag = 0;
      samples = await scrape(app);
      expect(valueOf(samples, 'evently_analytics_consumer_lag', { consumer: 'stream' })).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('counts pub/sub messages lost, and /health says when the buffer is full and when messages were lost', async () => {
    let pubsub: ConsumerStats = {
      lag: null,
      pending: 100_000,
      lastError: 'database unreachable',
      running: true,
      handedToStream: 1_200,
      dropped: 50,
      lastDroppedAt: new Date(Date.now() - 60_000).toISOString(),
      bufferFull: true,
    };
    const app = await buildApp(service.deps, { consumers: () => ({ pubsub }) });
    try {
      await app.ready();
      expect(
        valueOf(await scrape(app), 'evently_analytics_ingest_dropped_total', { consumer: 'pubsub' }),
      ).toBe(50);
      const answer = (await app.inject({ url: '/health' })).json<{
        status: string;
        reasons: string[];
        checks: { consumer: { consumers: Record<string, ConsumerStats> } };
      }>();
      expect(answer.checks.consumer.consumers.pubsub).toMatchObject({
        handedToStream: 1_200,
        dropped: 50,
        bufferFull: true,
      });
      let health: { status: string; reasons: string[] } = answer;
      expect(health.status).toBe('degraded');
      expect(health.reasons).toContain(
        'pubsub consumer: buffer full (100000 messages waiting): new messages go to the stream (1200 so far)',
      );

      expect(health.reasons).toContain(
        `pubsub consumer: 50 messages lost since start (Redis refused them), the last at ${pubsub.lastDroppedAt ?? ''}`,
      );
      // The database is back and the buffer drained: the loss stays counted and told.
      pubsub = { ...pubsub, pending: 0, lastError: null, bufferFull: false };
      expect(
        valueOf(await scrape(app), 'evently_analytics_ingest_dropped_total', { consumer: 'pubsub' }),
      ).toBe(50);
      health = (await app.inject({ url: '/health' })).json<{ status: string; reasons: string[] }>();
      expect(health.reasons).toEqual([
        `pubsub consumer: 50 messages lost since start (Redis refused them), the last at ${pubsub.lastDroppedAt ?? ''}`,
      ]);
      // A quarter of an hour later /health is healthy again; the count stays in the stats and metrics.
      pubsub = { ...pubsub, lastDroppedAt: new Date(Date.now() - 16 * 60_000).toISOString() };
      health = (await app.inject({ url: '/health' })).json<{ status: string; reasons: string[] }>();
      expect(health.reasons).toEqual([]);
      expect(
        valueOf(await scrape(app), 'evently_analytics_ingest_dropped_total', { consumer: 'pubsub' }),
      ).toBe(50);
    } finally {
      await app.close();
    }
  });

  it('keeps its metrics on the app’s own registry, not on prom-client’s global one', async () => {
    expect(service.deps.metrics.registry).not.toBe(globalRegistry);
    expect(globalRegistry.getMetricsAsArray().filter((m) => m.name.startsWith('evently_'))).toEqual([]);
  });
});

describe('a request its client gave up on', () => {
  it('is counted under status 499 with its time so far and logged with its request id', async () => {
    const lines: string[] = [];
    const t = await startTestApp({
      env: { LOG_LEVEL: 'info' },
      logDestination: { write: (line: string) => void lines.push(line) },
    });
    const locker = new pg.Client({ connectionString: t.database?.url });
    await locker.connect();
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = t.app.server.address() as AddressInfo;
      await locker.query('begin');
      // The read waits for the lock; its client gives up first.
      await locker.query('lock table events in access exclusive mode');
      const gaveUp = fetch(`http://127.0.0.1:${port}/api/v1/analytics/events`, {
        headers: { authorization: `Bearer ${t.token}`, 'x-request-id': 'gave-up-1' },
        signal: AbortSignal.timeout(300),
      });
      await expect(gaveUp).rejects.toThrow();
      const labels = { route: '/api/v1/analytics/events', method: 'GET', status: '499' };
      const counted = await waitFor(
        'the aborted request to be counted',
        when(
          async () => parseExposition((await t.app.inject({ url: '/metrics' })).body),
          (samples) => valueOf(samples, 'evently_analytics_http_requests_total', labels) === 1,
        ),
      );
      const seconds = valueOf(counted, 'evently_analytics_http_request_duration_seconds_sum', labels) ?? 0;
      expect(seconds).toBeGreaterThanOrEqual(0.25);
      await locker.query('rollback');
      // The handler finishes once the lock goes; its answer has nowhere to go and is not counted again.
      const served = await t.app.inject({
        url: '/api/v1/analytics/events',
        headers: { authorization: `Bearer ${t.token}` },
      });
      expect(served.statusCode).toBe(200);
      const after = parseExposition((await t.app.inject({ url: '/metrics' })).body);
      expect(valueOf(after, 'evently_analytics_http_requests_total', labels)).toBe(1);
      expect(valueOf(after, 'evently_analytics_http_requests_total', { ...labels, status: '200' })).toBe(1);
      const ofRequest = lines
        .map((line) => JSON.parse(line) as { reqId?: string; msg: string; res?: { statusCode?: number } })
        .filter((l) => l.reqId === 'gave-up-1');
      expect(ofRequest.map((l) => l.msg)).toEqual([
        'incoming request',
        'request aborted by the client before its answer',
      ]);
      expect(ofRequest[1]?.res?.statusCode).toBe(499);

      // A POST whose body was read, waiting for the writer lock (a rebuild, another instance).
      await locker.query('select pg_advisory_lock(7335001)');
      const posted = fetch(`http://127.0.0.1:${port}/api/v1/analytics/ingest`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${t.token}`,
          'content-type': 'application/json',
          'x-request-id': 'gave-up-2',
        },
        body: JSON.stringify({ messages: [eventCreated(concert)] }),
        signal: AbortSignal.timeout(300),
      });
      await expect(posted).rejects.toThrow();
      const ingestLabels = { route: '/api/v1/analytics/ingest', method: 'POST', status: '499' };
      await waitFor(
        'the aborted POST to be counted',
        when(
          async () => parseExposition((await t.app.inject({ url: '/metrics' })).body),
          (samples) => valueOf(samples, 'evently_analytics_http_requests_total', ingestLabels) === 1,
        ),
      );
      await locker.query('select pg_advisory_unlock(7335001)');
      expect(
        lines.some((line) => line.includes('"reqId":"gave-up-2"') && line.includes('"statusCode":499')),
      ).toBe(true);
    } finally {
      await locker.end();
      await t.close();
    }
  });
});
