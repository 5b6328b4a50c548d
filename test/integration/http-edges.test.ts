/** Edges of the HTTP layer: what Fastify or Node would otherwise answer in their own formats. */
import { API_SECURITY_HEADERS } from '../../src/platform/security-headers.ts';
import http from 'node:http';
import net from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { startTestApp, TEST_SECRET, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/db.ts';
import { listen } from '../helpers/sse.ts';
import { expectProblem } from '../support/problem.ts';
import { everyFigureChanged } from '../../src/ingest/entry.ts';

describe('HTTP edges', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CORS_ORIGINS: 'https://admin.evently.test' } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => t.close());
  const auth = () => ({ authorization: `Bearer ${t.token}` });

  it.each(['0x7', '7.0', '1e3', '99999999999999999999'])(
    'refuses the event id %s instead of coercing it',
    async (id) => {
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/v1/analytics/events/${id}`,
        headers: auth(),
      });
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.json<{ detail: string }>().detail).toMatch(/event_id/);
    },
  );

  it('answers a malformed URL with a problem and the same headers as any answer', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/%zz', headers: { 'x-request-id': 'bad-url-1' } });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.headers['x-request-id']).toBe('bad-url-1');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBeDefined();
  });

  it('refuses a NUL byte in a text parameter with a 400 problem', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/events?q=%00', headers: auth() });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ detail: string }>().detail).toMatch(/NUL/);
  });

  it.each([
    ['/api/v1/analytics/events?q=a&q=b', 'q'],
    ['/api/v1/analytics/daily?tz=Europe/Paris&tz=UTC', 'tz'],
    ['/api/v1/analytics/events?format=csv&format=json', 'format'],
  ])('says a repeated parameter is repeated (%s)', async (url, name) => {
    const res = await t.app.inject({ method: 'GET', url, headers: auth() });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ detail: string }>().detail).toBe(`${name} is given 2 times; give it once`);
  });

  it('sends the dead letters gzipped, varying by origin and encoding, in the columns of their schema', async () => {
    // Enough rejected messages for a list over 1 KB.
    const messages = Array.from({ length: 12 }, (_, i) => `not json at all, message ${i} ${'x'.repeat(60)}`);
    const ingest = await t.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/ingest',
      headers: auth(),
      payload: { messages },
    });
    expect(ingest.statusCode).toBe(200);
    const headers = { ...auth(), origin: 'https://admin.evently.test', 'accept-encoding': 'gzip' };
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/dead-letters', headers });
    expect(list.statusCode).toBe(200);
    expect(list.headers['content-encoding']).toBe('gzip');
    expect(String(list.headers.vary)).toMatch(/Origin/);
    expect(String(list.headers.vary)).toMatch(/Accept-Encoding/);
    expect(String(list.headers.vary)).toMatch(/Accept\b/);
    const body = JSON.parse(gunzipSync(list.rawPayload).toString('utf8')) as { data: { total: number } };
    expect(body.data.total).toBeGreaterThanOrEqual(12);
    // A page under 1 KB goes plain, still marked as chosen by encoding.
    const small = await t.app.inject({
      method: 'GET',
      url: '/api/v1/analytics/dead-letters?limit=1',
      headers,
    });
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(String(small.headers.vary)).toMatch(/Accept-Encoding/);
    const csv = await t.app.inject({
      method: 'GET',
      url: '/api/v1/analytics/dead-letters?format=csv',
      headers: auth(),
    });
    expect(csv.body.split('\r\n')[0]).toBe(
      'id,reason,detail,transport,channel,received_at,raw,raw_bytes,raw_truncated',
    );
    // The OpenAPI document too, to a client that takes gzip.
    const doc = await t.app.inject({
      method: 'GET',
      url: '/openapi.json',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(doc.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(doc.rawPayload).toString('utf8'))).toHaveProperty('openapi');
  });

  it('refuses a compressed request body with 415 and an empty JSON body with a clear 400', async () => {
    const body = JSON.stringify({ messages: [{ type: 'EventCreated', event_id: 1 }] });
    for (const encoding of ['gzip', 'br', 'deflate']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/analytics/ingest',
        headers: { ...auth(), 'content-type': 'application/json', 'content-encoding': encoding },
        payload: body,
      });
      expect(expectProblem(res, 415).detail).toMatch(/uncompressed/);
    }
    // Without a valid token the token is what is refused.
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/ingest',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: body,
    });
    expectProblem(anonymous, 401);
    const empty = await t.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/ingest',
      headers: { ...auth(), 'content-type': 'application/json' },
    });
    expect(expectProblem(empty, 400).detail).toBe(
      'the request body is empty, but its Content-Type says JSON',
    );
  });

  it('takes a POST that reads no body whatever type an HTTP client sends with it, and ingest JSON only', async () => {
    for (const [type, payload] of [
      ['application/x-www-form-urlencoded', ''],
      ['text/plain', 'x'],
      ['application/octet-stream', 'x'],
      ['application/json', ''],
      ['application/json', 'x=1'],
    ]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/analytics/cache/clear',
        headers: { ...auth(), 'content-type': type },
        payload,
      });
      expect(res.statusCode, type).toBe(200);
    }
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/analytics/ingest',
        headers: { ...auth(), 'content-type': type },
        payload: 'messages=1',
      });
      expect(expectProblem(res, 415).detail).toBe(`the request body must be application/json (got ${type})`);
    }
    for (const [count, detail] of [
      [1_001, 'body.messages may hold at most 1000 items'],
      [0, 'body.messages must hold at least 1 item(s)'],
    ] as const) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/analytics/ingest',
        headers: auth(),
        payload: { messages: Array.from({ length: count }, () => '{}') },
      });
      expect(expectProblem(res, 400).detail).toBe(detail);
    }
    const csv = await t.app.inject({
      method: 'GET',
      url: '/api/v1/analytics/system?format=csv',
      headers: auth(),
    });
    expect(expectProblem(csv, 400).detail).toMatch(/CSV is offered by the list and series endpoints only/);
  });

  it('answers oversized request headers with a 431 problem, not a bare socket error', async () => {
    const port = (t.app.server.address() as net.AddressInfo).port;
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      });
      let data = '';
      socket.on('data', (d: Buffer) => (data += d.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 431/);
    expect(answer).toMatch(/application\/problem\+json/);
    expect(answer).toMatch(/"status":431/);
    // With the security headers every answer of the API carries.
    for (const [name, value] of Object.entries(API_SECURITY_HEADERS))
      expect(answer.toLowerCase(), name).toContain(`${name}: ${value}`.toLowerCase());
  });

  it('sends CORS headers with credentials to a listed origin only', async () => {
    const listed = await t.app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://admin.evently.test' },
    });
    expect(listed.headers['access-control-allow-origin']).toBe('https://admin.evently.test');
    expect(listed.headers['access-control-allow-credentials']).toBe('true');
    const other = await t.app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://evil.test' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(other.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it("answers a listed origin's preflight once for ten minutes", async () => {
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/analytics/system',
      headers: {
        origin: 'https://admin.evently.test',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://admin.evently.test');
    expect(preflight.headers['access-control-max-age']).toBe('600');
  });

  it('mints a stream token that the stream accepts in its URL and the API refuses in a header', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/stream/token',
      headers: auth(),
    });
    expect(res.statusCode).toBe(200);
    const { token, expires_in } = res.json<{ data: { token: string; expires_in: number } }>().data;
    expect(expires_in).toBeLessThanOrEqual(300);
    const asHeader = await t.app.inject({
      method: 'GET',
      url: '/api/v1/analytics/system',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(asHeader.statusCode).toBe(401);
  });

  it('refuses in the URL a stream token that lives longer than 5 minutes or does not say when it was issued', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: { iat?: number; exp: number }) => {
      const jwt = new SignJWT({ user_id: 1, role: 'admin', type: 'stream', session_exp: now + 3_600 })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(claims.exp);
      if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
      return jwt.sign(new TextEncoder().encode(TEST_SECRET));
    };
    for (const claims of [{ exp: now + 60 }, { iat: now, exp: now + 600 }]) {
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/v1/analytics/stream?token=${await sign(claims)}`,
      });
      expect(res.statusCode, JSON.stringify(claims)).toBe(401);
      expect(res.json<{ detail: string }>().detail).toMatch(/5 minutes/);
    }
  });

  it('sends the security, CORS and request-id headers with the event stream too', async () => {
    const port = (t.app.server.address() as net.AddressInfo).port;
    const headers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
      const req = http.get(
        {
          host: '127.0.0.1',
          port,
          path: '/api/v1/analytics/stream',
          headers: { ...auth(), origin: 'https://admin.evently.test', 'x-request-id': 'sse-edge-1' },
        },
        (res) => {
          resolve(res.headers);
          req.destroy();
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) =>
        error.code === 'ECONNRESET' ? undefined : reject(error),
      );
    });
    expect(headers['content-type']).toContain('text/event-stream');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(headers['access-control-allow-origin']).toBe('https://admin.evently.test');
    expect(headers['x-request-id']).toBe('sse-edge-1');
    expect(headers['ratelimit-limit']).toBeDefined();
  });
  /** Reads a stream until it ends; false when it is still open after `ms`. */
  async function endsWithin(body: ReadableStream<Uint8Array>, ms: number): Promise<boolean> {
    const reader = body.getReader();
    return Promise.race([
      (async () => {
        while (!(await reader.read()).done);
        return true;
      })(),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms)),
    ]);
  }

  it('ends an open event stream when the session of its token ends, whichever way it was opened', async () => {
    const port = (t.app.server.address() as net.AddressInfo).port;
    // exp 28 s ago: still accepted within the 30 s clock skew, for about 2 more seconds.
    const expiring = await t.mint({ userId: 77, expiresInSeconds: -28 });
    const byHeader = await fetch(`http://127.0.0.1:${port}/api/v1/analytics/stream`, {
      headers: { authorization: `Bearer ${expiring}` },
    });
    expect(byHeader.status).toBe(200);
    const minted = await t.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/stream/token',
      headers: { authorization: `Bearer ${expiring}` },
    });
    const { token } = minted.json<{ data: { token: string } }>().data;
    const byUrl = await fetch(`http://127.0.0.1:${port}/api/v1/analytics/stream?token=${token}`);
    expect(byUrl.status).toBe(200);
    const [headerEnded, urlEnded] = await Promise.all([
      endsWithin(byHeader.body as ReadableStream<Uint8Array>, 6_000),
      endsWithin(byUrl.body as ReadableStream<Uint8Array>, 6_000),
    ]);
    expect([headerEnded, urlEnded]).toEqual([true, true]);
  });

  /** Opens a live stream on a raw socket that reads nothing of the answer until resumed. */
  async function openSilently(socket: net.Socket, port: number, token: string): Promise<void> {
    socket.connect(port, '127.0.0.1');
    socket.pause();
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `GET /api/v1/analytics/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
  }

  it('ends the event stream of a client that takes nothing, instead of holding it until its session ends', async () => {
    const slow = await startTestApp({ appOptions: { streamHeartbeatMs: 25 } });
    const socket = new net.Socket();
    try {
      await slow.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (slow.app.server.address() as net.AddressInfo).port;
      const ended = async () =>
        /live_stream_duration_seconds_count\{route="\/api\/v1\/analytics\/stream"\} 1\b/.test(
          (await slow.app.inject({ method: 'GET', url: '/metrics' })).body,
        );
      // A client that sends its request and never reads a byte of the answer.
      await openSilently(socket, port, slow.token);
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Heartbeats alone never fill its buffers: it stays open while it could still catch up.
      expect(await ended()).toBe(false);
      // Commits it does not take pile up until the socket's buffers are full: then it is ended.
      for (let version = 1; version <= 150_000; version++) {
        await slow.deps.bus.publish({ kind: 'change', notice: everyFigureChanged(version) });
        if (version % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      expect(
        await waitFor('the stalled stream to end', async () => ((await ended()) ? true : undefined), 10_000),
      ).toBe(true);
    } finally {
      socket.destroy();
      await slow.close();
    }
  });

  it('tells a client that fell behind of the newest version once it catches up, even with no commit after', async () => {
    const behind = await startTestApp();
    const socket = new net.Socket();
    try {
      await behind.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (behind.app.server.address() as net.AddressInfo).port;
      await openSilently(socket, port, behind.token);
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Commits while it reads nothing: its buffers fill, and the last notices are dropped for it.
      const last = 150_000;
      for (let version = 1; version <= last; version++) {
        await behind.deps.bus.publish({
          kind: 'change',
          notice: { data_version: version, changed: ['events'] },
        });
        if (version % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      // It reads again; nothing more is committed.
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.resume();
      const frame = await waitFor(
        'the newest version',
        async () => new RegExp(`id: ${last}\nevent: change\ndata: (.*)\n`).exec(text)?.[1],
        15_000,
      );
      // What the dropped notices named is unknown to it: this one names every figure.
      expect(JSON.parse(frame)).toEqual(everyFigureChanged(last));
    } finally {
      socket.destroy();
      await behind.close();
    }
  });

  it('refuses a stream token whose session has ended, so an EventSource stops instead of looping', async () => {
    const expiring = await t.mint({ userId: 78, expiresInSeconds: -29 });
    const minted = await t.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/stream/token',
      headers: { authorization: `Bearer ${expiring}` },
    });
    expect(minted.statusCode).toBe(200);
    const { token } = minted.json<{ data: { token: string } }>().data;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/analytics/stream?token=${token}` });
    expect(res.statusCode).toBe(401);
    expect(res.json<{ detail: string }>().detail).toMatch(/session/);
  });

  it('keeps a stream opened with a two-minute stream token open for the rest of its session', async () => {
    const minted = await t.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/stream/token',
      headers: auth(),
    });
    const { token } = minted.json<{ data: { token: string } }>().data;
    const claims = (jwt: string) =>
      JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as { exp: number };
    const stream = claims(token) as { exp: number; session_exp?: number };
    // The URL token itself is good for two minutes; the stream it opens lasts as long as the session.
    expect(stream.exp - Date.now() / 1000).toBeLessThanOrEqual(120);
    expect(stream.session_exp).toBe(claims(t.token).exp);
  });

  it("ends a disabled user's open event stream within a couple of seconds", async () => {
    const port = (t.app.server.address() as net.AddressInfo).port;
    const userToken = await t.mint({ userId: 4242 });
    const stream = await fetch(`http://127.0.0.1:${port}/api/v1/analytics/stream`, {
      headers: { authorization: `Bearer ${userToken}` },
    });
    expect(stream.status).toBe(200);
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain(': connected');
    const disabled = await t.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/admin/users/4242/disable',
      headers: auth(),
    });
    expect(disabled.statusCode).toBe(200);
    const ended = await Promise.race([
      (async () => {
        while (!(await reader.read()).done);
        return true;
      })(),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3_000)),
    ]);
    expect(ended).toBe(true);
    await t.app.inject({ method: 'POST', url: '/api/v1/analytics/admin/users/4242/enable', headers: auth() });
  });

  it('tells a reconnecting stream at once what was committed while it was away (Last-Event-ID)', async () => {
    const port = (t.app.server.address() as net.AddressInfo).port;
    const url = `http://127.0.0.1:${port}/api/v1/analytics/stream`;
    const ingest = async (id: number) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/analytics/ingest',
        headers: auth(),
        payload: {
          messages: [{ type: 'EventCreated', event_id: id, event_data: { name: `Reconnect ${id}` } }],
        },
      });
      return res.json<{ data: { data_version: number } }>().data.data_version;
    };
    const seen = await ingest(9101);
    // Up to date: nothing until the next commit, which comes with its version as its id.
    const current = await listen(url, { ...auth(), 'last-event-id': String(seen) });
    // Behind (it saw the version before): told at once, about every figure.
    const behind = await listen(url, { ...auth(), 'last-event-id': String(seen - 1) });
    // Not an id the service gave: a plain new stream.
    const garbage = await listen(url, { ...auth(), 'last-event-id': 'yesterday' });
    // Ahead of the store (restored from a backup, say): told the version there is, and followed.
    const ahead = await listen(url, { ...auth(), 'last-event-id': String(seen + 1000) });
    try {
      await waitFor('the catch-up', async () => behind.events[0], 3_000);
      await waitFor('the version there is', async () => ahead.events[0], 3_000);
      expect(ahead.events[0]?.id).toBe(String(seen));
      expect(behind.events[0]).toEqual({
        id: String(seen),
        data: {
          data_version: seen,
          changed: ['capacity', 'daily', 'events', 'revenue', 'system', 'top-events'],
        },
      });
      const next = await ingest(9102);
      expect(next).toBeGreaterThan(seen);
      for (const s of [current, behind, garbage, ahead])
        await waitFor(
          'the next change',
          async () => s.events.find((e) => e.data.data_version === next),
          3_000,
        );
      expect(current.events.map((e) => e.id)).toEqual([String(next)]);
      expect(behind.events.map((e) => e.id)).toEqual([String(seen), String(next)]);
      expect(garbage.events.map((e) => e.id)).toEqual([String(next)]);
      expect(ahead.events.map((e) => e.id)).toEqual([String(seen), String(next)]);
    } finally {
      for (const s of [current, behind, garbage, ahead]) s.close();
    }
  });
});
