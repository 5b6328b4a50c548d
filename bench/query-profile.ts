/**
 * Bench-only: time every statement sent through `pg.Client#query` and report where the database
 * time goes, by statement (the first words of its SQL).
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';

type Query = (this: pg.Client, ...args: unknown[]) => unknown;

function label(args: unknown[]): string {
  const first = args[0];
  const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '?');
  const words = text.replace(/\s+/g, ' ').trim();
  // Name a statement by its verb and target table: "insert into event_log", "update events e set".
  const match = /^(select [^(]*?from \w+|select [\w(]+|insert into \w+|update \w+|delete from \w+|\w+)/i.exec(words);
  return (match?.[0] ?? words).slice(0, 60);
}

export function profileQueries(): { stop(): void; print(wallMs: number): void } {
  const proto = pg.Client.prototype as unknown as { query: Query };
  const original = proto.query;
  const stats = new Map<string, { calls: number; ms: number }>();
  proto.query = function (this: pg.Client, ...args: unknown[]): unknown {
    const start = performance.now();
    const result = original.apply(this, args);
    if (result instanceof Promise) {
      const record = (): void => {
        const key = label(args);
        const s = stats.get(key) ?? { calls: 0, ms: 0 };
        s.calls++;
        s.ms += performance.now() - start;
        stats.set(key, s);
      };
      result.then(record, record);
    }
    return result;
  };
  return {
    stop() {
      proto.query = original;
    },
    print(wallMs) {
      const rows = [...stats].sort((a, b) => b[1].ms - a[1].ms);
      const total = rows.reduce((sum, [, s]) => sum + s.ms, 0);
      console.log(`    database time ${(total / 1000).toFixed(1)} s of ${(wallMs / 1000).toFixed(1)} s wall:`);
      for (const [key, s] of rows.slice(0, 20)) {
        console.log(
          `    ${((100 * s.ms) / wallMs).toFixed(1).padStart(5)}%  ${(s.ms / 1000).toFixed(2).padStart(6)} s  ` +
            `${String(s.calls).padStart(5)} calls  ${(s.ms / s.calls).toFixed(2).padStart(7)} ms/call  ${key}`,
        );
      }
    },
  };
}
