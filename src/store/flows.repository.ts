/**
 * The flow-table writes of one ingest transaction (flow_bucket, flow_day, their per-event tables,
 * the activity masks and the shifted days): each batch's flow deltas are added to the stored
 * counters in one multi-row upsert per table.
 */
import { sql } from 'kysely';
import { zeroFlow, type EventFlowDelta, type FlowDelta } from '../aggregate/deltas.ts';
import { unitsToDecimal } from '../aggregate/money.ts';
import { phaseAndDay, type PhaseDelta, type PhaseKey, type QuarterSpan } from '../aggregate/phases.ts';
import { BUCKETS_PER_DAY } from '../aggregate/time.ts';
import type { Db } from '../platform/db.ts';
import { quarterMask, utcDayAndQuarter } from './local-days.ts';
import { json } from './rows.ts';

function flowPayload(d: FlowDelta): Record<string, unknown> {
  return {
    new_bookings: d.newBookings,
    confirmed: d.confirmed,
    cancelled: d.cancelled,
    expired: d.expired,
    revenue: unitsToDecimal(d.revenue),
    gross_confirmed: unitsToDecimal(d.grossConfirmed),
    confirmed_base: d.confirmedBase,
  };
}

const FLOW_RECORD = sql.raw(`new_bookings int, confirmed int, cancelled int, expired int, revenue numeric,
  gross_confirmed numeric, confirmed_base int`);
const FLOW_COLUMNS = sql.raw(
  'new_bookings, confirmed, cancelled, expired, revenue, gross_confirmed, confirmed_base',
);

function flowUpdate(table: string) {
  return sql.raw(`new_bookings = ${table}.new_bookings + excluded.new_bookings,
    confirmed = ${table}.confirmed + excluded.confirmed,
    cancelled = ${table}.cancelled + excluded.cancelled,
    expired = ${table}.expired + excluded.expired,
    revenue = ${table}.revenue + excluded.revenue,
    gross_confirmed = ${table}.gross_confirmed + excluded.gross_confirmed,
    confirmed_base = ${table}.confirmed_base + excluded.confirmed_base`);
}

export async function applyBucketFlows(trx: Db, deltas: [number, FlowDelta][]): Promise<void> {
  if (deltas.length === 0) return;
  const payload = deltas.map(([bucket, d]) => ({ bucket, ...flowPayload(d), new_users: d.newUsers }));
  await sql`
    insert into flow_bucket (bucket, ${FLOW_COLUMNS}, new_users)
    select bucket, ${FLOW_COLUMNS}, new_users
    from json_to_recordset(${json(payload)}::json) as x(bucket int, ${FLOW_RECORD}, new_users int)
    on conflict (bucket) do update set ${flowUpdate('flow_bucket')},
      new_users = flow_bucket.new_users + excluded.new_users`.execute(trx);
}

export async function applyDayFlows(
  trx: Db,
  deltas: [string, FlowDelta][],
  activeEvents: ReadonlyMap<string, number>,
): Promise<void> {
  const days = new Map(deltas);
  for (const day of activeEvents.keys()) if (!days.has(day)) days.set(day, undefined as unknown as FlowDelta);
  if (days.size === 0) return;
  const payload = [...days].map(([day, d]) => ({
    day,
    ...(d ? flowPayload(d) : flowPayload(zeroFlow())),
    new_users: d?.newUsers ?? 0,
    active_events: activeEvents.get(day) ?? 0,
  }));
  await sql`
    insert into flow_day (day, ${FLOW_COLUMNS}, new_users, active_events)
    select day, ${FLOW_COLUMNS}, new_users, active_events
    from json_to_recordset(${json(payload)}::json) as x(day date, ${FLOW_RECORD}, new_users int, active_events int)
    on conflict (day) do update set ${flowUpdate('flow_day')},
      new_users = flow_day.new_users + excluded.new_users,
      active_events = flow_day.active_events + excluded.active_events`.execute(trx);
}

