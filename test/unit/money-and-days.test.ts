/** Exact money out of PostgreSQL's NUMERIC text, and the instant each local day begins. */
import { describe, expect, it } from 'vitest';
import {
  decimalToUnits,
  round2,
  unitsGrowthRate,
  unitsPerCount,
  unitsToAmount,
} from '../../src/aggregate/money.ts';
import { localMidnightUtc } from '../../src/aggregate/time.ts';

describe('money in units of 1/10,000', () => {
  it('reads NUMERIC text exactly, signs and missing decimals included', () => {
    expect(decimalToUnits('1234567.0050')).toBe(12_345_670_050n);
    expect(decimalToUnits('-0.0050')).toBe(-50n);
    expect(decimalToUnits('7')).toBe(70_000n);
    expect(decimalToUnits('99999999999999999.9999')).toBe(999_999_999_999_999_999_999n);
    expect(decimalToUnits(null)).toBe(0n);
    expect(() => decimalToUnits('1e5')).toThrow(/not a decimal/);
  });

  it('rounds half away from zero to cents once, however large the amount', () => {
    expect(unitsToAmount(12_345_670_050n)).toBe(1_234_567.01);
    expect(unitsToAmount(12_345_670_049n)).toBe(1_234_567);
    expect(unitsToAmount(-50n)).toBe(-0.01);
    expect(unitsToAmount(150n)).toBe(0.02);
    expect(unitsToAmount(0n)).toBe(0);
  });

  it('rounds a ratio half away from zero to 2 decimals, where its float lies just below the half', () => {
    // 1.005 is 1.00499999999999989... as a double; 2.675 likewise.
    expect(round2(1.005)).toBe(1.01);
    expect(round2(-1.005)).toBe(-1.01);
    expect(round2(2.675)).toBe(2.68);
    expect(round2(4 / 3)).toBe(1.33);
    expect(round2(2 / 3)).toBe(0.67);
  });

  it('averages over a count with the same rounding, and 0 over none', () => {
    expect(unitsPerCount(1_000_000n, 3)).toBe(33.33);
    expect(unitsPerCount(2_000_000n, 3)).toBe(66.67);
    expect(unitsPerCount(-2_000_000n, 3)).toBe(-66.67);
    expect(unitsPerCount(500n, 0)).toBe(0);
  });

  it('works out a revenue growth rate from the exact sums, not the cents shown', () => {
    // 0.005 before (shown as 0.01), -3,453.68 now: the exact rate, not the one of the rounded sum.
    expect(unitsGrowthRate(-34_536_800n, 50n)).toBe(-69_073_700);
    expect(unitsGrowthRate(1_500_000n, 1_000_000n)).toBe(50);
    expect(unitsGrowthRate(2_000_000n, 3_000_000n)).toBe(-33.33);
    // A negative previous sum (refunds only) keeps the formula as is: -100 → +50 is -150 %.
    expect(unitsGrowthRate(500_000n, -1_000_000n)).toBe(-150);
    expect(unitsGrowthRate(1_000_000n, 0n)).toBeNull();
  });
});

describe('the instant a local day begins', () => {
  const dateIn = (zone: string, at: number) =>
    new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    }).format(new Date(at));

  it('is the first instant of that date in the zone, where clocks jump at midnight too', () => {
    const zones = [
      'America/Santiago',
      'America/Havana',
      'America/New_York',
      'Australia/Lord_Howe',
      'Asia/Kathmandu',
    ];
    for (const zone of zones) {
      for (let day = Date.UTC(2026, 0, 1); day < Date.UTC(2027, 0, 1); day += 86_400_000) {
        const date = new Date(day).toISOString().slice(0, 10);
        const start = localMidnightUtc(date, zone);
        expect(dateIn(zone, start), `${zone} ${date}`).toBe(date);
        expect(dateIn(zone, start - 1), `${zone} ${date}`).not.toBe(date);
      }
    }
  });

  it('is the first of two midnights where clocks go back from 01:00 to 00:00', () => {
    for (const zone of ['Asia/Amman', 'Asia/Gaza']) {
      for (let day = Date.UTC(2021, 0, 1); day < Date.UTC(2022, 0, 1); day += 86_400_000) {
        const date = new Date(day).toISOString().slice(0, 10);
        const start = localMidnightUtc(date, zone);
        expect(dateIn(zone, start), `${zone} ${date}`).toBe(date);
        expect(dateIn(zone, start - 1), `${zone} ${date}`).not.toBe(date);
      }
    }
    expect(localMidnightUtc('2021-10-29', 'Asia/Amman')).toBe(Date.UTC(2021, 9, 28, 21));
  });

  it('begins at 01:00 local on the day Santiago skips its midnight', () => {
    expect(localMidnightUtc('2026-09-06', 'America/Santiago')).toBe(Date.UTC(2026, 8, 6, 4));
    expect(
      localMidnightUtc('2026-09-07', 'America/Santiago') - localMidnightUtc('2026-09-06', 'America/Santiago'),
    ).toBe(23 * 3_600_000);
  });
});
