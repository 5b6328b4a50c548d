/**
 * Shifted days: the flows and active events of every 24-hour window that starts on a quarter-hour,
 * kept so a local day of any zone (outside its DST changes) is read as one row, however many
 * bookings and events it holds.
 *
 * A shifted day (phase, day) is the UTC quarter-hours [day · 96 + phase, day · 96 + phase + 96),
 * phase 0..95: phase 0 is the UTC day. A local day of 96 quarter-hours starting at bucket b is the
 * shifted day (b mod 96, ⌊b / 96⌋). Every bucket lies in exactly one shifted day of each phase, so
 * a change to one bucket's flows changes one row per phase.
 */
import { zeroFlow, type FlowDelta } from './deltas.ts';
import { BUCKETS_PER_DAY } from './time.ts';

/** The phases of shifted days: one per quarter-hour of a day. */
export const PHASES = BUCKETS_PER_DAY;

/** The shifted day of a phase that holds a bucket. */
export function shiftedDayOf(bucket: number, phase: number): number {
  return Math.floor((bucket - phase) / PHASES);
}

/** `${phase}|${day}` */
export type PhaseKey = string;

export interface PhaseDelta extends FlowDelta {
  activeEvents: number;
}

const zeroPhase = (): PhaseDelta => ({ ...zeroFlow(), activeEvents: 0 });

function phaseEntry(out: Map<PhaseKey, PhaseDelta>, phase: number, day: number): PhaseDelta {
  const key = `${phase}|${day}`;
  let value = out.get(key);
  if (value === undefined) {
    value = zeroPhase();
    out.set(key, value);
  }
  return value;
}

/** Adds the flow changes of these buckets to every phase's shifted day that holds them. */
export function addBucketFlows(
  out: Map<PhaseKey, PhaseDelta>,
  buckets: readonly [number, FlowDelta][],
): void {
  for (const [bucket, f] of buckets) {
    for (let phase = 0; phase < PHASES; phase++) {
      const p = phaseEntry(out, phase, shiftedDayOf(bucket, phase));
      p.newBookings += f.newBookings;
      p.confirmed += f.confirmed;
      p.cancelled += f.cancelled;
      p.expired += f.expired;
      p.revenue += f.revenue;
      p.grossConfirmed += f.grossConfirmed;
      p.confirmedBase += f.confirmedBase;
      p.newUsers += f.newUsers;
    }
  }
}

/**
 * The first and last quarter-hour of a UTC day in which an event had a transition (its activity
 * mask's first and last set bit); absent when it had none.
 */
export interface QuarterSpan {
  first: number;
  last: number;
}

/** `${utcDay}|${eventId}` → the span of that event's active quarter-hours that day. */
export type ActivitySpans = ReadonlyMap<string, QuarterSpan>;

/**
 * Whether an event was active in the shifted day (phase, day): a transition in the day's quarters
 * from `phase` on, or in the next day's before `phase`.
 */
function activeIn(spans: ActivitySpans, eventId: number, day: number, phase: number): boolean {
  const own = spans.get(`${day}|${eventId}`);
  if (own !== undefined && own.last >= phase) return true;
  const next = spans.get(`${day + 1}|${eventId}`);
  return next !== undefined && next.first < phase;
}

/**
 * Adds the changes in active events per shifted day when the activity of the `${utcDay}|${eventId}`
 * pairs in `after` changed (null: none left). `before` must hold the spans stored before the change
 * of those pairs and of the days either side of them.
 */
export function addActivityChanges(
  out: Map<PhaseKey, PhaseDelta>,
  before: ActivitySpans,
  after: ReadonlyMap<string, QuarterSpan | null>,
): void {
  const now = new Map(before);
  // A UTC day's activity lies in the shifted days that start in it and in the day before.
  const windows = new Set<string>();
  for (const [pair, span] of after) {
    if (span === null) now.delete(pair);
    else now.set(pair, span);
    const [day, eventId] = pair.split('|').map(Number) as [number, number];
    windows.add(`${day - 1}|${eventId}`);
    windows.add(`${day}|${eventId}`);
  }
  for (const window of windows) {
    const [day, eventId] = window.split('|').map(Number) as [number, number];
    for (let phase = 0; phase < PHASES; phase++) {
      const change =
        Number(activeIn(now, eventId, day, phase)) - Number(activeIn(before, eventId, day, phase));
      if (change !== 0) phaseEntry(out, phase, day).activeEvents += change;
    }
  }
}
