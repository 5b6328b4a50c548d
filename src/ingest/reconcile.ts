/**
 * Reconcile: recompute every aggregate from the event log and compare with the incremental
 * figures. Any difference is drift: a bug, or a manual change to the tables. The recomputation is
 * written into temporary copies of the aggregate tables, so readers never wait on it and the real
 * tables are not touched. The result is recorded (reconcile_runs) and reported by /health.
 */
import { sql } from 'kysely';
import type { Config } from '../platform/config.ts';
import type { Db } from '../platform/db.ts';
import { logPrunedBefore, shadowAggregates } from '../store/maintenance.repository.ts';
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
  /** False when retention dropped payloads a recomputation would need: drift cannot be verified. */
  comparable: boolean;
  differences: Difference[];
  difference_count: number;
  duration_ms: number;
  /** Only when not comparable: why, and the cut-off of the payloads that are gone. */
  reason?: string;
  payloads_pruned_before?: string;
}

/** Why nothing can be verified once retention dropped payloads from `prunedBefore` back. */
export function unverifiableReason(prunedBefore: string): string {
  return (
    `retention dropped the payloads of processed messages received before ${prunedBefore}: ` +
    'the figures can no longer be recomputed from the event log, so drift cannot be verified'
  );
}

/**
 * The stored figures of the tables whose size is bounded by the calendar (a row per day, per
 * quarter-hour, per phase and day), as comparable text keyed by table and row.
 */
