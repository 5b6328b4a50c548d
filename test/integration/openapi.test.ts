/**
 * The OpenAPI document against api.md and against the real answers: every endpoint is there with a
 * summary, tags and response schemas; every analytics payload's documented schema and example
 * describe what the service really sends, field for field; and routes serialized through their
 * schema lose no field.
 */
import type { TSchema } from '@fastify/type-provider-typebox';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BookingTrendsSchema,
  CapacitySchema,
  DailySchema,
  DailyStatsSchema,
  DashboardSchema,
  EventDetailSchema,
  EventsSchema,
  EventStatsSchema,
  OverviewSchema,
  RevenueSchema,
  SystemMetricsSchema,
  TopEventsSchema,
} from '../../src/api/schemas.ts';
import { configSummary } from '../../src/platform/config.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { bookingMessage, eventCreated, type BookingFacts } from '../support/messages.ts';

const BASE = '/api/v1/analytics';
const AS_OF = '2025-06-14';
const DAY = 86_400_000;
const asOfEvening = Date.parse(`${AS_OF}T18:00:00Z`);

/** Every endpoint of api.md (but /docs and /openapi.json themselves), as the document names it. */
const ENDPOINTS = [
  ['get', `${BASE}/dashboard`],
  ['get', `${BASE}/events`],
  ['get', `${BASE}/events/{event_id}`],
  ['get', `${BASE}/daily`],
  ['get', `${BASE}/booking-trends`],
  ['get', `${BASE}/revenue`],
  ['get', `${BASE}/capacity`],
  ['get', `${BASE}/top-events`],
  ['get', `${BASE}/system`],
  ['get', `${BASE}/overview`],
  ['get', `${BASE}/stream`],
  ['post', `${BASE}/ingest`],
  ['get', `${BASE}/dead-letters`],
  ['post', `${BASE}/dead-letters/{id}/retry`],
  ['post', `${BASE}/rebuild`],
  ['post', `${BASE}/cache/clear`],
  ['get', '/health'],
  ['get', '/health/live'],
  ['get', '/health/ready'],
  ['get', '/info'],
  ['get', '/metrics'],
] as const;

/** The analytics payloads: documented path, its data schema, and a real request for it. */
const PAYLOADS: [string, TSchema, string][] = [
  [`${BASE}/dashboard`, DashboardSchema, `${BASE}/dashboard?days=7&as_of=${AS_OF}`],
  [`${BASE}/events`, EventsSchema, `${BASE}/events?as_of=${AS_OF}`],
  [`${BASE}/events/{event_id}`, EventDetailSchema, `${BASE}/events/101?days=7&as_of=${AS_OF}`],
  [`${BASE}/daily`, DailySchema, `${BASE}/daily?days=14&granularity=week&as_of=${AS_OF}`],
  [`${BASE}/booking-trends`, BookingTrendsSchema, `${BASE}/booking-trends?days=7&as_of=${AS_OF}`],
  [`${BASE}/revenue`, RevenueSchema, `${BASE}/revenue?days=7&as_of=${AS_OF}`],
  [`${BASE}/capacity`, CapacitySchema, `${BASE}/capacity?as_of=${AS_OF}`],
  [`${BASE}/top-events`, TopEventsSchema, `${BASE}/top-events?sort_by=revenue&as_of=${AS_OF}`],
  [`${BASE}/system`, SystemMetricsSchema, `${BASE}/system?as_of=${AS_OF}`],
  [`${BASE}/overview`, OverviewSchema, `${BASE}/overview?as_of=${AS_OF}`],
];

interface Operation {
  summary?: string;
  tags?: string[];
  operationId?: string;
  parameters?: { in: string; name: string }[];
  responses: Record<
    string,
    {
      content?: Record<string, { schema?: Record<string, unknown>; example?: unknown }>;
      headers?: Record<string, unknown>;
    }
  >;
}

const anyNumber: unknown = expect.any(Number);
const anyString: unknown = expect.any(String);
const aDate: unknown = expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/);

let service: TestApp;
let doc: { openapi: string; paths: Record<string, Record<string, Operation>> };

const operation = (method: string, path: string): Operation => {
  const op = doc.paths[path]?.[method];
  if (!op) throw new Error(`${method.toUpperCase()} ${path} is not in the OpenAPI document`);
  return op;
};

const statuses304 = (path: string): boolean => operation('get', path).responses['304'] !== undefined;

