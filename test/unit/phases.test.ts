/**
 * Shifted days (aggregate/phases.ts): the incremental changes ingest adds must equal the shifted
 * days worked out from scratch, before and after, by brute force over quarter-hours.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zeroFlow, type FlowDelta } from '../../src/aggregate/deltas.ts';
import {
  addActivityChanges,
  addBucketFlows,
  PHASES,
  phaseAndDay,
  shiftedDayOf,
  type PhaseDelta,
  type QuarterSpan,
} from '../../src/aggregate/phases.ts';

/** `${day}|${eventId}` → the quarters of that UTC day with a transition of that event. */
type Activity = Map<string, Set<number>>;

/** Active events per shifted day `${phase}|${day}`, straight from the definition. */
function activeByShiftedDay(activity: Activity): Map<string, number> {
  const events = new Map<string, Set<number>>();
  for (const [pair, quarters] of activity) {
    const [day, eventId] = pair.split('|').map(Number) as [number, number];
    for (const q of quarters) {
      const bucket = day * PHASES + q;
      for (let phase = 0; phase < PHASES; phase++) {
        const key = String(Math.floor((bucket - phase) / PHASES) * PHASES + phase);
        const set = events.get(key) ?? new Set<number>();
        set.add(eventId);
        events.set(key, set);
      }
    }
  }
  return new Map([...events].map(([k, s]) => [k, s.size]));
}

function spans(activity: Activity): Map<string, QuarterSpan> {
  const out = new Map<string, QuarterSpan>();
  for (const [pair, quarters] of activity) {
    if (quarters.size > 0) out.set(pair, { first: Math.min(...quarters), last: Math.max(...quarters) });
  }
  return out;
}

const pairArb = fc.tuple(fc.integer({ min: -2, max: 4 }), fc.integer({ min: 1, max: 3 }));
const quartersArb = fc.uniqueArray(fc.integer({ min: 0, max: PHASES - 1 }), { maxLength: 4 });
const activityArb = fc
  .array(fc.tuple(pairArb, quartersArb), { maxLength: 12 })
  .map((entries) => new Map(entries.map(([[day, event], q]) => [`${day}|${event}`, new Set(q)])));

describe('shifted days', () => {
  it('change their active events exactly as a recount before and after would', () => {
    fc.assert(
      fc.property(activityArb, activityArb, (before, changes) => {
        const after: Activity = new Map([...before, ...changes]);
        const out = new Map<number, PhaseDelta>();
        const changed = new Map(
          [...changes].map(([pair, q]) => [
            pair,
            q.size === 0 ? null : (spans(new Map([[pair, q]])).get(pair) ?? null),
          ]),
        );
        addActivityChanges(out, spans(before), changed);

        const was = activeByShiftedDay(before);
        const now = activeByShiftedDay(after);
        const expected = new Map<string, number>();
        for (const key of new Set([...was.keys(), ...now.keys()])) {
          const change = (now.get(key) ?? 0) - (was.get(key) ?? 0);
          if (change !== 0) expected.set(key, change);
        }
        const actual = new Map(
          [...out].filter(([, d]) => d.activeEvents !== 0).map(([k, d]) => [String(k), d.activeEvents]),
        );
        expect(actual).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('hold each bucket once in every phase, in the window that contains it', () => {
    const flowArb = fc.record({
      newBookings: fc.integer({ min: -3, max: 3 }),
      revenue: fc.bigInt({ min: -10_000n, max: 10_000n }),
      newUsers: fc.integer({ min: -1, max: 1 }),
    });
    const bucketsArb = fc.array(fc.tuple(fc.integer({ min: -200, max: 400 }), flowArb), { maxLength: 30 });
    fc.assert(
      fc.property(bucketsArb, (entries) => {
        const buckets = entries.map(([b, f]) => [b, { ...zeroFlow(), ...f }] as [number, FlowDelta]);
        const out = new Map<number, PhaseDelta>();
        addBucketFlows(out, buckets);
        // Straight from the definition: the window of each phase that contains the bucket.
        const expected = new Map<number, { newBookings: number; revenue: bigint; newUsers: number }>();
        for (const [bucket, f] of buckets) {
          for (let phase = 0; phase < PHASES; phase++) {
            const key = shiftedDayOf(bucket, phase) * PHASES + phase;
            const { phase: p, day } = phaseAndDay(key);
            expect(p).toBe(phase);
            expect(day * PHASES + p <= bucket && bucket < day * PHASES + p + PHASES).toBe(true);
            const e = expected.get(key) ?? { newBookings: 0, revenue: 0n, newUsers: 0 };
            e.newBookings += f.newBookings;
            e.revenue += f.revenue;
            e.newUsers += f.newUsers;
            expected.set(key, e);
          }
        }
        const nonZero = <V extends { newBookings: number; revenue: bigint; newUsers: number }>(
          m: Map<number, V>,
        ) =>
          new Map(
            [...m]
              .filter(([, v]) => v.newBookings !== 0 || v.revenue !== 0n || v.newUsers !== 0)
              .map(([k, v]) => [k, { newBookings: v.newBookings, revenue: v.revenue, newUsers: v.newUsers }]),
          );
        expect(nonZero(out)).toEqual(nonZero(expected));
      }),
      { numRuns: 300 },
    );
    // 08:30 UTC on day 1 (bucket 130) is in the UTC day 1, in the 24 hours from 08:45 on day 0
    // (phase 35), and in those from 08:30 on day 1 (phase 34).
    const out = new Map<number, PhaseDelta>();
    addBucketFlows(out, [[130, { ...zeroFlow(), newBookings: 2 }]]);
    expect([out.get(96)?.newBookings, out.get(35)?.newBookings, out.get(130)?.newBookings]).toEqual([
      2, 2, 2,
    ]);
    expect(out.get(131)?.newBookings ?? 0).toBe(0);
  });
});
