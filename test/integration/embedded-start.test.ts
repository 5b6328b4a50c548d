/**
 * `npm start` with nothing configured: the real CLI in a child process, embedded PGlite, no
 * Redis. It answers /health, refuses the analytics API without a token, and a SIGTERM ends it with
 * exit code 0 at once, an open live stream included.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { mintToken } from '../../src/auth/tokens.ts';
import { waitFor } from '../helpers/db.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

it('starts embedded with nothing configured, answers /health, refuses /system without a token, and stops at once with a stream open', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'evently-embedded-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start'], {
    cwd: ROOT,
    env: { ...env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  try {
    const health = await waitFor(
      'the embedded service to answer',
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        return res?.ok
          ? ((await res.json()) as { status: string; checks: { redis: { status: string } } })
          : undefined;
      },
      60_000,
    );
    expect(health.status).toBe('healthy');
    expect(health.checks.redis.status).toBe('disabled');
    const refused = await fetch(`http://127.0.0.1:${port}/api/v1/analytics/system`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(output).toMatch(/running embedded/);
    expect(output).toMatch(/npm run token/);

    // A live-stream client (a dashboard tab) is open when the service is told to stop.
    const token = await mintToken({
      secret: readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8').trim(),
      algorithm: 'HS256',
      userId: 1,
      role: 'admin',
      expiresInSeconds: 600,
    });
    const stream = await fetch(`http://127.0.0.1:${port}/api/v1/analytics/stream`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(stream.status).toBe(200);
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain(': connected');
    const stopping = Date.now();
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    // Well inside the 10 s grace after which the process would be killed with exit code 1.
    expect(Date.now() - stopping).toBeLessThan(5_000);
    expect((await reader.read()).done).toBe(true);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
  expect(child.exitCode).toBe(0);
}, 90_000);