async function snapshot(trx: Db): Promise<Map<string, string>> {
  const queries: [string, ReturnType<typeof sql<{ k: string; v: string }>>][] = [
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
      'flow_phase_day',
      sql`select phase || '|' || day as k, row(new_bookings, confirmed, cancelled, expired, revenue,
      gross_confirmed, confirmed_base, new_users, active_events)::text as v from flow_phase_day
      where (new_bookings, confirmed, cancelled, expired, new_users, active_events) <> (0,0,0,0,0,0) or revenue <> 0`,
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
    // One snapshot for the whole run (repeatable read): the event log and the figures exactly as the
    // same commits left them, while ingestion goes on. Each batch writes its log rows and its figures
    // in one transaction, so no writer lock is needed; a reconcile took it until this release, and
    // ingestion waited out the whole recomputation (a minute and a half at 2 M messages).
    await deps.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        // Its statements take as long as the store needs, whatever the database's defaults; the
        // first statement fixes the snapshot, and the time it was taken is the time checked.
        const { rows: began } = await sql<{ at: string }>`
          select set_config('statement_timeout', '0', true), set_config('lock_timeout', '0', true),
            to_char(transaction_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at`.execute(
          trx,
        );
        const checkedAt = began[0]?.at ?? new Date().toISOString();
        const prunedBefore = await logPrunedBefore(trx);
        // A recomputation from a pruned log differs wherever history is missing: its differences would
        // say nothing.
        const { sample, count } =
          prunedBefore === undefined ? await compare(trx, deps.config) : { sample: [], count: 0 };
        throw new Rollback({
          checked_at: checkedAt,
          drift: count > 0,
          comparable: prunedBefore === undefined,
          differences: sample,
          difference_count: count,
          duration_ms: Math.round(performance.now() - started),
          ...(prunedBefore === undefined
            ? {}
            : { reason: unverifiableReason(prunedBefore), payloads_pruned_before: prunedBefore }),
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

/**
 * The tables that grow with the store (a row per event, per user, per booking, per event and day,
 * per event and quarter-hour): compared inside PostgreSQL, the stored table against its recomputed
 * temporary copy, rather than held in memory. A row of zeros is no row.
 */
const FLOW_EVENT_VALUE = sql.raw(
  'row(new_bookings, confirmed, cancelled, expired, revenue, gross_confirmed, confirmed_base, transitions)::text',
);
const FLOW_EVENT_LIVE = sql.raw(
  '((new_bookings, confirmed, cancelled, expired, confirmed_base, transitions) <> (0,0,0,0,0,0) or revenue <> 0 or gross_confirmed <> 0)',
);
const COMPARED_IN_SQL = [
  {
    table: 'events',
    key: sql.raw('event_id::text'),
    value: sql.raw(`row(event_name, name_key, category, total_capacity, price, status, event_date, deleted,
      total_bookings, pending_bookings, confirmed_bookings, cancelled_bookings, expired_bookings, tickets_sold,
      seats_held, total_revenue, confirmed_base, first_booking, last_booking, created_at)::text`),
    live: sql.raw('true'),
  },
  {
    table: 'event_currency_revenue',
    key: sql.raw(`event_id || '|' || currency`),
    value: sql.raw('row(confirmed, amount)::text'),
    live: sql.raw('(confirmed <> 0 or amount <> 0)'),
  },
  {
    table: 'flow_mask_event',
    key: sql.raw(`day || '|' || event_id`),
    value: sql.raw('quarters::text'),
    live: sql.raw('bit_count(quarters) > 0'),
  },
  {
    table: 'users',
    key: sql.raw('user_id::text'),
    value: sql.raw('row(bookings, first_booking_at)::text'),
    live: sql.raw('bookings > 0'),
  },
  {
    table: 'flow_day_event',
    key: sql.raw(`event_id || '|' || day`),
    value: FLOW_EVENT_VALUE,
    live: FLOW_EVENT_LIVE,
  },
  {
    table: 'flow_bucket_event',
    key: sql.raw(`event_id || '|' || bucket`),
    value: FLOW_EVENT_VALUE,
    live: FLOW_EVENT_LIVE,
  },
  // The state as jsonb: the same transitions, whatever order their fields were written in.
  {
    table: 'bookings',
    key: sql.raw('booking_id::text'),
    value: sql.raw('row(state::jsonb, event_id, user_id, created_at)::text'),
    live: sql.raw('true'),
  },
] as const;

/** At most this many differences are kept, per table compared in SQL and in the report. */
const SAMPLE = 50;

async function compareInSql(
  trx: Db,
  schema: string,
  t: (typeof COMPARED_IN_SQL)[number],
): Promise<{ sample: Difference[]; count: number }> {
  const { rows } = await sql<{ k: string; a: string | null; b: string | null; n: number }>`
    with a as (select ${t.key} as k, ${t.value} as v from ${sql.table(`${schema}.${t.table}`)} where ${t.live}),
      b as (select ${t.key} as k, ${t.value} as v from ${sql.table(`pg_temp.${t.table}`)} where ${t.live})
    select coalesce(a.k, b.k) as k, a.v as a, b.v as b, (count(*) over ())::int as n
    from a full join b on a.k = b.k
    where a.v is distinct from b.v
    order by 1 limit ${SAMPLE}`.execute(trx);
  return {
    sample: rows.map((r) => ({ table: t.table, key: r.k, incremental: r.a, recomputed: r.b })),
    count: rows[0]?.n ?? 0,
  };
}

/** The stored figures against a recomputation into temporary copies of their tables. */
async function compare(
  trx: Db,
  config: Pick<Config, 'baseCurrency' | 'reportingTimezone'>,
): Promise<{ sample: Difference[]; count: number }> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(trx);
  const schema = rows[0]?.schema ?? 'public';
  const incremental = await snapshot(trx);
  await shadowAggregates(trx);
  await replayLog(trx, config);
  const recomputed = await snapshot(trx);
  const differences: Difference[] = [];
  for (const key of new Set([...incremental.keys(), ...recomputed.keys()])) {
    const a = incremental.get(key);
    const b = recomputed.get(key);
    if (a === b) continue;
    const [table = '', ...rest] = key.split(':');
    differences.push({ table, key: rest.join(':'), incremental: a ?? null, recomputed: b ?? null });
  }
  let count = differences.length;
  for (const table of COMPARED_IN_SQL) {
    const found = await compareInSql(trx, schema, table);
    differences.push(...found.sample);
    count += found.count;
  }
  return { sample: differences.slice(0, SAMPLE), count };
}

/** A recorded run, as /health shows it (without its differences). */
export type ReconcileRun = Pick<
  ReconcileReport,
  'checked_at' | 'drift' | 'comparable' | 'difference_count' | 'duration_ms'
>;

const UTC_CHECKED_AT = sql.raw(`to_char(checked_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`);

/** The last run that could compare: when drift was last verified, and what it found. */
export type VerifiedRun = Pick<ReconcileRun, 'checked_at' | 'drift' | 'difference_count'>;

export interface ReconcileState {
  last: ReconcileRun | undefined;
  lastVerified: VerifiedRun | null;
}

/** The last run, and the last one that could compare (the same run while the log is complete). */
export async function lastReconcile(db: Db): Promise<ReconcileState> {
  const { rows } = await sql<{
    checked_at: string;
    drift: boolean;
    comparable: boolean;
    difference_count: number;
    duration_ms: number;
  }>`
    select ${UTC_CHECKED_AT} as checked_at, drift, comparable, difference_count, duration_ms
    from reconcile_runs order by id desc limit 1`.execute(db);
  const last = rows[0];
  const verified = (run: VerifiedRun) => ({
    checked_at: run.checked_at,
    drift: run.drift,
    difference_count: run.difference_count,
  });
  if (!last || last.comparable) return { last, lastVerified: last ? verified(last) : null };
  const earlier = await sql<VerifiedRun>`
    select ${UTC_CHECKED_AT} as checked_at, drift, difference_count from reconcile_runs
    where comparable order by id desc limit 1`.execute(db);
  const run = earlier.rows[0];
  return { last, lastVerified: run ? verified(run) : null };
}

export type ReconcileCheck =
  | (ReconcileRun & { status: 'clean' | 'drift' })
  | (Partial<ReconcileRun> & { status: 'unverifiable'; reason: string; last_verified: VerifiedRun | null });

/**
 * What /health says of reconcile. Drift found stays reported until a later run. Once retention
 * dropped payloads nothing can be verified any more: that is said, with the last run that could
 * verify, rather than left looking clean; but it is a limit the configuration chose, not a fault,
 * so it does not degrade the service.
 */
export function reconcileCheck(state: ReconcileState, prunedBefore: string | null): ReconcileCheck | null {
  const { last } = state;
  if (last?.drift) return { ...last, status: 'drift' };
  if (prunedBefore !== null) {
    return {
      // A run since the pruning is the one to show; one from before it compared, and belongs under
      // last_verified, not beside "unverifiable".
      ...(last?.comparable === false ? last : {}),
      // Whatever the last run could do, nothing can be compared now.
      comparable: false,
      status: 'unverifiable',
      reason: unverifiableReason(prunedBefore),
      last_verified: state.lastVerified,
    };
  }
  return last ? { ...last, status: 'clean' } : null;
}
