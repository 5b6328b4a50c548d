/**
 * The attack suite: the real app on PostgreSQL, probed the way an attacker would. Every refused
 * token kind, hostile values in every query and path parameter of every analytics GET route (read
 * from the OpenAPI document, so a new route is covered the day it is added), bodies too big, not
 * JSON or of another type; and no answer nor log line ever carries internals or a secret.
 */
import type { AddressInfo } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLOCK_SKEW_SECONDS } from '../../src/auth/tokens.ts';
import { startTestApp, TEST_SECRET, type TestApp } from '../helpers/app.ts';
import { hostileTokens, withinSkew, type HostileToken } from '../support/hostile-tokens.ts';
import { bookingMessage, eventCreated, jazzBooking, jazzNight } from '../support/messages.ts';
import {
  analyticsGetRoutes,
  concrete,
  HOSTILE_ENCODED,
  inBatches,
  triage,
} from '../support/hostile-params.ts';
import { expectProblem, leaks } from '../support/problem.ts';

const API = '/api/v1/analytics';
const logLines: string[] = [];
/** Every token this suite sent: none may show up in a log line. */
const sentTokens = new Set<string>();
let t: TestApp;
let refused: HostileToken[];

/** GET with the admin token, another token, or none (''). */
async function get(url: string, token = t.token): Promise<LightMyRequestResponse> {
  if (token) sentTokens.add(token);
  return t.app.inject({ method: 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {} });
}

function expectClean(response: LightMyRequestResponse, echoes: readonly string[] = []): void {
  expect(
    leaks(response.body, [TEST_SECRET, ...sentTokens], echoes),
    `${response.statusCode} ${response.body.slice(0, 300)}`,
  ).toEqual([]);
  if (response.statusCode >= 400)
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
}

beforeAll(async () => {
  t = await startTestApp({
    // Trace: the most talkative the app gets, so the log assertions see every line it can write.
    env: { LOG_LEVEL: 'trace', RATE_LIMIT_ANALYTICS: '1000000' },
    logDestination: { write: (line: string) => void logLines.push(line) },
  });
  refused = await hostileTokens(TEST_SECRET);
  const day = Date.now() - 3 * 86_400_000;
  const response = await t.app.inject({
    method: 'POST',
    url: `${API}/ingest`,
    headers: { authorization: `Bearer ${t.token}` },
    payload: {
      messages: [
        eventCreated(jazzNight(day - 86_400_000, day + 30 * 86_400_000)),
        bookingMessage('BookingCreated', jazzBooking(1, day)),
      ],
    },
  });
  expect(response.statusCode).toBe(200);
});

afterAll(async () => {
  await t?.close();
});