/** The same schema with every object closed: a field the payload has and the schema does not name fails. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema))
    out[key] = key === 'examples' || key === 'example' ? value : closed(value);
  if (
    out.type === 'object' &&
    out.additionalProperties === undefined &&
    out.patternProperties === undefined
  ) {
    out.additionalProperties = false;
  }
  return out;
}

function problems(schema: unknown, value: unknown): string[] {
  return [...Value.Errors(closed(schema) as TSchema, value)].map(
    (e) => `${e.instancePath || '/'} ${e.message}`,
  );
}

async function call(method: 'GET' | 'POST', url: string, token = service.token) {
  return service.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });
}

async function seed(): Promise<void> {
  const events = [
    {
      id: 101,
      name: 'Jazz Night at the Blue Room',
      category: 'music',
      capacity: 120,
      price: 45,
      createdAt: asOfEvening - 40 * DAY,
      eventDate: asOfEvening + 20 * DAY,
    },
    {
      id: 102,
      name: 'Tech Summit 2025',
      category: 'conference',
      capacity: 400,
      price: 199,
      createdAt: asOfEvening - 35 * DAY,
      eventDate: asOfEvening + 45 * DAY,
    },
    {
      id: 103,
      name: 'Stand-up Comedy Friday',
      category: 'comedy',
      capacity: 60,
      price: 25,
      createdAt: asOfEvening - 10 * DAY,
      eventDate: asOfEvening + 6 * DAY,
    },
  ];
  const messages = events.map(eventCreated);
  let id = 9000;
  for (let day = 0; day < 12; day++) {
    for (const [eventId, price, quantity] of [
      [101, 45, 2],
      [102, 199, 1],
      [103, 25, 4],
    ] as const) {
      if ((day + eventId) % 3 === 0) continue;
      const b: BookingFacts = {
        id: ++id,
        eventId,
        userId: 500 + (id % 13),
        quantity,
        totalAmount: price * quantity,
        currency: id % 10 === 0 ? 'EUR' : 'USD',
        createdAt: asOfEvening - (day + 1) * DAY + 3_600_000,
      };
      messages.push(bookingMessage('BookingCreated', b));
      if (id % 7 !== 0) messages.push(bookingMessage('BookingConfirmed', b, b.createdAt + 600_000));
      if (id % 5 === 0) messages.push(bookingMessage('BookingCancelled', b, b.createdAt + 7_200_000));
    }
  }
  const response = await service.app.inject({
    method: 'POST',
    url: `${BASE}/ingest`,
    headers: { authorization: `Bearer ${service.token}` },
    payload: { messages: [...messages, '{"type":"BookingCreated","booking_id":"x"}'] },
  });
  expect(response.statusCode).toBe(200);
}

beforeAll(async () => {
  service = await startTestApp();
  await seed();
  const response = await service.app.inject({ url: '/openapi.json' });
  expect(response.statusCode).toBe(200);
  doc = response.json();
});

afterAll(async () => {
  await service?.close();
});

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.0 and lists every endpoint of api.md', () => {
    expect(doc.openapi).toBe('3.0.3');
    const missing = ENDPOINTS.filter(([method, path]) => !doc.paths[path]?.[method]).map(
      ([m, p]) => `${m} ${p}`,
    );
    expect(missing).toEqual([]);
  });

  it('gives every operation a summary, tags, its path parameters and a response schema', () => {
    for (const path of Object.keys(doc.paths)) {
      for (const [method, op] of Object.entries(doc.paths[path] ?? {})) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.summary, where).toMatch(/\w/);
        expect(op.tags?.length, where).toBeGreaterThan(0);
        for (const name of [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])) {
          expect(
            op.parameters?.some((p) => p.in === 'path' && p.name === name),
            `${where} documents {${name}}`,
          ).toBe(true);
        }
        const ok = op.responses['200']?.content ?? {};
        expect(
          Object.values(ok).some((media) => media.schema !== undefined),
          `${where} has a 200 schema`,
        ).toBe(true);
      }
    }
  });

  it('documents the problem responses of every analytics operation', () => {
    for (const [method, path] of ENDPOINTS.filter(([, p]) => p.startsWith(BASE))) {
      const op = operation(method, path);
      for (const status of ['401', '403', '429']) {
        // As sent: application/problem+json (RFC 9457), the only media type of an error.
        expect(op.responses[status]?.content, `${method} ${path} ${status}`).toEqual({
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        });
      }
    }
    for (const [path] of PAYLOADS) expect(operation('get', path).responses['400'], path).toBeDefined();
    // Their 503s are their own JSON shapes, not problems.
    for (const path of ['/health', '/health/ready'])
      expect(Object.keys(operation('get', path).responses['503']?.content ?? {}), path).toEqual([
        'application/json',
      ]);
    const statuses = (method: string, path: string) => Object.keys(operation(method, path).responses);
    expect(statuses('post', `${BASE}/ingest`)).toEqual(expect.arrayContaining(['413', '415']));
    expect(statuses('post', `${BASE}/rebuild`)).toContain('409');
  });

  it('documents the 304 of every analytics read that sends an ETag, and no other', async () => {
    for (const [path, , url] of PAYLOADS) {
      expect(statuses304(path), path).toBe(true);
      const first = await call('GET', url);
      const again = await service.app.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${service.token}`, 'if-none-match': String(first.headers.etag) },
      });
      expect(again.statusCode, url).toBe(304);
    }
    expect(statuses304(`${BASE}/stream`)).toBe(false);
    expect(statuses304(`${BASE}/dead-letters`)).toBe(false);
  });

  it('names every operation uniquely and documents the headers the API sends and takes', () => {
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]*$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(operation('get', `${BASE}/events/{event_id}`).operationId).toBe('getEventsByEventId');

    const daily = operation('get', `${BASE}/daily`);
    expect(Object.keys(daily.responses['200']?.headers ?? {})).toEqual(
      expect.arrayContaining(['ETag', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']),
    );
    expect(Object.keys(daily.responses['401']?.headers ?? {})).toEqual(['WWW-Authenticate']);
    expect(Object.keys(daily.responses['429']?.headers ?? {})).toContain('Retry-After');
    expect(Object.keys(daily.responses['503']?.headers ?? {})).toEqual(['Retry-After']);
    expect(daily.parameters?.some((p) => p.in === 'header' && p.name === 'If-None-Match')).toBe(true);
    const stream = operation('get', `${BASE}/stream`);
    expect(stream.parameters?.some((p) => p.in === 'header' && p.name === 'Last-Event-ID')).toBe(true);
  });

  it('documents text/csv beside JSON for the list and series endpoints', () => {
    for (const path of ['events', 'daily', 'booking-trends', 'revenue', 'top-events']) {
      expect(Object.keys(operation('get', `${BASE}/${path}`).responses['200']?.content ?? {})).toEqual([
        'application/json',
        'text/csv',
      ]);
    }
  });

  it('documents /metrics under health, as text, without a security requirement', () => {
    const op = operation('get', '/metrics') as Operation & { security?: unknown; description?: string };
    expect(op.tags).toEqual(['health']);
    expect(op.security).toBeUndefined();
    expect(op.description).toMatch(/Unauthenticated/);
    expect(op.responses['200']?.content?.['text/plain']?.schema).toEqual({ type: 'string' });
  });

  it('uses the single `example` of OpenAPI 3.0, never a JSON Schema `examples` array', () => {
    const arrays: string[] = [];
    const walk = (node: unknown, at: string): void => {
      if (typeof node !== 'object' || node === null) return;
      for (const [key, value] of Object.entries(node)) {
        if (key === 'examples' && Array.isArray(value)) arrays.push(at);
        if (key !== 'example') walk(value, `${at}/${key}`);
      }
    };
    walk(doc.paths, '');
    expect(arrays).toEqual([]);
  });
});

describe('analytics payload schemas', () => {
  it.each(PAYLOADS)('%s documents the data schema with an example that satisfies it', (path, schema) => {
    const media = operation('get', path).responses['200']?.content?.['application/json'];
    const documented = media?.schema?.properties as
      { data?: { properties?: Record<string, unknown> } } | undefined;
    expect(Object.keys(documented?.data?.properties ?? {})).toEqual(
      Object.keys((schema as { properties: object }).properties),
    );
    const example = media?.example as { success: boolean; data: unknown; meta: unknown } | undefined;
    expect(example?.success).toBe(true);
    expect(problems(schema, example?.data)).toEqual([]);
  });

  it.each(PAYLOADS)('%s answers what its schema documents, field for field', async (_path, schema, url) => {
    const response = await call('GET', url);
    expect(response.statusCode).toBe(200);
    const body = response.json<{ success: boolean; data: unknown }>();
    expect(body.success).toBe(true);
    expect(problems(schema, body.data)).toEqual([]);
  });

  it('names EventStats, DailyStats and SystemMetrics, each with a valid example', () => {
    for (const [schema, title] of [
      [EventStatsSchema, 'EventStats'],
      [DailyStatsSchema, 'DailyStats'],
      [SystemMetricsSchema, 'SystemMetrics'],
    ] as const) {
      expect((schema as { title?: string }).title).toBe(title);
      expect(problems(schema, (schema as { examples?: unknown[] }).examples?.[0])).toEqual([]);
    }
  });

  it('fails a payload with a field the schema does not document (the check can fail)', async () => {
    const body = (await call('GET', `${BASE}/system?as_of=${AS_OF}`)).json<{
      data: Record<string, unknown>;
    }>();
    expect(problems(SystemMetricsSchema, { ...body.data, surprise: 1 })).toContain(
      '/ must not have additional properties',
    );
    expect(problems(SystemMetricsSchema, { ...body.data, total_events: null })).not.toEqual([]);
  });
});

describe('routes serialized through their schema', () => {
  it('lose no field of /health', async () => {
    const body = (await call('GET', '/health')).json<
      Record<string, Record<string, Record<string, unknown>>>
    >();
    expect(Object.keys(body).sort()).toEqual(
      ['checks', 'data_version', 'event_log', 'ingest', 'reasons', 'reconcile', 'status', 'uptime_s'].sort(),
    );
    expect(Object.keys(body.checks ?? {}).sort()).toEqual(['consumer', 'database', 'redis']);
    expect(body.checks?.database).toHaveProperty('latency_ms');
    expect(body.checks?.database).toHaveProperty('breaker.state', 'closed');
    expect(body.checks?.consumer).toHaveProperty('consumers', {});
    expect(body.ingest).toEqual({ processed: anyNumber, duplicates: 0, ignored: 0, rejected: 1, lag: null });
  });

  it('lose no field of /info', async () => {
    const body = (await call('GET', '/info')).json<Record<string, unknown>>();
    expect(body.configuration).toEqual(JSON.parse(JSON.stringify(configSummary(service.config))));
    expect(body).toMatchObject({
      service: 'evently-analytics',
      node: process.version,
      build: { started_at: anyString },
    });
  });

  it('lose no field of the dead letters, a retry, a rebuild, a reconcile and a cache clear', async () => {
    const letters = (await call('GET', `${BASE}/dead-letters`)).json<{
      data: { dead_letters: Record<string, unknown>[] };
    }>();
    const letter = letters.data.dead_letters[0];
    expect(Object.keys(letter ?? {}).sort()).toEqual([
      'channel',
      'detail',
      'id',
      'raw',
      'raw_bytes',
      'raw_truncated',
      'reason',
      'received_at',
      'transport',
    ]);
    expect(letter).toMatchObject({
      reason: 'missing_booking_id',
      transport: 'http',
      raw: '{"type":"BookingCreated","booking_id":"x"}',
    });

    const retry = (await call('POST', `${BASE}/dead-letters/${String(letter?.id)}/retry`)).json<{
      data: unknown;
    }>();
    expect(retry.data).toEqual({
      result: { index: 0, outcome: 'rejected', reason: 'missing_booking_id', key: null },
      data_version: anyNumber,
    });

    const rebuild = (await call('POST', `${BASE}/rebuild`)).json<{ data: Record<string, unknown> }>();
    expect(Object.keys(rebuild.data).sort()).toEqual([
      'bookings',
      'data_version',
      'duration_ms',
      'events',
      'messages',
      'messages_without_payload',
    ]);
    expect(rebuild.data).toMatchObject({ events: 3, messages_without_payload: 0 });

    const reconcile = (await call('POST', `${BASE}/reconcile`)).json<{ data: Record<string, unknown> }>();
    expect(Object.keys(reconcile.data).sort()).toEqual(
      ['checked_at', 'comparable', 'difference_count', 'differences', 'drift', 'duration_ms'].sort(),
    );
    expect((await call('POST', `${BASE}/cache/clear`)).json()).toEqual({
      success: true,
      data: { cleared: true },
      meta: {
        generated_at: anyString,
        as_of: aDate,
        data_version: anyNumber,
        cached: false,
      },
    });
  });
});
