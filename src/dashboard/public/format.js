// Display formatting. Every formatter turns null, undefined and non-finite numbers into an em dash,
// so a figure the API reports as "unknown" never shows up as 0 or NaN.

export const MISSING = '—';

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const moneyFormats = new Map();
const currencyDigitsCache = new Map();
const decimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 2 });
/** Percentages come rounded to 2 decimals: shown with both, so that a column of them lines up. */
const percent = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
/** A growth rate's sign as the locale writes it, like an amount's minus: "+12.50", "-3.10", "0.00". */
const signedPercent = new Intl.NumberFormat(undefined, {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
  signDisplay: 'exceptZero',
});

function isNumber(value) {
  return typeof value === 'number' && Number.isFinite(value);
}

/** @param {unknown} value */
export function formatInteger(value) {
  return isNumber(value) ? integer.format(value) : MISSING;
}

/** The decimals a currency is written with (JPY 0, KWD 3, EUR 2); 2 when unknown. */
export function currencyDigits(currency) {
  if (typeof currency !== 'string') return 2;
  let digits = currencyDigitsCache.get(currency);
  if (digits === undefined) {
    try {
      digits =
        new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
          .maximumFractionDigits ?? 2;
    } catch {
      digits = 2;
    }
    currencyDigitsCache.set(currency, digits);
  }
  return digits;
}

/**
 * An amount with its currency's decimals (2 when no currency is given), without the code. Never
 * more than 2: the API rounds every amount to 2 (metrics.md), so a third (KWD) would be a made-up 0.
 */
export function formatMoney(value, currency) {
  if (!isNumber(value)) return MISSING;
  const digits = Math.min(currencyDigits(currency), 2);
  let format = moneyFormats.get(digits);
  if (!format) {
    format = new Intl.NumberFormat(undefined, {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    moneyFormats.set(digits, format);
  }
  return format.format(value);
}

/** Axis labels, where 12,345.67 would not fit: 12.3K. */
export function formatCompact(value) {
  return isNumber(value) ? compact.format(value) : MISSING;
}

/** A figure already expressed in percent (0–100, may exceed 100), with 2 decimals. */
export function formatPercent(value) {
  return isNumber(value) ? `${percent.format(value)}%` : MISSING;
}

/** A number with 1–2 decimals (averages such as bookings per day). */
export function formatDecimal(value) {
  return isNumber(value) ? decimal.format(value) : MISSING;
}

/**
 * A growth rate with its direction: `{ text: '+12.5%', direction: 'up' }`.
 * null (no previous period to compare with) gives the dash and direction 'none'.
 */
export function formatGrowth(value) {
  if (!isNumber(value)) return { text: MISSING, direction: 'none' };
  // The direction of the figure as written: -0.004 is "0.00%", flat, not "▼ 0.00%".
  const shown = Math.round(value * 100) / 100;
  const text = `${signedPercent.format(shown)}%`;
  return { text, direction: shown > 0 ? 'up' : shown < 0 ? 'down' : 'flat' };
}

/** An ISO timestamp in the viewer's locale and zone, e.g. "27 Nov 2026, 22:30:05". */
export function formatTimestamp(iso) {
  if (typeof iso !== 'string') return MISSING;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return MISSING;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** A calendar date "YYYY-MM-DD" as the UTC midnight it names, in seconds (uPlot's x unit); null if malformed. */
export function dateToSeconds(date) {
  const match = typeof date === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(date) : null;
  if (!match) return null;
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / 1000;
}

/** A calendar date "YYYY-MM-DD" for display, without shifting it through the viewer's time zone. */
export function formatDate(date) {
  const seconds = dateToSeconds(date);
  if (seconds === null) return MISSING;
  return new Date(seconds * 1000).toLocaleDateString(undefined, { dateStyle: 'medium', timeZone: 'UTC' });
}
