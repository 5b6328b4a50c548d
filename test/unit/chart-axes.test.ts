/**
 * The dashboard chart's two value axes (src/dashboard/public/chart.js): bookings on the left, net
 * revenue on the right. A day of negative net revenue must be drawn below the bookings' zero line,
 * not above it, so both axes put zero at the same height.
 */
import uPlot from 'uplot';
import { beforeAll, describe, expect, it } from 'vitest';
import { countRange, moneyRange } from '../../src/dashboard/public/chart.js';

beforeAll(() => {
  // The page loads uPlot as a global script; chart.js reads it from there.
  (globalThis as { uPlot?: unknown }).uPlot = uPlot;
});

const days = [1, 2, 3, 4];
const counts = [110, 250, 20, 15];
function plot(revenue: (number | null)[], revenueShown = true) {
  return {
    data: [days, counts, counts, counts, revenue],
    series: [{}, {}, {}, {}, { show: revenueShown }],
  };
}

/** How far up the axis zero sits, as a share of its height. */
const zeroAt = ([low, high]: [number, number]) => -low / (high - low);

describe('the daily chart’s axes', () => {
  it('puts zero at the same height on both axes when net revenue dips below it', () => {
    const u = plot([9_500, 28_000, -2_400, -4_100]);
    const money = moneyRange(u);
    const count = countRange(u, 250);
    expect(money[0]).toBeLessThan(-4_100);
    expect(zeroAt(count)).toBeGreaterThan(0);
    expect(zeroAt(count)).toBeCloseTo(zeroAt(money), 9);
    expect(count[1]).toBeGreaterThanOrEqual(250);
  });

  it('starts both axes at zero when revenue never goes below it', () => {
    const u = plot([9_500, 28_000, 0, null]);
    expect(moneyRange(u)[0]).toBe(0);
    expect(countRange(u, 250)[0]).toBe(0);
  });

  it('keeps the upper half for the counts when revenue is mostly negative', () => {
    const u = plot([-9_500, -28_000, 100, null]);
    const money = moneyRange(u);
    expect(zeroAt(money)).toBe(0.5);
    expect(zeroAt(countRange(u, 250))).toBeCloseTo(0.5, 9);
  });

  it('keeps the zeros together while revenue is hidden, since its axis is still drawn', () => {
    const u = plot([9_500, -28_000, 0, 0], false);
    expect(zeroAt(countRange(u, 250))).toBeCloseTo(zeroAt(moneyRange(u)), 9);
  });
});
