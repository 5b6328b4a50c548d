/**
 * The embedded store's lock (platform/data-dir-lock.ts): refused while a live process of this host
 * holds it, or one of another host that cannot be checked; taken over from a process that is gone
 * or whose pid now names another process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, lockDataDir } from '../../src/platform/data-dir-lock.ts';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'evently-lock-'));
  dirs.push(dir);
  return dir;
}

function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string;
}

function holdBy(dir: string, holder: { pid: number; host?: string; started?: string | null }): void {
  writeFileSync(
    path.join(dir, 'pglite.lock'),
    JSON.stringify({ host: hostname(), started: null, ...holder }),
  );
}

function liveProcess(): number {
  const child = spawn('sleep', ['60']);
  children.push(child);
  return child.pid as number;
}

describe('the embedded store lock', () => {
  it('is held while open and gone once released', () => {
    const dir = dataDir();
    const release = lockDataDir(dir);
    expect(JSON.parse(readFileSync(path.join(dir, 'pglite.lock'), 'utf8'))).toMatchObject({
      pid: process.pid,
    });
    release();
    expect(existsSync(path.join(dir, 'pglite.lock'))).toBe(false);
  });

  it('is refused while a live process of this host holds it', () => {
    const dir = dataDir();
    const pid = liveProcess();
    holdBy(dir, { pid, started: startTime(pid) });
    expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
    expect(() => lockDataDir(dir)).toThrow(new RegExp(`in use by another process \\(pid ${pid}\\)`));
  });

  it('is refused, with the way out, when a process of another host holds it', () => {
    const dir = dataDir();
    holdBy(dir, { pid: 123_456_789, host: 'another-container' });
    expect(() => lockDataDir(dir)).toThrow(/pid 123456789 on host another-container.*delete .*pglite\.lock/s);
  });

  it.each([
    ['a process that is gone', () => ({ pid: 2 ** 22 + 12_345 })],
    ['a pid a later process took', () => ({ pid: liveProcess(), started: '1' })],
  ])('is taken over from %s', (_name, holder) => {
    const dir = dataDir();
    holdBy(dir, holder());
    const release = lockDataDir(dir);
    expect(JSON.parse(readFileSync(path.join(dir, 'pglite.lock'), 'utf8'))).toMatchObject({
      pid: process.pid,
    });
    release();
  });

  it('is taken over from a file it cannot read as a lock', () => {
    const dir = dataDir();
    writeFileSync(path.join(dir, 'pglite.lock'), '');
    lockDataDir(dir)();
    writeFileSync(path.join(dir, 'pglite.lock'), '1');
    lockDataDir(dir)();
  });
});
