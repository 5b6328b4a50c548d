import { describe, expect, it } from 'vitest';
import {
  createDbGuard,
  DatabaseUnavailableError,
  isDatabaseUnavailable,
} from '../../src/platform/db-guard.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
const refused = () => withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED');

describe('isDatabaseUnavailable', () => {
  it('recognizes what node-postgres reports when the database is gone', () => {
    expect(isDatabaseUnavailable(refused())).toBe(true);
    expect(
      isDatabaseUnavailable(withCode('terminating connection due to administrator command', '57P01')),
    ).toBe(true);
    expect(isDatabaseUnavailable(withCode('the database system is starting up', '57P03'))).toBe(true);
    expect(
      isDatabaseUnavailable(withCode('database "analytics" is not currently accepting connections', '55000')),
    ).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([refused(), refused()], ''))).toBe(true);
  });

  it('does not take a failed query for an outage', () => {
    expect(isDatabaseUnavailable(withCode('relation "nope" does not exist', '42P01'))).toBe(false);
    expect(isDatabaseUnavailable(withCode('division by zero', '22012'))).toBe(false);
    expect(isDatabaseUnavailable(new Error('event 7 not found'))).toBe(false);
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
  });
});

describe('database guard', () => {
  it('passes answers and query errors through, and keeps the circuit closed for both', async () => {
    const guard = createDbGuard({ threshold: 2 });
    await expect(guard.run(async () => 42)).resolves.toBe(42);
    for (let i = 0; i < 3; i++) {
      await expect(guard.run(() => Promise.reject(withCode('syntax error', '42601')))).rejects.toThrow(
        'syntax error',
      );
    }
    expect(guard.snapshot().state).toBe('closed');
  });

  it('fails fast without calling the database once the circuit is open', async () => {
    const guard = createDbGuard({ threshold: 2, cooldownMs: 60_000 });
    let calls = 0;
    const read = () => {
      calls++;
      return Promise.reject(refused());
    };
    for (let i = 0; i < 2; i++)
      await expect(guard.run(read)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect(guard.snapshot().state).toBe('open');
    const error = await guard.run(read).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as DatabaseUnavailableError).retryAfterMs).toBeGreaterThan(59_000);
    expect(calls).toBe(2);
  });

  it('gives up on a read that does not answer in time and counts it as a failure', async () => {
    const guard = createDbGuard({ threshold: 1, timeoutMs: 20 });
    const started = Date.now();
    await expect(guard.run(() => new Promise(() => undefined))).rejects.toThrow(
      'did not answer within 20 ms',
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(guard.snapshot().state).toBe('open');
  });

  it('probes again after the cool-down and closes when the database answers', async () => {
    let now = 0;
    const guard = createDbGuard({ threshold: 1, cooldownMs: 5_000, now: () => now });
    await expect(guard.run(() => Promise.reject(refused()))).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await expect(guard.run(async () => 1)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    now += 5_000;
    await expect(guard.run(async () => 1)).resolves.toBe(1);
    expect(guard.snapshot().state).toBe('closed');
  });
});
