/**
 * The command line as an operator types it: help, and bad commands, options and values refused with
 * the usage and exit code 64 instead of being ignored or turned into an unusable token.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../helpers/cli.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { freePort, RedisServer } from '../helpers/servers.ts';

const dataDir = mkdtempSync(path.join(tmpdir(), 'evently-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** What a child process needs from the shell, and nothing of this one's configuration. */
const SHELL = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };

const cli = (...args: string[]) => runCli(args, { ...SHELL, DATA_DIR: dataDir });

describe('the command line', () => {
  it('prints its usage on help, also asked after a command', async () => {
    for (const args of [['--help'], ['help'], ['token', '--help'], ['rebuild', '-h']]) {
      const help = await cli(...args);
      expect(help.code, args.join(' ')).toBe(0);
      expect(help.stdout).toMatch(/^usage: npm start/);
      expect(help.stdout).toMatch(/npm run rebuild \[-- --force\]/);
    }
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['token', '--user-id', 'abc'], /--user-id must be a whole number from 1 to/],
    [['token', '--minutes', '0'], /--minutes must be a whole number from 1 to 10080 \(got "0"\)/],
    [['token', '--minutes', '1e9'], /--minutes must be a whole number from 1 to 10080/],
    [['token', '--type', 'weird'], /--type must be access or refresh/],
    [['migrate', '--role', 'api'], /migrate: Unknown option '--role'/],
    [['start', '--role', 'bogus'], /--role must be api, worker or all \(got "bogus"\)/],
    // `npm run token --role admin`: npm takes the option, the service gets its value alone.
    [
      ['token', 'admin'],
      /Unexpected argument 'admin'.*options go after --, as in: npm run token -- --role admin/,
    ],
  ])('refuses %j with the usage and exit code 64', async (args, message) => {
    const run = await cli(...args);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/usage: npm start/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(64);
  });

  it('says why the service will not start on stderr and as a JSON log line, exit code 78', async () => {
    // A database configured without a JWT secret: refused before anything starts.
    const refused = await runCli(['start'], {
      ...SHELL,
      DATABASE_URL: 'postgres://postgres:do-not-print@127.0.0.1:1/evently_test_never',
    });
    expect(refused.code).toBe(78);
    expect(refused.stderr).toMatch(/JWT_SECRET/);
    const line = JSON.parse(refused.stdout.trim().split('\n').at(-1) ?? '{}') as {
      level?: number;
      msg?: string;
    };
    expect(line.level).toBe(60);
    expect(line.msg).toMatch(/JWT_SECRET/);
    expect(refused.stdout + refused.stderr).not.toContain('do-not-print');
  });

  it('refuses a DATA_DIR that cannot be made, exit code 78, instead of retrying for ever', async () => {
    const refused = await runCli(['start'], {
      ...SHELL,
      DATA_DIR: '/proc/evently-test',
    });
    expect(refused.code).toBe(78);
    expect(refused.stderr).toMatch(/DATA_DIR \/proc\/evently-test cannot be made: ENOENT/);
  });

  it('refuses to start when PostgreSQL refuses the role or the database, saying so, exit code 78', async () => {
    for (const url of [
      'postgresql://postgres@127.0.0.1:5432/evently_test_never_created',
      'postgresql://evently_no_such_role@127.0.0.1:5432/postgres',
    ]) {
      const refused = await runCli(['start'], {
        ...SHELL,
        DATABASE_URL: url,
        JWT_SECRET: 'x'.repeat(40),
        PORT: String(await freePort()),
      });
      expect(refused.code, url).toBe(78);
      expect(refused.stderr).toMatch(
        /PostgreSQL refused the connection of DATABASE_URL \/ DB_\*: .*does not exist/,
      );
    }
  });

  it('refuses to start when Redis refuses its password or database number, saying so, exit code 78', async () => {
    const database = await createTestDatabase('cli');
    const redis = await RedisServer.start(undefined, { password: 'the-right-one' });
    try {
      const port = String(await freePort());
      const refusals = {
        [`redis://:not-it@127.0.0.1:${redis.port}`]: /(WRONGPASS|NOAUTH)/,
        [`redis://127.0.0.1:${redis.port}`]: /(WRONGPASS|NOAUTH)/,
        // ioredis would go on in database 0, the streams and caches of another application.
        [`redis://:the-right-one@127.0.0.1:${redis.port}/99`]: /DB index is out of range/,
      };
      for (const [url, reason] of Object.entries(refusals)) {
        const refused = await runCli(['start'], {
          ...SHELL,
          DATABASE_URL: database.url,
          REDIS_URL: url,
          JWT_SECRET: 'x'.repeat(40),
          PORT: port,
        });
        expect(refused.code, url).toBe(78);
        expect(refused.stderr).toMatch(/Redis refused the settings of REDIS_URL \/ REDIS_\*: /);
        expect(refused.stderr).toMatch(reason);
        expect(refused.stdout + refused.stderr).not.toContain('not-it');
      }
      // Refused before migrating: the database is as it was (an upgrade with a mistyped Redis can
      // still go back to the release before).
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: number }>(
          "select count(*)::int as n from information_schema.tables where table_schema = 'public'",
        );
        expect(rows[0]?.n).toBe(0);
      } finally {
        await client.end();
      }
    } finally {
      await redis.kill();
      await database.drop();
    }
  });

  it('starts without a Redis it cannot reach, saying what the connection said and that TLS was on', async () => {
    const database = await createTestDatabase('cli');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start'], {
      cwd: ROOT,
      env: {
        ...SHELL,
        DATABASE_URL: database.url,
        REDIS_URL: `rediss://127.0.0.1:${await freePort()}`,
        JWT_SECRET: 'x'.repeat(40),
        PORT: String(await freePort()),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const found = out.split('\n').find((l) => l.includes('Redis unreachable at start'));
          if (found) resolve(JSON.parse(found) as Record<string, unknown>);
        });
        child.once('exit', () => reject(new Error(`exited before saying so:\n${out}`)));
      });
      // Not only "already connecting", which is what the last retry of connect() answers.
      expect(line.cause).toMatch(/ECONNREFUSED/);
      expect(line.hint).toMatch(/TLS is on/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await database.drop();
    }
  }, 60_000);

  it('says when a token comes from a secret it has just generated, which only its DATA_DIR knows', async () => {
    const fresh = mkdtempSync(path.join(tmpdir(), 'evently-cli-token-'));
    try {
      const env = { ...SHELL, DATA_DIR: fresh };
      const first = await runCli(['token'], env);
      expect(first.code).toBe(0);
      expect(first.stderr).toContain(
        `generated a new development JWT secret: only a service with DATA_DIR=${fresh} accepts this token`,
      );
      // The token alone on stdout, as `TOKEN=$(npm run -s token)` takes it.
      expect(first.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      const again = await runCli(['token'], env);
      expect(again.stderr).not.toContain('generated');
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('names the port and the setting that moves it when the port is taken', async () => {
    const port = await freePort();
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    const fresh = mkdtempSync(path.join(tmpdir(), 'evently-cli-port-'));
    try {
      const run = await runCli(['start'], {
        ...SHELL,
        DATA_DIR: fresh,
        HOST: '127.0.0.1',
        PORT: String(port),
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/EADDRINUSE.*another process listens there; stop it, or set PORT/);
    } finally {
      taken.close();
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('mints a token for the user and lifetime asked for', async () => {
    const run = await cli('token', '--user-id', '7', '--minutes', '5');
    expect(run.code).toBe(0);
    const claims = decodeJwt(run.stdout.trim());
    expect(claims).toMatchObject({ user_id: 7, role: 'admin', type: 'access' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);
  });
});
