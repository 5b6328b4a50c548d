/**
 * The dashboard's number formats (src/dashboard/public/format.js), in whatever locale the machine
 * has: only the digits after the separator are checked.
 */
import { describe, expect, it } from 'vitest';
import { MISSING, formatGrowth, formatMoney, formatPercent } from '../../src/dashboard/public/format.js';
import { zoneAsNamed } from '../../src/dashboard/public/prefs.js';

const decimals = (text: string) => /[.,](\d+)%?$/.exec(text)?.[1]?.length ?? 0;

describe('dashboard number formats', () => {
  it('shows a three-decimal currency with the two decimals the API rounds to, not a padded third', () => {
    expect(decimals(formatMoney(0.13, 'KWD'))).toBe(2);
    expect(formatMoney(0.13, 'KWD')).toMatch(/^0[.,]13$/);
  });

  it('shows a currency without decimals without them, and others with two', () => {
    expect(decimals(formatMoney(900, 'JPY'))).toBe(0);
    expect(decimals(formatMoney(12.5, 'EUR'))).toBe(2);
    expect(decimals(formatMoney(12.5))).toBe(2);
  });

  it('writes every percentage with two decimals, so a column of them lines up', () => {
    expect(decimals(formatPercent(11.8))).toBe(2);
    expect(decimals(formatPercent(77))).toBe(2);
    expect(decimals(formatPercent(41.33))).toBe(2);
    expect(formatPercent(null)).toBe(MISSING);
  });

  it('writes a falling growth rate with the same minus sign as a negative amount', () => {
    const minus = formatMoney(-1).charAt(0);
    expect(formatGrowth(-3.1).text.charAt(0)).toBe(minus);
    expect(formatGrowth(-3.1).direction).toBe('down');
    expect(formatGrowth(12.5).text).toMatch(/^\+12[.,]50%$/);
    expect(formatGrowth(12.5).direction).toBe('up');
    expect(formatGrowth(0).text).toMatch(/^0[.,]00%$/);
    expect(formatGrowth(0).direction).toBe('flat');
    // What rounds to 0.00 % reads as no change, whatever its sign before rounding.
    expect(formatGrowth(-0.004).direction).toBe('flat');
    expect(formatGrowth(0.004).text).toMatch(/^0[.,]00%$/);
  });
});

describe('dashboard zone field', () => {
  it('writes a zone typed in another case as it is named, and leaves aliases and unknown names as typed', () => {
    expect(zoneAsNamed('utc')).toBe('UTC');
    expect(zoneAsNamed('europe/paris')).toBe('Europe/Paris');
    expect(zoneAsNamed('Asia/Calcutta')).toBe('Asia/Calcutta');
    expect(zoneAsNamed('asia/calcutta')).toBe('Asia/Calcutta');
    expect(zoneAsNamed('america/port-au-prince')).toBe('America/Port-au-Prince');
    expect(zoneAsNamed('Nowhere/Else')).toBe('Nowhere/Else');
    expect(zoneAsNamed('')).toBe('');
  });
});
