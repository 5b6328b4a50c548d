/**
 * Reconcile: recompute every aggregate from the event log inside a transaction that is rolled
 * back, and compare with the incremental figures. Any difference is drift: a bug, or a manual
 * change to the tables. The result is recorded (reconcile_runs) and reported by /health.
 */
import { sql } from 'kysely';
import type { Config } from '../platform/config.ts';
import type { Db } from '../platform/db.ts';
import * as repo from '../store/ingest.repository.ts';
import { logPrunedBefore } from '../store/maintenance.repository.ts';
import { replayLog } from './rebuild.ts';

export interface Difference {
  table: string;
  key: string;
  incremental: unknown;
  recomputed: unknown;
}

export interface ReconcileReport {
  checked_at: string;
  drift: boolean;
  /** False when retention dropped payloads a recomputation would need. */
  comparable: boolean;
  differences: Difference[];
  difference_count: number;
  duration_ms: number;
}

/** Every stored figure, as comparable text keyed by table and row. */
async function snapshot(trx: Db): Promise<Map<string, string>> {
  const queries: [string, ReturnType<typeof sql<{ k: string; v: string }>>][] = [
    [
      'events',
      sql`select event_id::text as k, row(event_name, category, total_capacity, price, status, event_date,
      deleted, total_bookings, pending_bookings, confirmed_bookings, cancelled_bookings, expired_bookings,
      tickets_sold, seats_held, total_revenue, confirmed_base, first_booking, last_booking, created_at)::text as v
      from events`,
    ],
    [
      'event_currency_revenue',
      sql`select event_id || '|' || currency as k, row(confirmed, amount)::text as v
      from event_currency_revenue where confirmed <> 0 or amount <> 0`,
    ],
    [
      'flow_day',
      sql`select day::text as k, row(new_bookings, confirmed, cancelled, expired, revenue,
      gross_confirmed, confirmed_base, new_users, active_events)::text as v from flow_day
      where (new_bookings, confirmed, cancelled, expired, new_users, active_events) <> (0,0,0,0,0,0) or revenue <> 0`,
    ],
    [
      'flow_bucket',
      sql`select bucket::text as k, row(new_bookings, confirmed, cancelled, expired, revenue,
      gross_confirmed, confirmed_base, new_users)::text as v from flow_bucket
      where (new_bookings, confirmed, cancelled, expired, new_users) <> (0,0,0,0,0) or revenue <> 0`,
    ],
    [
      'users',
      sql`select user_id::text as k, row(bookings, first_booking_at)::text as v from users where bookings > 0`,
    ],
    ['totals', sql`select 'totals' as k, row(bookings, revenue, users)::text as v from totals`],
  ];
  const out = new Map<string, string>();
  for (const [table, query] of queries) {
    const { rows } = await query.execute(trx);
    for (const r of rows) out.set(`${table}:${r.k}`, r.v);
  }
  return out;
}

class Rollback extends Error {
  constructor(readonly report: ReconcileReport) {
    super('reconcile rolls back its recomputation');
  }
}

export async function reconcile(deps: {
  db: Db;
  config: Pick<Config, 'baseCurrency' | 'reportingTimezone'>;
}): Promise<ReconcileReport> {
  const started = performance.now();
  let report: ReconcileReport;
  try {
    await deps.db.transaction().execute(async (trx) => {
      await repo.lockWriter(trx);
      const comparable = (await logPrunedBefore(trx)) === undefined;
      const incremental = await snapshot(trx);
      await replayLog(trx, deps.config);
      const recomputed = await snapshot(trx);
      const differences: Difference[] = [];
      for (const key of new Set([...incremental.keys(), ...recomputed.keys()])) {
        const a = incremental.get(key);
        const b = recomputed.get(key);
        if (a === b) continue;
        const [table = '', ...rest] = key.split(':');
        differences.push({ table, key: rest.join(':'), incremental: a ?? null, recomputed: b ?? null });
      }
      throw new Rollback({
        checked_at: new Date().toISOString(),
        drift: comparable && differences.length > 0,
        comparable,
        differences: differences.slice(0, 50),
        difference_count: differences.length,
        duration_ms: Math.round(performance.now() - started),
      });
    });
    throw new Error('unreachable: reconcile must roll back');
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
    report = error.report;
  }
  await sql`insert into reconcile_runs (checked_at, drift, differences, difference_count, duration_ms, comparable)
    values (${report.checked_at}, ${report.drift}, ${JSON.stringify(report.differences)}::jsonb, ${report.difference_count},
      ${report.duration_ms},
      ${report.comparable})`.execute(deps.db);
  return report;
}

export async function lastReconcile(db: Db): Promise<Omit<ReconcileReport, 'differences'> | undefined> {
  const { rows } = await sql<{
    checked_at: string;
    drift: boolean;
    comparable: boolean;
    n: number;
    duration_ms: number;
  }>`
    select to_char(checked_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as checked_at, drift, comparable,
      difference_count as n, duration_ms
    from reconcile_runs order by id desc limit 1`.execute(db);
  const r = rows[0];
  return r
    ? {
        checked_at: r.checked_at,
        drift: r.drift,
        comparable: r.comparable,
        difference_count: r.n,
        duration_ms: r.duration_ms,
      }
    : undefined;
}
