/**
 * Loads the conformance cases (test/fixtures/conformance, copied from shared/conformance) and
 * compares the service's answers with the reference model's figures.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { mulberry32 } from '../support/seeded-random.ts';

/**
 * The cases to run: the shared ones copied into the fixtures, or another folder of cases of the same
 * layout (`CONFORMANCE_CASES=/path/to/cases npx vitest run test/integration/conformance.test.ts`).
 */
export const CASES_DIR = process.env.CONFORMANCE_CASES
  ? path.resolve(process.env.CONFORMANCE_CASES)
  : path.resolve(import.meta.dirname, '../fixtures/conformance');

export interface CaseConfig {
  REPORTING_TIMEZONE: string;
  BASE_CURRENCY: string;
  as_of: string;
  daily_from: string;
  daily_to: string;
}

export interface ConformanceCase {
  name: string;
  config: CaseConfig;
  lines: { channel: string; raw: string }[];
  expected: Record<string, unknown> & {
    outcomes: Record<string, number>;
    rejections: { index: number; reason: string }[];
    events: Record<string, Record<string, unknown>>;
    deleted_events: number[];
    daily: Record<'day' | 'week' | 'month', unknown[]>;
    system: Record<string, unknown>;
    top_events: Record<'bookings' | 'revenue' | 'utilization', number[]>;
    capacity: unknown;
    revenue_30: unknown;
    revenue_7: unknown;
  };
}

export function loadCases(): ConformanceCase[] {
  return readdirSync(CASES_DIR)
    .filter((d) => !d.startsWith('.'))
    .sort()
    .map((name) => {
      const dir = path.join(CASES_DIR, name);
      const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
      return {
        name,
        config: JSON.parse(read('config.json')) as CaseConfig,
        lines: read('input.jsonl')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as { channel: string; raw: string }),
        expected: JSON.parse(read('expected.json')) as ConformanceCase['expected'],
      };
    });
}

/** Deterministic shuffle (mulberry32), so a failing order can be replayed from its seed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = mulberry32(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Numbers within 0.01, everything else exactly; extra fields in `actual` are fine. */
export function matches(actual: unknown, expected: unknown, at = '$'): string[] {
  if (typeof expected === 'number') {
    return typeof actual === 'number' && Math.abs(actual - expected) <= 0.01 + 1e-9
      ? []
      : [`${at}: expected ${expected}, got ${JSON.stringify(actual)}`];
  }
  if (expected === null || typeof expected !== 'object') {
    return actual === expected
      ? []
      : [`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${at}: expected an array, got ${JSON.stringify(actual)}`];
    if (actual.length !== expected.length)
      return [`${at}: expected ${expected.length} items, got ${actual.length}`];
    return expected.flatMap((e, i) => matches(actual[i], e, `${at}[${i}]`));
  }
  if (actual === null || typeof actual !== 'object')
    return [`${at}: expected an object, got ${JSON.stringify(actual)}`];
  return Object.entries(expected).flatMap(([k, v]) =>
    matches((actual as Record<string, unknown>)[k], v, `${at}.${k}`),
  );
}

export async function getData(
  app: FastifyInstance,
  token: string,
  url: string,
): Promise<Record<string, unknown>> {
  const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  if (res.statusCode !== 200) throw new Error(`GET ${url} → ${res.statusCode}: ${res.body}`);
  return res.json<{ data: Record<string, unknown> }>().data;
}

/** Every figure of expected.json, read through the HTTP API. */
export async function assertFigures(app: FastifyInstance, token: string, c: ConformanceCase): Promise<void> {
  const e = c.expected;
  const base = '/api/v1/analytics';
  const problems: string[] = [];
  const check = (actual: unknown, expected: unknown, label: string) =>
    problems.push(...matches(actual, expected, label));

  for (const [id, stats] of Object.entries(e.events)) {
    check(await getData(app, token, `${base}/events/${id}?as_of=${c.config.as_of}`), stats, `events[${id}]`);
  }
  for (const id of e.deleted_events) {
    const res = await app.inject({
      method: 'GET',
      url: `${base}/events/${id}`,
      headers: { authorization: `Bearer ${token}` },
    });
    if (res.statusCode !== 404) problems.push(`deleted event ${id}: expected 404, got ${res.statusCode}`);
  }
  for (const granularity of ['day', 'week', 'month'] as const) {
    const data = await getData(
      app,
      token,
      `${base}/daily?from=${c.config.daily_from}&to=${c.config.daily_to}&granularity=${granularity}`,
    );
    check(data.series, e.daily[granularity], `daily.${granularity}`);
  }
  const { system_uptime: _ignored, ...system } = e.system;
  check(await getData(app, token, `${base}/system?as_of=${c.config.as_of}`), system, 'system');
  for (const sortBy of ['bookings', 'revenue', 'utilization'] as const) {
    const data = await getData(app, token, `${base}/top-events?sort_by=${sortBy}&limit=50`);
    const ids = (data.events as { event_id: number }[]).map((ev) => ev.event_id);
    check(ids, e.top_events[sortBy], `top_events.${sortBy}`);
  }
  check(await getData(app, token, `${base}/capacity`), e.capacity, 'capacity');
  check(
    await getData(app, token, `${base}/revenue?days=30&as_of=${c.config.as_of}`),
    e.revenue_30,
    'revenue_30',
  );
  check(
    await getData(app, token, `${base}/revenue?days=7&as_of=${c.config.as_of}`),
    e.revenue_7,
    'revenue_7',
  );
  expect(problems.slice(0, 25)).toEqual([]);
}

