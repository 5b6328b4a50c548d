/**
 * `mkdir -p` that ends. Node's recursive mkdir retries for ever where a missing directory cannot be
 * made although its parent exists (under /proc, say: ENOENT each time); this makes each missing
 * directory once, from the deepest one that exists, and throws the first refusal.
 */
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

export function makeDirectory(dir: string): void {
  const missing: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      mkdirSync(at);
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        if (statSync(at).isDirectory()) break;
        throw error;
      }
      if (code !== 'ENOENT' || path.dirname(at) === at) throw error;
      missing.push(at);
    }
  }
  for (const at of missing.reverse()) {
    try {
      mkdirSync(at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(at).isDirectory()) throw error;
    }
  }
}
