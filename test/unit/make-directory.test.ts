import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeDirectory } from '../../src/platform/make-directory.ts';

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

describe('makeDirectory', () => {
  it('makes every missing directory of a path, and takes one that exists', () => {
    root = mkdtempSync(path.join(tmpdir(), 'evently-mkdir-'));
    const deep = path.join(root, 'a', 'b', 'c');
    makeDirectory(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(() => makeDirectory(deep)).not.toThrow();
    expect(() => makeDirectory(root as string)).not.toThrow();
  });

  it('throws where a directory cannot be made, rather than retry', () => {
    root = mkdtempSync(path.join(tmpdir(), 'evently-mkdir-'));
    writeFileSync(path.join(root, 'file'), '');
    expect(() => makeDirectory(path.join(root as string, 'file', 'x'))).toThrow(/ENOTDIR/);
    // A file where the directory should be is not one, as mkdir -p says.
    expect(() => makeDirectory(path.join(root as string, 'file'))).toThrow(/EEXIST/);
    // procfs refuses new entries with ENOENT although /proc exists: Node's recursive mkdir loops.
    expect(() => makeDirectory('/proc/evently-test/x')).toThrow(/ENOENT/);
  });
});
