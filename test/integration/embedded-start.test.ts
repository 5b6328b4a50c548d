/**
 * `npm start` with nothing configured: the real CLI in a child process, embedded PGlite, no
 * Redis. It answers /health, refuses the analytics API without a token, and a SIGTERM ends it with
 * exit code 0 at once, an open live stream included.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { mintToken } from '../../src/auth/tokens.ts';
import { ROOT, runCli } from '../helpers/cli.ts';
import { waitFor } from '../helpers/db.ts';
import { alive, freePort } from '../helpers/servers.ts';

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
    // Embedded, it consumes nothing from Redis, and says so.
    const info = (await (await fetch(`http://127.0.0.1:${port}/info`)).json()) as { features: string[] };
    expect(info.features).toContain('http-ingest');
    expect(info.features.filter((f) => f.startsWith('redis-'))).toEqual([]);
    const refused = await fetch(`http://127.0.0.1:${port}/api/v1/analytics/system`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(output).toMatch(/running embedded/);
    // With the DATA_DIR it needs: a bare `npm run token` would mint from ./data's secret, refused here.
    expect(output).toContain(
      `generated a development JWT secret; get an admin token with: DATA_DIR=${dataDir} npm run token`,
    );

    // An operator command on the same store would run a second PostgreSQL on its files.
    const busy = await runCli(['rebuild'], { ...env, DATA_DIR: dataDir });
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toMatch(new RegExp(`in use by another process \\(pid ${child.pid}\\)`));
    expect(busy.stderr).toMatch(/POST \/api\/v1\/analytics\/rebuild/);

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
  }
  expect(child.exitCode).toBe(0);
  try {
    // Stopped, it let go of the store: the operator command runs (reconcile: 0, nothing drifted).
    const after = await runCli(['reconcile'], { ...env, DATA_DIR: dataDir });
    // Its log lines go to stderr (stdout is the report): none of them a warning or worse.
    expect(after.stderr).not.toMatch(/"level":(40|50|60)/);
    expect(JSON.parse(after.stdout)).toMatchObject({ drift: false });
    expect(after.code).toBe(0);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 120_000);

/** The processes under a pid, children first found through ps. */
function descendants(pid: number): number[] {
  let listed = '';
  try {
    listed = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    // ps exits 1 when there are none.
  }
  const children = listed
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((n) => n > 0);
  return children.flatMap((child) => [child, ...descendants(child)]);
}

/** `npm start`, embedded on `port`, as a person or a service manager runs it; `detached`: a process group of its own. */
function npmStart(dataDir: string, port: number, detached: boolean) {
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      DATA_DIR: dataDir,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  let output = '';
  npm.stdout.on('data', (d: Buffer) => (output += d.toString()));
  npm.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  const ready = waitFor(
    'the service under npm to be ready',
    () =>
      fetch(`http://127.0.0.1:${port}/health/ready`).then(
        (r) => (r.ok ? true : undefined),
        () => undefined,
      ),
    60_000,
  );
  return { npm, exited, ready, output: () => output };
}

it('stops when `npm start` itself is told to stop, as an orchestrator running it would', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'evently-npm-start-'));
  const { npm, ready } = npmStart(dataDir, await freePort(), false);
  let service: number[] = [];
  try {
    await ready;
    service = descendants(npm.pid as number);
    expect(service.length).toBeGreaterThan(0);
    npm.kill('SIGTERM');
    // The service, not only npm, ends: no process npm started is left behind.
    await waitFor('the service to exit', async () => (service.some(alive) ? undefined : true), 10_000);
  } finally {
    for (const pid of service.filter(alive)) process.kill(pid, 'SIGKILL');
    npm.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 90_000);

it('drains and exits 0 when a stop signal reaches npm and the service both (Ctrl-C, a kill of the process group)', async () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'evently-group-signal-'));
    // A process group of its own, as a terminal or a service manager gives it.
    const { npm, exited, ready, output } = npmStart(dataDir, await freePort(), true);
    try {
      await ready;
      process.kill(-(npm.pid as number), signal);
      expect(await exited, `${signal}: ${output()}`).toBe(0);
      expect(output()).toContain('"msg":"shut down"');
      expect(output()).not.toMatch(/stop asked again|second SIG/);
    } finally {
      try {
        process.kill(-(npm.pid as number), 'SIGKILL');
      } catch {
        // The group is gone.
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}, 150_000);

it('stops at once and with 0 when asked while it opens its store, leaving no lock on DATA_DIR behind', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'evently-early-stop-'));
  const lock = path.join(dataDir, 'pglite.lock');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    // The lock is taken as the store opens; a new store takes seconds to open.
    await waitFor('the store to be locked', async () => (existsSync(lock) ? true : undefined), 30_000);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('stopped during start-up, before taking any work');
    // A lock left behind would stop the next start in a new container (another host name).
    expect(existsSync(lock)).toBe(false);
  } finally {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