describe('tokens', () => {
  it('serves a valid admin token (the control every refusal below is measured against)', async () => {
    const response = await get(`${API}/system`);
    expect(response.statusCode).toBe(200);
    expectClean(response);
  });

  it('accepts a token expired by less than the 30 s clock skew', async () => {
    expect((await get(`${API}/system`, await withinSkew(TEST_SECRET))).statusCode).toBe(200);
  });

  it('refuses a token it accepted once the clock skew has run out too', async () => {
    const token = await t.mint({ expiresInSeconds: 60 });
    expect((await get(`${API}/system`, token)).statusCode).toBe(200);
    // The clock moves past expiry and skew; only Date is faked, so timers and I/O run as usual.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + (60 + CLOCK_SKEW_SECONDS + 1) * 1000 });
    try {
      const refused = await get(`${API}/system`, token);
      expect(expectProblem(refused, 401).detail).toBe('token has expired');
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses every hostile token kind with 401 and WWW-Authenticate, or 403 for a valid non-admin', async () => {
    const wrong: string[] = [];
    for (const { name, token, status } of refused) {
      const response = await get(`${API}/system`, token);
      if (response.statusCode !== status) wrong.push(`${name}: ${response.statusCode} (want ${status})`);
      expectProblem(response, response.statusCode);
      expectClean(response);
      // RFC 6750 §3.1: a token was given and refused.
      if (status === 401)
        expect(response.headers['www-authenticate'], name).toMatch(/^Bearer\b.*error="invalid_token"/);
    }
    expect(wrong).toEqual([]);
  });

  it('says why a token was refused where that tells its holder what to fix', async () => {
    const detailOf = async (name: string) => {
      const hostile = refused.find((r) => r.name === name);
      if (!hostile) throw new Error(`no hostile token named ${name}`);
      return String(expectProblem(await get(`${API}/system`, hostile.token), 401).detail);
    };
    expect(await detailOf('signed with another key')).toMatch(/signed with another secret/);
    expect(await detailOf('a token without exp')).toBe('token is missing the required claim "exp"');
    expect(await detailOf('HS512 with the right secret')).toMatch(/algorithm this service does not accept/);
    expect(await detailOf('not a JWT')).toBe('token is invalid');
  });

  it('refuses a missing token, another scheme and an empty bearer with 401', async () => {
    for (const authorization of [
      undefined,
      `Basic ${Buffer.from('admin:admin').toString('base64')}`,
      'Bearer',
      'Bearer ',
      `Token ${t.token}`,
    ]) {
      const response = await t.app.inject({
        method: 'GET',
        url: `${API}/system`,
        headers: authorization === undefined ? {} : { authorization },
      });
      expectProblem(response, 401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer\b/);
      // No token to call invalid: the challenge has no error code.
      expect(response.headers['www-authenticate']).not.toMatch(/error=/);
    }
  });

  it('takes a token in the query string only on the live stream', async () => {
    const response = await get(`${API}/system?token=${encodeURIComponent(t.token)}`, '');
    expectProblem(response, 401);
  });

  it('refuses a hostile token on every kind of route: reads, the stream, ingest and admin actions', async () => {
    const hs512 = refused.find((r) => r.name.startsWith('HS512'))?.token ?? '';
    const routes = [
      { method: 'GET' as const, url: `${API}/events/7` },
      { method: 'GET' as const, url: `${API}/stream?token=${encodeURIComponent(hs512)}`, query: true },
      { method: 'POST' as const, url: `${API}/ingest`, payload: { messages: ['{}'] } },
      { method: 'POST' as const, url: `${API}/rebuild` },
      { method: 'POST' as const, url: `${API}/cache/clear` },
      { method: 'POST' as const, url: `${API}/admin/users/1/disable` },
      { method: 'POST' as const, url: `${API}/admin/users/1/enable` },
    ];
    for (const route of routes) {
      const response = await t.app.inject({
        method: route.method,
        url: route.url,
        headers: route.query ? {} : { authorization: `Bearer ${hs512}` },
        ...(route.payload ? { payload: route.payload } : {}),
      });
      expectProblem(response, 401);
    }
  });
});

describe('disabled users', () => {
  it('refuses every token of a user disabled by an admin with 401, and accepts them again once enabled', async () => {
    const victim = await t.mint({ userId: 4242 });
    expect((await get(`${API}/system`, victim)).statusCode).toBe(200);

    const disabled = await t.app.inject({
      method: 'POST',
      url: `${API}/admin/users/4242/disable`,
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json()).toMatchObject({
      success: true,
      data: { user_id: 4242, disabled: true, changed: true },
    });
    const refusedNow = await get(`${API}/system`, victim);
    expectProblem(refusedNow, 401);
    expect(refusedNow.headers['www-authenticate']).toMatch(/^Bearer\b/);
    // A fresh token does not help a disabled user.
    expectProblem(await get(`${API}/system`, await t.mint({ userId: 4242, expiresInSeconds: 60 })), 401);

    const enabled = await t.app.inject({
      method: 'POST',
      url: `${API}/admin/users/4242/enable`,
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(enabled.json()).toMatchObject({ data: { user_id: 4242, disabled: false, changed: true } });
    expect((await get(`${API}/system`, victim)).statusCode).toBe(200);
  });
});

describe('hostile parameters', () => {
  it('finds the analytics GET routes and their parameters in the OpenAPI document', () => {
    const routes = analyticsGetRoutes(t.app);
    expect(routes.map((r) => r.path)).toEqual(
      expect.arrayContaining([
        `${API}/dashboard`,
        `${API}/events`,
        `${API}/events/{event_id}`,
        `${API}/daily`,
        `${API}/top-events`,
        `${API}/dead-letters`,
      ]),
    );
    expect(routes.find((r) => r.path === `${API}/events`)?.query).toEqual(
      expect.arrayContaining(['q', 'sort', 'limit', 'offset', 'tz', 'as_of']),
    );
  });

  it('answers hostile values in every query parameter of every analytics GET route with data or a 4xx problem, never a 5xx', async () => {
    const cases = analyticsGetRoutes(t.app).flatMap((route) =>
      route.query.flatMap((name) =>
        HOSTILE_ENCODED.map((value) => ({ route: concrete(route.path), name, ...value })),
      ),
    );
    expect(cases.length).toBeGreaterThan(500);
    const failures: string[] = [];
    const probe = async ({ route, name, encoded, echo }: (typeof cases)[number]) => {
      const response = await get(`${route}?${name}=${encoded}`);
      const status = response.statusCode;
      const found = leaks(response.body, [TEST_SECRET, t.token], [echo]);
      // min_version beyond the data is a valid request the service may time out on (503), per api.md.
      const allowed =
        status === 200 || (status >= 400 && status < 500) || (status === 503 && name === 'min_version');
      if (!allowed || found.length > 0)
        failures.push(`${route}?${name}=${encoded.slice(0, 40)} → ${status} ${found.join(',')}`);
      if (status >= 400 && !/^application\/problem\+json/.test(String(response.headers['content-type']))) {
        failures.push(`${route}?${name}=${encoded.slice(0, 40)} → ${status} not a problem`);
      }
    };
    // min_version beyond the data waits its 5 s out: those cases run side by side.
    await Promise.all(cases.filter((c) => c.name === 'min_version').map(probe));
    await inBatches(
      cases.filter((c) => c.name !== 'min_version'),
      32,
      probe,
    );
    expect(triage('query', failures)).toEqual({ unexpected: [], fixed: [] });
  });

  it('answers 400 naming the parameter for a value out of its range', async () => {
    for (const [url, name] of [
      [`${API}/daily?days=0`, 'days'],
      [`${API}/daily?days=366`, 'days'],
      [`${API}/top-events?limit=51`, 'limit'],
      [`${API}/events?sort=1;drop`, 'sort'],
      [`${API}/daily?granularity=year`, 'granularity'],
      [`${API}/events?q=${'x'.repeat(101)}`, 'q'],
      [`${API}/daily?tz=Mars/Olympus`, 'tz'],
      [`${API}/daily?as_of=2026-02-30`, 'as_of'],
    ] as const) {
      const problem = expectProblem(await get(url), 400);
      expect(problem.detail, url).toContain(name);
    }
  });

  it('answers 400 naming an unknown query parameter on every analytics GET route', async () => {
    for (const route of analyticsGetRoutes(t.app)) {
      const response = await get(`${concrete(route.path)}?evil_param=1`);
      const problem = expectProblem(response, 400);
      expect(problem.detail, route.path).toContain('evil_param');
    }
    expect(expectProblem(await get(`${API}/stream?evil_param=1`), 400).detail).toContain('evil_param');
  });

  it('answers hostile path parameters with a 4xx problem (400, 404, 414), never data or a 5xx', async () => {
    const extra = ["1' OR 1=1", '1/../../system', '7/../../system', '-7'].map((value) => ({
      encoded: encodeURIComponent(value),
      echo: value,
    }));
    const failures: string[] = [];
    for (const route of analyticsGetRoutes(t.app).filter((r) => r.pathParams.length > 0)) {
      for (const { encoded, echo } of [...HOSTILE_ENCODED, ...extra]) {
        const url = route.path.replace(/\{[^}]+\}/g, encoded);
        const response = await get(url);
        const status = response.statusCode;
        if (status < 400 || status >= 500 || leaks(response.body, [TEST_SECRET], [echo, encoded]).length > 0)
          failures.push(`${url.slice(0, 80)} → ${status}`);
        if (status >= 400 && !/^application\/problem\+json/.test(String(response.headers['content-type']))) {
          failures.push(`${url.slice(0, 80)} → ${status} not a problem`);
        }
      }
    }
    expect(triage('path', failures)).toEqual({ unexpected: [], fixed: [] });
  });

  it('answers 404 with a problem for an unknown event and an unknown route', async () => {
    expectProblem(await get(`${API}/events/424242`), 404);
    for (const url of [
      `${API}/nope`,
      `${API}/events/7/nope`,
      '/api/v2/analytics/system',
      '/nope',
      `${API}/../../etc/passwd`,
    ]) {
      const response = await get(url);
      expectProblem(response, 404);
      expectClean(response, [url]);
    }
    // A token pasted into a path is not echoed back in the problem.
    const pasted = await get(`${API}/${t.token}`);
    expectProblem(pasted, 404);
    expect(pasted.body).not.toContain(t.token.split('.')[1] as string);
    expect(pasted.json<{ instance: string }>().instance).toBe(`${API}/[redacted]`);
  });

  it('answers 405 with Allow, not 404, for a path that exists with other methods', async () => {
    const cases: [method: 'DELETE' | 'POST' | 'GET' | 'PUT', url: string, allow: string][] = [
      ['DELETE', `${API}/dashboard`, 'GET, HEAD'],
      ['POST', `${API}/events/7?days=7`, 'GET, HEAD'],
      ['GET', `${API}/ingest`, 'POST'],
      ['PUT', '/health', 'GET, HEAD'],
    ];
    for (const [method, url, allow] of cases) {
      const response = await t.app.inject({ method, url, headers: { authorization: `Bearer ${t.token}` } });
      const problem = expectProblem(response, 405);
      expect(response.headers.allow, url).toBe(allow);
      expect(problem.detail).toContain(allow);
    }
    // A path no route has is still a 404, whatever the method.
    expectProblem(await t.app.inject({ method: 'DELETE', url: `${API}/events/7/nope` }), 404);
    // So is a file that is not there, on a route that serves files with that very method.
    for (const url of ['/dashboard/assets/nope.js', '/docs/static/nope.js']) {
      const missing = await t.app.inject({ method: 'GET', url });
      expectProblem(missing, 404);
      expect(missing.headers.allow, url).toBeUndefined();
    }
    expectProblem(await t.app.inject({ method: 'POST', url: '/dashboard/assets/app.js' }), 405);
  });
});

describe('request bodies', () => {
  /** `token` '' sends none. */
  const ingest = (body: string, contentType = 'application/json', token = t.token) =>
    t.app.inject({
      method: 'POST',
      url: `${API}/ingest`,
      headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      payload: body,
    });

  it('refuses a body over 1 MiB with 413', async () => {
    const huge = JSON.stringify({ messages: ['x'.repeat(1024 * 1024)] });
    const response = await ingest(huge);
    expectProblem(response, 413);
    expectClean(response);
  });

  it('refuses an unauthenticated huge body with 401 before reading it', async () => {
    expectProblem(
      await ingest(JSON.stringify({ messages: ['x'.repeat(2 * 1024 * 1024)] }), 'application/json', ''),
      401,
    );
  });

  it('refuses malformed JSON with 400 and says so without echoing the parser', async () => {
    for (const body of [
      '{"messages": [',
      '{"messages": [1,]}',
      "{'messages': []}",
      '{"__proto__": {"polluted": 1}, "messages": [1]',
      'null',
    ]) {
      const response = await ingest(body);
      const problem = expectProblem(response, 400);
      expectClean(response, [body]);
      expect(String(problem.detail)).not.toMatch(/Unexpected token|position \d+/);
    }
  });

  it('refuses a body of an unsupported content type with 415', async () => {
    for (const type of [
      'application/xml',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const response = await ingest('<messages/>', type);
      expectProblem(response, 415);
      expectClean(response);
    }
  });

  it('refuses a body that fits the schema badly with 400 naming the field', async () => {
    const problem = expectProblem(await ingest(JSON.stringify({ messages: [], extra: 1 })), 400);
    expect(String(problem.detail)).toMatch(/messages|extra/);
  });
});

describe('headers', () => {
  it('sets the API security headers on data, errors and the health check', async () => {
    for (const response of [
      await get(`${API}/system`),
      await get(`${API}/system`, ''),
      await get('/health', ''),
      await get('/no-such-route', ''),
    ]) {
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(response.headers['strict-transport-security']).toContain('max-age=');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.headers['x-powered-by']).toBeUndefined();
      expect(response.headers['x-request-id']).toBeDefined();
    }
  });

  it("sets helmet's headers, with a policy that lets the page load its own files, on the dashboard page", async () => {
    const page = await get('/', '');
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-dns-prefetch-control']).toBe('off');
  });

  it('answers CORS only for configured origins, never with a wildcard', async () => {
    const origin = 'https://admin.evently.dev';
    const cors = await startTestApp({ env: { CORS_ORIGINS: `${origin},https://ops.evently.dev` } });
    try {
      const listed = await cors.app.inject({
        method: 'GET',
        url: `${API}/system`,
        headers: { origin, authorization: `Bearer ${cors.token}` },
      });
      expect(listed.headers['access-control-allow-origin']).toBe(origin);
      expect(listed.headers['access-control-allow-credentials']).toBe('true');
      expect(listed.headers['access-control-expose-headers']).toContain('RateLimit-Remaining');
      // A browser client can read why it was refused and the name of a CSV download.
      expect(listed.headers['access-control-expose-headers']).toContain('WWW-Authenticate');
      expect(listed.headers['access-control-expose-headers']).toContain('Content-Disposition');

      const preflight = await cors.app.inject({
        method: 'OPTIONS',
        url: `${API}/system`,
        headers: {
          origin,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(origin);

      for (const evil of [
        'https://evil.example',
        'https://admin.evently.dev.evil.example',
        'null',
        origin.replace('https', 'http'),
      ]) {
        const response = await cors.app.inject({
          method: 'GET',
          url: `${API}/system`,
          headers: { origin: evil, authorization: `Bearer ${cors.token}` },
        });
        expect(response.headers['access-control-allow-origin'], evil).toBeUndefined();
      }
    } finally {
      await cors.close();
    }
    // Without CORS_ORIGINS no origin is allowed at all.
    const none = await t.app.inject({
      method: 'GET',
      url: `${API}/system`,
      headers: { origin: 'https://admin.evently.dev', authorization: `Bearer ${t.token}` },
    });
    expect(none.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('logs', () => {
  it('redacts a token given in the query string of the live stream', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    const token = await t.mint({ userId: 9, type: 'stream', expiresInSeconds: 60 });
    sentTokens.add(token);
    const abort = new AbortController();
    const response = await fetch(`http://127.0.0.1:${port}${API}/stream?token=${encodeURIComponent(token)}`, {
      signal: abort.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toContain(': connected');
    abort.abort();
    await reader?.cancel().catch(() => undefined);
    expect(logLines.some((line) => line.includes('/stream?token=[redacted]'))).toBe(true);
  });

  it('never writes the JWT secret, a token or a password in a log line', () => {
    expect(logLines.length).toBeGreaterThan(100);
    const signatures = [...sentTokens]
      .map((token) => token.split('.')[2] ?? '')
      .filter((s) => s.length >= 20);
    const offending = logLines.filter(
      (line) =>
        line.includes(TEST_SECRET) ||
        [...sentTokens].some((token) => token.length >= 20 && line.includes(token)) ||
        signatures.some((s) => line.includes(s)) ||
        /password/i.test(line),
    );
    expect(offending.map((line) => line.slice(0, 300))).toEqual([]);
  });
});
