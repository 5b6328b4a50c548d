/**
 * The body of POST /ingest at its edges, on real PostgreSQL: a message nested too deep for
 * JSON.stringify, a `messages` that is not an array, and message objects holding `__proto__` or
 * `constructor` keys. Each bad message is a rejection of its own; the body contract is a 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { expectProblem } from '../support/problem.ts';

const URL = '/api/v1/analytics/ingest';

interface Result {
  index: number;
  outcome: string;
  reason?: string;
}

interface DeadLetter {
  reason: string;
  detail: string | null;
  transport: string;
  raw: string;
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t.close());

const post = (payload: string) =>
  t.app.inject({
    method: 'POST',
    url: URL,
    headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
    payload,
  });

async function deadLetters(): Promise<DeadLetter[]> {
  const res = await t.app.inject({
    url: '/api/v1/analytics/dead-letters?limit=50',
    headers: { authorization: `Bearer ${t.token}` },
  });
  return res.json<{ data: { dead_letters: DeadLetter[] } }>().data.dead_letters;
}

describe('POST /ingest with a deeply nested message', () => {
  // About 12 KB: far under the 64 KiB message limit, far over JSON.stringify's recursion depth.
  const nested = `${'['.repeat(6000)}${']'.repeat(6000)}`;
  const deep = `{"type":"EventUpdated","event_id":78,"event_data":{"x":${nested}}}`;

  it('rejects that message alone and processes the others in the call', async () => {
    const res = await post(`{"messages":[${deep},{"type":"EventDeleted","event_id":79}]}`);
    expect(res.statusCode, res.body).toBe(200);
    const results = res.json<{ data: { results: Result[] } }>().data.results;
    expect(results).toMatchObject([
      { index: 0, outcome: 'rejected', reason: 'invalid_json' },
      { index: 1, outcome: 'processed' },
    ]);
  });

  it('keeps it as a dead letter with its full text and why it was refused', async () => {
    const letter = (await deadLetters()).find((d) => d.raw.includes('"event_id":78'));
    expect(letter).toMatchObject({ reason: 'invalid_json', transport: 'http', raw: deep });
    expect(letter?.detail).toMatch(/nests deeper than/);
  });

  it('answers a body that is only nesting with a rejection, not a 500', async () => {
    const res = await post(`{"messages":[${nested}]}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<{ data: { results: Result[] } }>().data.results).toMatchObject([
      { outcome: 'rejected', reason: 'not_object' },
    ]);
  });
});

describe('POST /ingest with messages that are not an array', () => {
  it.each(['5', '"{\\"type\\":\\"EventDeleted\\",\\"event_id\\":80}"', 'null', '{"type":"EventDeleted"}'])(
    'refuses {"messages": %s} with a 400 naming messages',
    async (value) => {
      const problem = expectProblem(await post(`{"messages":${value}}`), 400);
      expect(problem.detail).toMatch(/messages must be an array/);
    },
  );
});

describe('POST /ingest with a body that is not an object', () => {
  it.each(['[{"type":"EventDeleted","event_id":81}]', '"messages"', '7'])(
    'refuses %s with a 400 saying the body wants "messages"',
    async (payload) => {
      const problem = expectProblem(await post(payload), 400);
      expect(problem.detail).toBe(
        'the request body must be a JSON object with "messages", as in {"messages": …}',
      );
    },
  );
});

describe('POST /ingest with __proto__ and constructor keys in a message', () => {
  it('processes the message as it would from the stream, without touching any prototype', async () => {
    const res = await post(
      '{"messages":[{"type":"EventDeleted","event_id":81,"__proto__":{"polluted":1}},' +
        '{"type":"EventDeleted","event_id":82,"constructor":{"prototype":{"polluted":1}}}]}',
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<{ data: { results: Result[] } }>().data.results).toMatchObject([
      { index: 0, outcome: 'processed' },
      { index: 1, outcome: 'processed' },
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('keeps such a key in the message text it logs', async () => {
    // A rejected one, to read its raw text back from the dead letters.
    const res = await post('{"messages":[{"type":"NoSuchType","__proto__":{"polluted":1}}]}');
    expect(res.json<{ data: { results: Result[] } }>().data.results).toMatchObject([
      { outcome: 'rejected', reason: 'unknown_type' },
    ]);
    const letter = (await deadLetters()).find((d) => d.raw.includes('NoSuchType'));
    expect(letter?.raw).toBe('{"type":"NoSuchType","__proto__":{"polluted":1}}');
  });

  it('still refuses such a key beside messages in the envelope', async () => {
    const problem = expectProblem(await post('{"__proto__":{"polluted":1},"messages":["x"]}'), 400);
    expect(problem.detail).toMatch(/__proto__/);
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('reads no body on the other routes, so nothing sent there can reach a prototype', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/cache/clear',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      payload: '{"__proto__":{"polluted":1}}',
    });
    // The body is ignored, never parsed.
    expect(res.statusCode).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
