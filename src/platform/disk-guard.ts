/**
 * The embedded store's guard against a full disk (see DiskGuard), and which statements it stops.
 */
import { statfsSync } from 'node:fs';

/** Comments, white space and parentheses before a statement's first word. */
const LEAD = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*/;
const WRITE_VERB =
  /^(?:insert|update|delete|merge|create|alter|drop|truncate|copy|vacuum|analyze|cluster|reindex|refresh|comment|grant|revoke)\b/i;
/** What makes a `with` statement write (`update "t"` as Kysely quotes it, too). */
const WRITING_CTE = /\b(?:insert\s+into|update\s+["\w]|delete\s+from|merge\s+into)\b/i;

/**
 * Whether a statement writes. Reads, probes (`select 1`, `set_config`, advisory locks) and
 * transaction control (`begin`, `commit`, `rollback`) go on whatever the disk holds.
 */
export function isWriteStatement(text: string): boolean {
  const head = text.replace(LEAD, '');
  return WRITE_VERB.test(head) || (/^with\b/i.test(head) && WRITING_CTE.test(head));
}

/** How often the free space is read again. */
const DISK_CHECK_MS = 1_000;

/**
 * The embedded store's guard against a full disk: PGlite runs in this process, and a write its disk
 * refuses (a new WAL segment, 16 MB) leaves it spinning for good, deaf to every request, /health
 * included. Below `minFreeBytes` a write fails at once as PostgreSQL's own full disk does (53100):
 * the batch is retried whole later (HTTP ingest answers 503), nothing half-written.
 */
export class DiskGuard {
  private checkedAt = -Infinity;
  private free = Infinity;
  constructor(
    private readonly dir: string,
    private readonly minFreeBytes: number,
    private readonly freeBytes: (dir: string) => number = freeBytesOf,
  ) {}

  problem(): string | null {
    const now = Date.now();
    if (now - this.checkedAt >= DISK_CHECK_MS) {
      this.checkedAt = now;
      this.free = this.freeBytes(this.dir);
    }
    if (this.free >= this.minFreeBytes) return null;
    const mb = (bytes: number) => Math.floor(bytes / 1_048_576);
    return (
      `the disk of the embedded store (${this.dir}) has ${mb(this.free)} MB free: below ` +
      `${mb(this.minFreeBytes)} MB (EMBEDDED_MIN_FREE_MB) it takes no writes, and ingest answers 503 until space is freed`
    );
  }

  check(text: string): void {
    if (!isWriteStatement(text)) return;
    const problem = this.problem();
    if (problem) throw Object.assign(new Error(problem), { code: '53100' });
  }
}

/** Bytes free to this process on the disk holding `dir`; unreadable: let PGlite say what is wrong. */
function freeBytesOf(dir: string): number {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return Infinity;
  }
}
