/**
 * While start-up waits for an unreachable PostgreSQL, the real CLI is already on its port: alive
 * (so a liveness probe does not restart it), not ready, and a 503 problem with Retry-After for
 * everything else.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { waitFor } from '../helpers/db.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

it('answers alive, not ready, while it waits for its database', async () => {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      // Nothing listens on port 1: refused at once, and retried for as long as it takes.
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/evently_test_starting',
      JWT_SECRET: 'a-secret-for-the-starting-test-that-is-long-enough',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
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
    for (const url of ['/health/ready', '/health', '/api/v1/analytics/system']) {
      const res = await fetch(`http://127.0.0.1:${port}${url}`);
      expect(res.status, url).toBe(503);
      expect(res.headers.get('content-type'), url).toMatch(/application\/problem\+json/);
      expect(res.headers.get('retry-after'), url).toBe('5');
      expect(((await res.json()) as { detail: string }).detail).toMatch(/waiting for the database/);
    }
    // It is waiting, not failing.
    expect(output).toMatch(/not reachable yet; retrying/);
    expect(child.exitCode).toBeNull();
  } finally {
    child.kill('SIGKILL');
  }
});
