/**
 * The dashboard's number formats (src/dashboard/public/format.js), in whatever locale the machine
 * has: only the digits after the separator are checked.
 */
import { describe, expect, it } from 'vitest';
import { MISSING, formatMoney, formatPercent } from '../../src/dashboard/public/format.js';

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
});