export async function applyEventFlows(
  trx: Db,
  table: 'flow_bucket_event' | 'flow_day_event',
  deltas: [string, EventFlowDelta][],
): Promise<void> {
  if (deltas.length === 0) return;
  const period = table === 'flow_day_event' ? 'day' : 'bucket';
  const payload = deltas.map(([key, d]) => {
    const [at, eventId] = key.split('|');
    return {
      at: period === 'bucket' ? Number(at) : at,
      event_id: Number(eventId),
      ...flowPayload(d),
      transitions: d.transitions,
    };
  });
  const periodType = sql.raw(period === 'day' ? 'date' : 'int');
  await sql`
    insert into ${sql.table(table)} (${sql.raw(period)}, event_id, ${FLOW_COLUMNS}, transitions)
    select at, event_id, ${FLOW_COLUMNS}, transitions
    from json_to_recordset(${json(payload)}::json)
      as x(at ${periodType}, event_id bigint, ${FLOW_RECORD}, transitions int)
    on conflict (event_id, ${sql.raw(period)}) do update set ${flowUpdate(table)},
      transitions = ${sql.table(table)}.transitions + excluded.transitions`.execute(trx);
}

/** The `${utcDay}|${eventId}` pairs whose activity this batch may change, by how. */
export interface MaskChanges {
  /** Quarters that gained transitions (and lost none that day). */
  gained: Map<string, { day: number; eventId: number; quarters: number[] }>;
  /** Days of an event where a quarter lost transitions: worked out again from flow_bucket_event. */
  lost: Map<string, { day: number; event_id: number }>;
}

export function maskChanges(bucketEvents: readonly [string, EventFlowDelta][]): MaskChanges {
  const gained: MaskChanges['gained'] = new Map();
  const lost: MaskChanges['lost'] = new Map();
  for (const [key, d] of bucketEvents) {
    if (d.transitions === 0) continue;
    const [bucket, eventId] = key.split('|').map(Number) as [number, number];
    const { day, quarter } = utcDayAndQuarter(bucket);
    const pair = `${day}|${eventId}`;
    if (d.transitions < 0) lost.set(pair, { day, event_id: eventId });
    else {
      const entry = gained.get(pair) ?? { day, eventId, quarters: [] };
      entry.quarters.push(quarter);
      gained.set(pair, entry);
    }
  }
  for (const pair of lost.keys()) gained.delete(pair);
  return { gained, lost };
}

/** The first and last active quarter of a mask row, in SQL (the leftmost bit is quarter 0). */
const SPAN = sql.raw(`position('1' in quarters::text) - 1 as first,
  ${BUCKETS_PER_DAY} - position('1' in reverse(quarters::text)) as last`);

interface SpanRow {
  day: number;
  event_id: number;
  first: number;
  last: number;
}

const spanKey = (r: { day: number; event_id: number }) => `${r.day}|${r.event_id}`;

/** The stored activity spans of these pairs and of the days either side of them. */
export async function loadActivitySpans(trx: Db, changes: MaskChanges): Promise<Map<string, QuarterSpan>> {
  const keys = new Set<string>();
  for (const pair of [...changes.gained.keys(), ...changes.lost.keys()]) {
    const [day, eventId] = pair.split('|').map(Number) as [number, number];
    for (const d of [day - 1, day, day + 1]) keys.add(`${d}|${eventId}`);
  }
  if (keys.size === 0) return new Map();
  const pairs = [...keys].map((k) => k.split('|').map(Number));
  const { rows } = await sql<SpanRow>`
    select m.day, m.event_id::float8 as event_id, ${SPAN}
    from json_to_recordset(${json(pairs.map(([day, event_id]) => ({ day, event_id })))}::json)
      as x(day int, event_id bigint)
    join flow_mask_event m on m.day = x.day and m.event_id = x.event_id
    where bit_count(m.quarters) > 0`.execute(trx);
  return new Map(rows.map((r) => [spanKey(r), { first: r.first, last: r.last }]));
}

