/**
 * Bench-only: time every statement sent through `pg.Client#query` and report where the database
 * time goes, by statement (the first words of its SQL).
 */
import { performance } from 'node:perf_hooks';
import { open, stat } from 'node:fs/promises';
import pg from 'pg';

type Query = (this: pg.Client, ...args: unknown[]) => unknown;

function label(args: unknown[]): string {
  const first = args[0];
  const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '?');
  const words = text.replace(/\s+/g, ' ').replaceAll('"', '').trim();
  // Name a statement by its verb and target table: "insert into event_log", "update events e set".
  const match = /^(select [^(]*?from \w+|select [\w(]+|insert into \w+|update \w+|delete from \w+|\w+)/i.exec(
    words,
  );
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
      console.log(
        `    database time ${(total / 1000).toFixed(1)} s of ${(wallMs / 1000).toFixed(1)} s wall:`,
      );
      for (const [key, s] of rows.slice(0, 20)) {
        console.log(
          `    ${((100 * s.ms) / wallMs).toFixed(1).padStart(5)}%  ${(s.ms / 1000).toFixed(2).padStart(6)} s  ` +
            `${String(s.calls).padStart(5)} calls  ${(s.ms / s.calls).toFixed(2).padStart(7)} ms/call  ${key}`,
        );
      }
    },
  };
}

/**
 * Server-side statement times, from PostgreSQL's own log: `log_min_duration_statement = 0` is set on
 * the bench database only (ALTER DATABASE, gone with it), and the log lines written meanwhile are
 * summed by statement. Needs read access to the server log (`--pg-log`).
 */
export async function profileServer(url: string, database: string, logPath: string, explain = false) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`alter database ${database} set log_min_duration_statement = 0`);
  await client.query(`alter database ${database} set log_parameter_max_length = 0`);
  if (explain) {
    // Plans with actual row counts and times of every statement over 2 ms, in the same log.
    await client.query(`alter database ${database} set session_preload_libraries = 'auto_explain'`);
    await client.query(`alter database ${database} set auto_explain.log_min_duration = 2`);
    await client.query(`alter database ${database} set auto_explain.log_analyze = on`);
    await client.query(`alter database ${database} set auto_explain.log_buffers = on`);
  }
  await client.end();
  const { size: offset } = await stat(logPath);
  return {
    async print(wallMs: number): Promise<void> {
      const handle = await open(logPath);
      const { size } = await handle.stat();
      const buffer = Buffer.alloc(size - offset);
      await handle.read(buffer, 0, buffer.length, offset);
      await handle.close();
      const stats = new Map<string, { calls: number; ms: number }>();
      const entry = new RegExp(
        `@${database} LOG:  duration: ([0-9.]+) ms  (?:(parse|bind|execute) [^:]*|statement): (.*)`,
      );
      const lines = buffer.toString('utf8').split('\n');
      for (const [i, line] of lines.entries()) {
        const m = entry.exec(line);
        if (!m) continue;
        // Statements that start with a newline continue on the next (unprefixed) lines.
        let text = m[3] ?? '';
        for (
          let j = i + 1;
          text.trim().length < 40 && j < lines.length && !/^\d{4}-/.test(lines[j] ?? '');
          j++
        ) {
          text += ` ${lines[j] ?? ''}`;
        }
        const key = `${(m[2] ?? 'simple').padEnd(7)} ${label([text])}`;
        const s = stats.get(key) ?? { calls: 0, ms: 0 };
        s.calls++;
        s.ms += Number(m[1]);
        stats.set(key, s);
      }
      const rows = [...stats].sort((a, b) => b[1].ms - a[1].ms);
      const total = rows.reduce((sum, [, s]) => sum + s.ms, 0);
      console.log(
        `    server time ${(total / 1000).toFixed(1)} s of ${(wallMs / 1000).toFixed(1)} s wall (PostgreSQL log):`,
      );
      for (const [key, s] of rows.slice(0, 25)) {
        console.log(
          `    ${((100 * s.ms) / wallMs).toFixed(1).padStart(5)}%  ${(s.ms / 1000).toFixed(2).padStart(6)} s  ` +
            `${String(s.calls).padStart(5)} calls  ${(s.ms / s.calls).toFixed(2).padStart(7)} ms/call  ${key}`,
        );
      }
    },
  };
}
