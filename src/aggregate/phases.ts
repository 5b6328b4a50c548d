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

/**
 * A shifted day is named by the bucket it starts at, day · 96 + phase: a number, one per shifted
 * day, from which both come back (`phaseAndDay`).
 */
export type PhaseKey = number;

export function phaseAndDay(key: PhaseKey): { phase: number; day: number } {
  const day = Math.floor(key / PHASES);
  return { phase: key - day * PHASES, day };
}

export interface PhaseDelta extends FlowDelta {
  activeEvents: number;
}

// zeroFlow()'s object with one more property: every PhaseDelta gets one fast, fixed shape. (A spread
// copy, `{ ...zeroFlow(), activeEvents: 0 }`, was ten times slower to add to.)
const zeroPhase = (): PhaseDelta => Object.assign(zeroFlow(), { activeEvents: 0 });

function phaseEntry(out: Map<PhaseKey, PhaseDelta>, key: PhaseKey): PhaseDelta {
  let value = out.get(key);
  if (value === undefined) {
    value = zeroPhase();
    out.set(key, value);
  }
  return value;
}

/** Adds flows; a bigint sum is only touched when it changes (each addition allocates). */
function addFlow(to: FlowDelta, f: FlowDelta): void {
  to.newBookings += f.newBookings;
  to.confirmed += f.confirmed;
  to.cancelled += f.cancelled;
  to.expired += f.expired;
  if (f.revenue !== 0n) to.revenue += f.revenue;
  if (f.grossConfirmed !== 0n) to.grossConfirmed += f.grossConfirmed;
  to.confirmedBase += f.confirmedBase;
  to.newUsers += f.newUsers;
}

/**
 * Adds the flow changes of these buckets to every shifted day that holds them. The shifted day
 * (phase, d) holds UTC day d's quarter-hours from `phase` on and day d + 1's before it, so per UTC
 * day touched a running sum from its last quarter-hour down gives the first part of each phase,
 * and one from its first up the second: 2 · 96 additions per day, however many buckets it has.
 */
export function addBucketFlows(
  out: Map<PhaseKey, PhaseDelta>,
  buckets: readonly [number, FlowDelta][],
): void {
  const days = new Map<number, (PhaseDelta | undefined)[]>();
  for (const [bucket, f] of buckets) {
    const day = Math.floor(bucket / PHASES);
    let quarters = days.get(day);
    if (quarters === undefined) {
      quarters = new Array<PhaseDelta | undefined>(PHASES);
      days.set(day, quarters);
    }
    const q = bucket - day * PHASES;
    // One object shape throughout (zeroPhase), so addFlow stays monomorphic.
    const sum = quarters[q] ?? (quarters[q] = zeroPhase());
    addFlow(sum, f);
  }
  for (const [day, quarters] of days) {
    // Day d's quarters from p on, into (p, d); the first quarter with flows bounds the phases.
    const fromP = zeroPhase();
    let seen = false;
    for (let phase = PHASES - 1; phase >= 0; phase--) {
      const f = quarters[phase];
      if (f !== undefined) {
        addFlow(fromP, f);
        seen = true;
      }
      if (seen) addFlow(phaseEntry(out, day * PHASES + phase), fromP);
    }
    // Day d's quarters before p, into (p, d − 1).
    const beforeP = zeroPhase();
    seen = false;
    for (let phase = 1; phase < PHASES; phase++) {
      const f = quarters[phase - 1];
      if (f !== undefined) {
        addFlow(beforeP, f);
        seen = true;
      }
      if (seen) addFlow(phaseEntry(out, (day - 1) * PHASES + phase), beforeP);
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

const sameSpan = (a: QuarterSpan | undefined, b: QuarterSpan | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.first === b.first && a.last === b.last);

/**
 * Marks, in a day's difference array, the phases p whose shifted day (p, d) holds an activity whose
 * last quarter of day d is `last` and first of day d + 1 is `first`: p ≤ last, or p > first.
 */
function markActive(diff: Int32Array, last: number, first: number, sign: 1 | -1): void {
  const low = last >= 0; // [0, last]
  const high = first + 1 < PHASES; // [first + 1, 95]
  if (low && high && first <= last) {
    diff[0] = (diff[0] as number) + sign;
    diff[PHASES] = (diff[PHASES] as number) - sign;
    return;
  }
  if (low) {
    diff[0] = (diff[0] as number) + sign;
    diff[last + 1] = (diff[last + 1] as number) - sign;
  }
  if (high) {
    diff[first + 1] = (diff[first + 1] as number) + sign;
    diff[PHASES] = (diff[PHASES] as number) - sign;
  }
}

/**
 * Adds the changes in active events per shifted day when the activity of the `${utcDay}|${eventId}`
 * pairs in `after` changed (null: none left). `before` must hold the spans stored before the change
 * of those pairs and of the days either side of them.
 *
 * An event is active in the shifted day (p, d) when its last active quarter of day d is at p or
 * later, or its first of day d + 1 is before p: for each phase, a range of phases per event and
 * day, so the changes of all events are summed per day in a difference array.
 */
export function addActivityChanges(
  out: Map<PhaseKey, PhaseDelta>,
  before: ActivitySpans,
  after: ReadonlyMap<string, QuarterSpan | null>,
): void {
  const spanNow = (key: string): QuarterSpan | undefined =>
    after.has(key) ? (after.get(key) ?? undefined) : before.get(key);
  // A UTC day's activity lies in the shifted days that start in it and in the day before.
  const windows = new Map<string, { day: number; eventId: number }>();
  for (const pair of after.keys()) {
    const bar = pair.indexOf('|');
    const day = Number(pair.slice(0, bar));
    const eventId = Number(pair.slice(bar + 1));
    windows.set(`${day - 1}|${eventId}`, { day: day - 1, eventId });
    windows.set(pair, { day, eventId });
  }
  const diffs = new Map<number, Int32Array>();
  for (const { day, eventId } of windows.values()) {
    const ownKey = `${day}|${eventId}`;
    const nextKey = `${day + 1}|${eventId}`;
    const ownBefore = before.get(ownKey);
    const nextBefore = before.get(nextKey);
    const ownNow = spanNow(ownKey);
    const nextNow = spanNow(nextKey);
    if (sameSpan(ownBefore, ownNow) && sameSpan(nextBefore, nextNow)) continue;
    let diff = diffs.get(day);
    if (diff === undefined) {
      diff = new Int32Array(PHASES + 1);
      diffs.set(day, diff);
    }
    markActive(diff, ownNow?.last ?? -1, nextNow?.first ?? PHASES, 1);
    markActive(diff, ownBefore?.last ?? -1, nextBefore?.first ?? PHASES, -1);
  }
  for (const [day, diff] of diffs) {
    let change = 0;
    for (let phase = 0; phase < PHASES; phase++) {
      change += diff[phase] as number;
      if (change !== 0) phaseEntry(out, day * PHASES + phase).activeEvents += change;
    }
  }
}
