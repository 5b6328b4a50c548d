/**
 * Money is exact: amounts travel through the core as integers of 1/10,000 of a currency unit and
 * are stored as NUMERIC. Floats never accumulate.
 */
export const MONEY_SCALE = 10_000;

export function toMoneyUnits(amount: number): number {
  return Math.round(amount * MONEY_SCALE);
}

/** Units → a NUMERIC literal ("-12.5000"), exact for any sum. */
export function unitsToDecimal(units: bigint): string {
  const sign = units < 0n ? '-' : '';
  const abs = units < 0n ? -units : units;
  const scale = BigInt(MONEY_SCALE);
  return `${sign}${abs / scale}.${String(abs % scale).padStart(4, '0')}`;
}

/** Round half away from zero to 2 decimals, for output. */
export function round2(value: number): number {
  const r = Math.round(Math.abs(value) * 100 + 1e-9) / 100;
  return value < 0 ? -r : r;
}

/**
 * Exact decimal text as PostgreSQL writes NUMERIC ("-12.3450", "7") → units of 1/10,000, as a
 * bigint: sums of any size stay exact. Digits past the fourth decimal (never stored) are dropped.
 */
export function decimalToUnits(text: string | null | undefined): bigint {
  if (text === null || text === undefined) return 0n;
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text.trim());
  if (!m) throw new Error(`not a decimal number: "${text}"`);
  const units = BigInt(m[2] ?? '0') * BigInt(MONEY_SCALE) + BigInt((m[3] ?? '').padEnd(4, '0').slice(0, 4));
  return m[1] === '-' ? -units : units;
}

/** Whole cents of `units / divisor`, rounded half away from zero. */
function centsOf(units: bigint, divisor: bigint): bigint {
  const abs = units < 0n ? -units : units;
  const d = 100n * divisor;
  const cents = (2n * abs + d) / (2n * d);
  return units < 0n ? -cents : cents;
}

/** Units → the amount rounded half away from zero to 2 decimals, for output. */
export function unitsToAmount(units: bigint): number {
  return Number(centsOf(units, 1n)) / 100;
}

/** Units shared over `count` (an average), rounded half away from zero to 2 decimals. */
export function unitsPerCount(units: bigint, count: number): number {
  return count === 0 ? 0 : Number(centsOf(units, BigInt(count))) / 100;
}

/**
 * 100 × (current − previous) / previous from exact units, rounded half away from zero to 2
 * decimals (a growth rate of money is worked out from the exact sums, not the rounded ones shown);
 * null when there is no previous figure. A negative previous sum keeps the formula as is.
 */
export function unitsGrowthRate(current: bigint, previous: bigint): number | null {
  if (previous === 0n) return null;
  const sign = previous < 0n ? -1n : 1n;
  return Number(centsOf(1_000_000n * (current - previous) * sign, previous * sign)) / 100;
}
