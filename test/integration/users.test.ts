/**
 * Disabled users across instances: a user disabled on instance A, by the admin endpoint or by a
 * UserDeactivated message, is refused on instance B within a second, and accepted again once
 * enabled. Instance B learns through the bus alone here (its once-a-second reload is not started).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor, when } from '../helpers/db.ts';
import { expectProblem } from '../support/problem.ts';

const API = '/api/v1/analytics';
let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  a = await startTestApp({ redis: true });
  b = await startTestApp({ redis: true, databaseUrl: a.database?.url ?? '' });
});

afterAll(async () => {
  await b?.close();
  await a?.close();
});

async function statusOn(t: TestApp, token: string): Promise<number> {
  const response = await t.app.inject({
    method: 'GET',
    url: `${API}/system`,
    headers: { authorization: `Bearer ${token}` },
  });
  return response.statusCode;
}

/** Polls B until it answers `status` for the token; fails if that takes more than a second. */
function onBWithinASecond(token: string, status: number, what: string): Promise<number> {
  return waitFor(
    what,
    when(
      () => statusOn(b, token),
      (s) => s === status,
    ),
    1_000,
  );
}

async function admin(t: TestApp, action: 'disable' | 'enable', userId: number) {
  return t.app.inject({
    method: 'POST',
    url: `${API}/admin/users/${userId}/${action}`,
    headers: { authorization: `Bearer ${t.token}` },
  });
}

async function ingest(
  t: TestApp,
  type: 'UserDeactivated' | 'UserReactivated',
  userId: number,
  at = new Date(),
): Promise<void> {
  const message = { type, user_id: userId, message_id: randomUUID(), timestamp: at.toISOString() };
  const response = await t.app.inject({
    method: 'POST',
    url: `${API}/ingest`,
    headers: { authorization: `Bearer ${t.token}` },
    payload: { messages: [message] },
  });
  expect(response.json()).toMatchObject({ data: { results: [{ outcome: 'processed' }] } });
}

describe('disabled users across instances', () => {
  it('refuses on B, within a second, a user an admin disabled on A, and serves them again once enabled', async () => {
    const userId = randomInt(1_000_000, 2 ** 40);
    const token = await a.mint({ userId });
    expect(await statusOn(b, token)).toBe(200);

    expect((await admin(a, 'disable', userId)).statusCode).toBe(200);
    // A itself refuses from the moment it answered.
    expectProblem(
      await a.app.inject({
        method: 'GET',
        url: `${API}/system`,
        headers: { authorization: `Bearer ${token}` },
      }),
      401,
    );
    await onBWithinASecond(token, 401, 'B to refuse the disabled user');

    expect((await admin(a, 'enable', userId)).json()).toMatchObject({
      data: { disabled: false, changed: true },
    });
    await onBWithinASecond(token, 200, 'B to serve the enabled user');
  });

  it('refuses on B, within a second, a user deactivated by a message ingested on A, and serves them after reactivation', async () => {
    const userId = randomInt(1_000_000, 2 ** 40);
    const token = await a.mint({ userId });
    expect(await statusOn(b, token)).toBe(200);

    await ingest(a, 'UserDeactivated', userId);
    await onBWithinASecond(token, 401, 'B to refuse the deactivated user');
    expect(await statusOn(a, token)).toBe(401);

    await ingest(a, 'UserReactivated', userId);
    await onBWithinASecond(token, 200, 'B to serve the reactivated user');
  });

  it('says nothing changed when a user already had the status asked for', async () => {
    const userId = randomInt(1_000_000, 2 ** 40);
    expect((await admin(b, 'enable', userId)).json()).toMatchObject({
      data: { user_id: userId, disabled: false, changed: false },
    });
    expect((await admin(b, 'disable', userId)).json()).toMatchObject({
      data: { disabled: true, changed: true },
    });
    expect((await admin(a, 'disable', userId)).json()).toMatchObject({
      data: { disabled: true, changed: false },
    });
  });

  it("lets an admin's action win over a message stamped in the future, and a later message over the admin", async () => {
    const userId = randomInt(1_000_000, 2 ** 40);
    const token = await a.mint({ userId });
    const inAnHour = new Date(Date.now() + 3_600_000);

    // A producer whose clock runs an hour ahead deactivates the user: it counts as made on arrival.
    await ingest(a, 'UserDeactivated', userId, inAnHour);
    await onBWithinASecond(token, 401, 'B to refuse the deactivated user');
    expect((await admin(a, 'enable', userId)).json()).toMatchObject({
      data: { disabled: false, changed: true },
    });
    await onBWithinASecond(token, 200, 'B to serve the user the admin enabled');

    // A change made after the admin's action still applies.
    await ingest(a, 'UserDeactivated', userId, new Date(Date.now() + 1_000));
    await onBWithinASecond(token, 401, 'B to refuse the user deactivated again');

    // The other way round: a reactivation stamped in the future does not make the user undisablable.
    await ingest(a, 'UserReactivated', userId, inAnHour);
    await onBWithinASecond(token, 200, 'B to serve the reactivated user');
    expect((await admin(b, 'disable', userId)).json()).toMatchObject({
      data: { disabled: true, changed: true },
    });
    await onBWithinASecond(token, 401, 'B to refuse the user the admin disabled');
  });

  it('refuses an admin disabling themselves, and leaves them served', async () => {
    const self = randomInt(1_000_000, 2 ** 40);
    const token = await a.mint({ userId: self });
    const response = await a.app.inject({
      method: 'POST',
      url: `${API}/admin/users/${self}/disable`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(expectProblem(response, 409).detail).toMatch(/yourself/);
    expect(await statusOn(a, token)).toBe(200);
  });

  it('lets only an admin disable or enable a user', async () => {
    const user = await a.mint({ role: 'user', userId: 77 });
    for (const action of ['disable', 'enable']) {
      expectProblem(
        await a.app.inject({
          method: 'POST',
          url: `${API}/admin/users/1/${action}`,
          headers: { authorization: `Bearer ${user}` },
        }),
        403,
      );
      expectProblem(await a.app.inject({ method: 'POST', url: `${API}/admin/users/1/${action}` }), 401);
    }
  });

  it('refuses a user id that is not a positive integer', async () => {
    for (const id of ['0', '-1', 'abc', "1'%20OR%201=1", '1.5', '99999999999999999999']) {
      const response = await a.app.inject({
        method: 'POST',
        url: `${API}/admin/users/${id}/disable`,
        headers: { authorization: `Bearer ${a.token}` },
      });
      expectProblem(response, 400);
    }
  });
});
