/**
 * Money is exact: amounts travel through the core as integers of 1/10,000 of a currency unit and
 * are stored as NUMERIC. Floats never accumulate.
 */
export const MONEY_SCALE = 10_000;

export function toMoneyUnits(amount: number): number {
  return Math.round(amount * MONEY_SCALE);
}

/** Units → a NUMERIC literal ("-12.5000"), exact for any safe integer. */
export function unitsToDecimal(units: number): string {
  const sign = units < 0 ? '-' : '';
  const abs = Math.abs(units);
  const whole = Math.floor(abs / MONEY_SCALE);
  const frac = String(abs % MONEY_SCALE).padStart(4, '0');
  return `${sign}${whole}.${frac}`;
}

/** Round half away from zero to 2 decimals, for output. */
export function round2(value: number): number {
  const r = Math.round(Math.abs(value) * 100 + 1e-9) / 100;
  return value < 0 ? -r : r;
}
