import { describe, expect, it } from 'vitest';
import { toCsv } from '../../src/api/csv.ts';

const line = (value: unknown) => toCsv([{ v: value }], ['v']).split('\r\n')[1];

describe('CSV cells', () => {
  it('neutralizes anything a spreadsheet would run as a formula', () => {
    expect(line('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(line('+1+1')).toBe(`'+1+1`);
    expect(line('@SUM(A1)')).toBe(`'@SUM(A1)`);
    // A leading minus and digit is still a formula when more follows.
    expect(line(`-1+cmd|' /C calc'!A0`)).toBe(`'-1+cmd|' /C calc'!A0`);
    expect(line('-2-3')).toBe(`'-2-3`);
  });

  it('leaves numbers, negative ones included, as numbers', () => {
    expect(line(-12.5)).toBe('-12.5');
    expect(line('-7')).toBe('-7');
    expect(line(1e21)).toBe('1e+21');
    expect(line(0)).toBe('0');
  });

  it('quotes separators, quotes and line breaks (RFC 4180)', () => {
    expect(line('a,b')).toBe('"a,b"');
    expect(line('say "hi"')).toBe('"say ""hi"""');
    expect(toCsv([{ v: 'x\ny' }], ['v'])).toBe('v\r\n"x\ny"\r\n');
    // A carriage return alone ends a row in some readers, as a line feed does.
    expect(toCsv([{ v: 'x\ry' }], ['v'])).toBe('v\r\n"x\ry"\r\n');
    expect(line(null)).toBe('');
    expect(line({ EUR: 1.5 })).toBe('"{""EUR"":1.5}"');
  });
});
