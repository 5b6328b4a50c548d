/**
 * Shifted days (aggregate/phases.ts): the incremental changes ingest adds must equal the shifted
 * days worked out from scratch, before and after, by brute force over quarter-hours.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zeroFlow } from '../../src/aggregate/deltas.ts';
import {
  addActivityChanges,
  addBucketFlows,
  PHASES,
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
        const key = `${phase}|${Math.floor((bucket - phase) / PHASES)}`;
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
        const out = new Map<string, PhaseDelta>();
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
          [...out].filter(([, d]) => d.activeEvents !== 0).map(([k, d]) => [k, d.activeEvents]),
        );
        expect(actual).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('hold each bucket once in every phase, in the window that contains it', () => {
    const out = new Map<string, PhaseDelta>();
    // Bucket 130 is 08:30 UTC on day 1; bucket −1 is the last quarter-hour before 1970.
    addBucketFlows(out, [
      [130, { ...zeroFlow(), newBookings: 2, revenue: 1500n }],
      [-1, { ...zeroFlow(), cancelled: 1 }],
    ]);
    for (let phase = 0; phase < PHASES; phase++) {
      for (const bucket of [130, -1]) {
        const holding = [...out.keys()].filter((key) => {
          const [p, day] = key.split('|').map(Number) as [number, number];
          const start = day * PHASES + p;
          return p === phase && start <= bucket && bucket < start + PHASES;
        });
        expect(holding).toHaveLength(1);
      }
    }
    expect(out.get('0|1')).toMatchObject({ newBookings: 2, revenue: 1500n, cancelled: 0 });
    expect(out.get('35|0')).toMatchObject({ newBookings: 2 });
    expect(out.get('34|1')).toMatchObject({ newBookings: 2 });
    expect(out.get('0|-1')).toMatchObject({ cancelled: 1, newBookings: 0 });
    expect(out.get('95|-1')).toMatchObject({ cancelled: 1 });
    const total = [...out.values()].reduce((n, d) => n + d.newBookings, 0);
    expect(total).toBe(2 * PHASES);
  });
});