/**
 * The activity spans of the pairs that only gained quarters, after this batch: the stored span
 * widened to the quarters gained.
 */
export function gainedSpans(
  changes: MaskChanges,
  before: ReadonlyMap<string, QuarterSpan>,
): Map<string, QuarterSpan> {
  const after = new Map<string, QuarterSpan>();
  for (const [pair, g] of changes.gained) {
    const was = before.get(pair);
    after.set(pair, {
      first: Math.min(was?.first ?? BUCKETS_PER_DAY, ...g.quarters),
      last: Math.max(was?.last ?? -1, ...g.quarters),
    });
  }
  return after;
}

/**
 * Keeps flow_mask_event (which quarter-hours of each UTC day had a transition of each event) in
 * step with this batch's flow_bucket_event deltas, which must already be written: a quarter that
 * gained transitions is set; a day of an event where one lost some is worked out again from
 * flow_bucket_event (the quarter may have none left: a booking moved to another event). Returns
 * the activity span of each day worked out again (null: none left).
 */
export async function applyActivityMasks(
  trx: Db,
  { gained, lost }: MaskChanges,
): Promise<Map<string, QuarterSpan | null>> {
  if (gained.size > 0) {
    const payload = [...gained.values()].map((g) => ({
      day: g.day,
      event_id: g.eventId,
      quarters: quarterMask(g.quarters),
    }));
    await sql`
      insert into flow_mask_event (day, event_id, quarters)
      select day, event_id, quarters::bit(96)
      from json_to_recordset(${json(payload)}::json) as x(day int, event_id bigint, quarters text)
      on conflict (day, event_id) do update set quarters = flow_mask_event.quarters | excluded.quarters`.execute(
      trx,
    );
  }
  const recomputed = new Map<string, QuarterSpan | null>();
  if (lost.size > 0) {
    const { rows } = await sql<SpanRow>`
      insert into flow_mask_event (day, event_id, quarters)
      select x.day, x.event_id, coalesce(bit_or(set_bit(repeat('0', 96)::bit(96), (f.bucket - x.day * 96), 1))
        filter (where f.transitions > 0), repeat('0', 96)::bit(96))
      from json_to_recordset(${json([...lost.values()])}::json) as x(day int, event_id bigint)
      left join flow_bucket_event f
        on f.event_id = x.event_id and f.bucket >= x.day * 96 and f.bucket < x.day * 96 + 96
      group by x.day, x.event_id
      on conflict (day, event_id) do update set quarters = excluded.quarters
      returning day, event_id::float8 as event_id, ${SPAN}`.execute(trx);
    for (const r of rows) recomputed.set(spanKey(r), r.first < 0 ? null : { first: r.first, last: r.last });
  }
  return recomputed;
}

/** Adds a batch's changes to the shifted days (aggregate/phases.ts). */
export async function applyPhaseDays(trx: Db, deltas: [PhaseKey, PhaseDelta][]): Promise<void> {
  if (deltas.length === 0) return;
  const payload = deltas.map(([key, d]) => ({
    ...phaseAndDay(key),
    ...flowPayload(d),
    new_users: d.newUsers,
    active_events: d.activeEvents,
  }));
  await sql`
    insert into flow_phase_day (phase, day, ${FLOW_COLUMNS}, new_users, active_events)
    select phase, day, ${FLOW_COLUMNS}, new_users, active_events
    from json_to_recordset(${json(payload)}::json)
      as x(phase int, day int, ${FLOW_RECORD}, new_users int, active_events int)
    on conflict (phase, day) do update set ${flowUpdate('flow_phase_day')},
      new_users = flow_phase_day.new_users + excluded.new_users,
      active_events = flow_phase_day.active_events + excluded.active_events`.execute(trx);
}