export async function assertOutcomes(app: FastifyInstance, c: ConformanceCase): Promise<void> {
  const health = (await app.inject({ method: 'GET', url: '/health' })).json<{
    ingest: Record<string, number>;
  }>();
  expect({
    processed: health.ingest.processed,
    duplicate: health.ingest.duplicates,
    ignored: health.ingest.ignored,
    rejected: health.ingest.rejected,
  }).toEqual(c.expected.outcomes);
}

/** The spec's limits of one ingest call: 1,000 messages and a 1 MiB body (events.md, transports). */
const MAX_BODY_BYTES = 1024 * 1024;
const EMPTY_BODY_BYTES = Buffer.byteLength('{"messages":[]}');

/**
 * Splits messages into calls of at most `chunk` messages whose body stays within 1 MiB, as a
 * producer keeping to the limits would (one oversized message still fits a call of its own).
 */
function calls(raws: readonly string[], chunk: number): { start: number; messages: string[] }[] {
  const out: { start: number; messages: string[] }[] = [];
  let current: { start: number; messages: string[] } = { start: 0, messages: [] };
  let bytes = EMPTY_BODY_BYTES;
  raws.forEach((raw, i) => {
    const size = Buffer.byteLength(JSON.stringify(raw)) + 1;
    if (current.messages.length > 0 && (current.messages.length >= chunk || bytes + size > MAX_BODY_BYTES)) {
      out.push(current);
      current = { start: i, messages: [] };
      bytes = EMPTY_BODY_BYTES;
    }
    current.messages.push(raw);
    bytes += size;
  });
  if (current.messages.length > 0) out.push(current);
  return out;
}

/** Posts raw messages through HTTP ingest in calls within the limits; returns each line's answer. */
export async function ingestHttp(
  app: FastifyInstance,
  token: string,
  raws: readonly string[],
  chunk = 1000,
): Promise<{ outcome: string; reason?: string }[]> {
  const results: { outcome: string; reason?: string }[] = [];
  for (const call of calls(raws, chunk)) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/analytics/ingest',
      headers: { authorization: `Bearer ${token}` },
      payload: { messages: call.messages },
    });
    if (res.statusCode !== 200) throw new Error(`ingest → ${res.statusCode}: ${res.body}`);
    const body = res.json<{ data: { results: { index: number; outcome: string; reason?: string }[] } }>();
    for (const r of body.data.results)
      results[call.start + r.index] = r.reason
        ? { outcome: r.outcome, reason: r.reason }
        : { outcome: r.outcome };
  }
  return results;
}

/**
 * The lines that end rejected, from the ingest answers: a transition answered `unknown_booking`
 * is parked, and processed after all when its booking arrives later in the stream, so it counts
 * as rejected only while it is still among the dead letters.
 */
export async function finalRejections(
  app: FastifyInstance,
  token: string,
  raws: readonly string[],
  answers: readonly { outcome: string; reason?: string }[],
): Promise<{ index: number; reason: string | undefined }[]> {
  const stillParked = new Map<string, number>();
  for (let offset = 0; ; offset += 500) {
    const data = await getData(
      app,
      token,
      `/api/v1/analytics/dead-letters?reason=unknown_booking&limit=500&offset=${offset}`,
    );
    const page = data.dead_letters as { raw: string }[];
    for (const d of page) stillParked.set(d.raw, (stillParked.get(d.raw) ?? 0) + 1);
    if (page.length < 500) break;
  }
  return answers.flatMap((r, index) => {
    if (r.outcome !== 'rejected') return [];
    if (r.reason === 'unknown_booking') {
      const raw = raws[index] as string;
      const left = stillParked.get(raw) ?? 0;
      if (left === 0) return [];
      stillParked.set(raw, left - 1);
    }
    return [{ index, reason: r.reason }];
  });
}
