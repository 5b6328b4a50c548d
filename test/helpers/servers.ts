/**
 * Throw-away Redis and PostgreSQL servers for fault tests: started on free ports of their own,
 * stopped by PID, their files in a temporary directory that `remove()` deletes. The shared
 * servers on the standard ports are never touched.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './db.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Whether a process of that pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to the process and resolves once it is gone. */
export async function stopPid(pid: number, signal: NodeJS.Signals, what: string): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, signal);
  await waitFor(`${what} (pid ${pid}) to exit`, async () => (alive(pid) ? undefined : true), 20_000);
}

/** A redis-server child process without persistence: a restart starts empty, as after a crash. */
export class RedisServer {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    /** What the server asks clients for (`--requirepass`); none by default. */
    readonly password?: string,
  ) {}

  static async start(port?: number, options: { password?: string } = {}): Promise<RedisServer> {
    const server = new RedisServer(port ?? (await freePort()), options.password);
    await server.start();
    return server;
  }

  get url(): string {
    return this.password === undefined
      ? `redis://127.0.0.1:${this.port}`
      : `redis://:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        ...(this.password === undefined ? [] : ['--requirepass', this.password]),
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    await waitFor(`redis-server on port ${this.port}`, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      const probe = new Redis(this.url, {
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG' ? true : undefined;
      } finally {
        probe.disconnect();
      }
    });
  }

  /** Freezes the server (SIGSTOP): connected, answering nothing, as a hung server is. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Lets a frozen server go on (SIGCONT). */
  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  /** Kills the server (SIGKILL: no goodbye to the clients) and waits until it is gone. */
  async kill(): Promise<void> {
    const pid = this.child?.pid;
    this.child = undefined;
    if (pid !== undefined) await stopPid(pid, 'SIGKILL', 'redis-server');
  }
}

function postgresBin(): string {
  if (process.env.TEST_PG_BIN) return process.env.TEST_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const bin = versions
    .map((v) => path.join(root, v, 'bin'))
    .find((dir) => existsSync(path.join(dir, 'initdb')));
  if (!bin)
    throw new Error(
      'no PostgreSQL server binaries found (set TEST_PG_BIN to the directory holding initdb and pg_ctl)',
    );
  return bin;
}

/**
 * A PostgreSQL cluster of its own under a temporary directory. initdb and pg_ctl refuse to run as
 * root, so as root they run as the `postgres` user, which then owns the directory.
 */
export class PgCluster {
  private readonly bin = postgresBin();
  private readonly asRoot = process.getuid?.() === 0;
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<PgCluster> {
    const dir = mkdtempSync(path.join(tmpdir(), 'evently-pg-'));
    const cluster = new PgCluster(dir, await freePort());
    if (cluster.asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(dir, uid, gid);
    }
    cluster.run('initdb', [
      '-D',
      cluster.dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '--no-sync',
      '--encoding=UTF8',
      '--locale=C',
    ]);
    return cluster;
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  urlFor(database: string): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  private run(tool: string, args: string[]): void {
    const command = path.join(this.bin, tool);
    const [file, argv] = this.asRoot
      ? ['runuser', ['-u', 'postgres', '--', command, ...args]]
      : [command, args];
    execFileSync(file, argv, { stdio: 'ignore', timeout: 60_000 });
  }

  start(): void {
    // fsync off: a test cluster whose data must survive only a stop of the server, not of the machine.
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
    this.run('pg_ctl', [
      '-D',
      this.dataDir,
      '-o',
      options,
      '-l',
      path.join(this.dir, 'server.log'),
      '-w',
      '-t',
      '60',
      'start',
    ]);
  }

  /** Immediate shutdown: the server drops every connection at once, as in a crash. */
  stopImmediately(): void {
    this.run('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
  }

  /** The postmaster's PID while it runs (checked against its command line: PIDs get reused). */
  pid(): number | undefined {
    const file = path.join(this.dataDir, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.dataDir) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stops the server if it runs (by PID, immediate shutdown) and deletes every file. */
  async remove(): Promise<void> {
    const pid = this.pid();
    if (pid !== undefined) await stopPid(pid, 'SIGQUIT', 'postgres');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
