/**
 * While start-up waits for an unreachable PostgreSQL, the real CLI is already on its port: alive
 * (so a liveness probe does not restart it), not ready, and a 503 problem with Retry-After for
 * everything else.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Value } from 'typebox/value';
import { expect, it } from 'vitest';
import { HealthSchema } from '../../src/api/operations.schemas.ts';
import { API_SECURITY_HEADERS } from '../../src/platform/security-headers.ts';
import { waitFor } from '../helpers/db.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Node's arguments in `npm start` (`exec node …`): the test starts the service exactly as it does. */
function npmStartArgs(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const [exec, node, ...args] = pkg.scripts.start.split(/\s+/);
  expect([exec, node]).toEqual(['exec', 'node']);
  return args;
}

it('ends with 0 on a stop signal while its code still loads, before the TypeScript loader runs', async () => {
  const args = npmStartArgs();
  // npm start loads the stop handler before anything else.
  expect(args.slice(0, 4)).toEqual(['--import', './src/cli/preload-start.js', '--import', 'tsx']);
  // The handler alone, under a program that never gets further than loading.
  const child = spawn(
    process.execPath,
    [args[0]!, args[1]!, '-e', "process.stdout.write('loaded\\n'); setInterval(() => {}, 1000)"],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  try {
    await waitFor('the program to load', async () => (output.includes('loaded') ? true : undefined));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (code, signal) => resolve([code, signal])),
    );
    child.kill('SIGINT');
    expect(await exited).toEqual([0, null]);
    const line = JSON.parse(output.split('\n')[1]!) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 30,
      service: 'evently-analytics',
      signal: 'SIGINT',
      msg: 'stopped during start-up, before taking any work',
    });
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

it('answers alive, not ready, while it waits for its database, and stops at once when asked', async () => {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(process.execPath, npmStartArgs(), {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      // Nothing listens on port 1: refused at once, and retried for as long as it takes.
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/evently_test_starting',
      JWT_SECRET: 'a-secret-for-the-starting-test-that-is-long-enough',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  try {
    const live = await waitFor(
      'the port to answer',
      async () => (await fetch(`http://127.0.0.1:${port}/health/live`).catch(() => undefined)) ?? undefined,
      30_000,
    );
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'alive' });
    // The health routes in their documented shapes (operations.schemas.ts), anything else a problem.
    const answer = async (url: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${url}`);
      expect(res.status, url).toBe(503);
      expect(res.headers.get('retry-after'), url).toBe('5');
      return { type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
    };
    expect((await answer('/health/ready')).body).toEqual({ status: 'starting' });
    // The API's security headers, as on every answer of the service itself.
    const headers = (await fetch(`http://127.0.0.1:${port}/health/live`)).headers;
    for (const [name, value] of Object.entries(API_SECURITY_HEADERS))
      expect(headers.get(name), name).toBe(value);
    const health = await answer('/health');
    expect(health.body).toMatchObject({
      status: 'unhealthy',
      reasons: ['starting: waiting for the database'],
      checks: { database: { status: 'down' }, redis: { status: 'unknown' } },
      data_version: null,
    });
    expect(Value.Check(HealthSchema, health.body)).toBe(true);
    const api = await answer('/api/v1/analytics/system');
    expect(api.type).toMatch(/application\/problem\+json/);
    expect(api.body).toMatchObject({
      type: 'https://evently.dev/problems/503',
      status: 503,
      detail: 'starting: waiting for the database',
    });
    // The caller's request id, in the answer and on the request's log line, as once started.
    const traced = await fetch(`http://127.0.0.1:${port}/api/v1/analytics/system`, {
      headers: { 'x-request-id': 'starting-trace-1' },
    });
    expect(traced.headers.get('x-request-id')).toBe('starting-trace-1');
    expect(((await traced.json()) as { request_id: string }).request_id).toBe('starting-trace-1');
    await waitFor('the request log line', async () =>
      output
        .split('\n')
        .some((line) => line.includes('"reqId":"starting-trace-1"') && line.includes('"statusCode":503'))
        ? true
        : undefined,
    );
    // It is waiting, not failing.
    expect(output).toMatch(/not reachable yet; retrying/);
    expect(child.exitCode).toBeNull();
    // A stop asked for meanwhile: nothing was taken on, so it ends at once, and as a stop does (0).
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toMatch(/"signal":"SIGTERM".*stopped during start-up, before taking any work/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
