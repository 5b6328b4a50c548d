/**
 * Time helpers for the aggregation core. Flows are kept per UTC quarter-hour ("bucket"): every
 * IANA zone's offset is a multiple of 15 minutes, so a bucket lies wholly inside one local day
 * of any zone and any reporting zone can be chosen per request.
 */
export const BUCKET_MS = 15 * 60 * 1000;
/** Buckets (quarter-hours) in a UTC day. */
export const BUCKETS_PER_DAY = 96;

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** The instants ISO 8601's four-digit years can write in UTC: 0000-01-01 up to 10000-01-01. */
const FIRST_INSTANT = Date.UTC(2000, 0, 1) - 730_485 * 86_400_000;
const END_OF_9999 = Date.UTC(9999, 11, 31) + 86_400_000;

/**
 * ISO 8601 → ms since epoch; a timestamp without an offset is UTC. undefined when unparseable, or
 * when in UTC it falls outside the years 0000-9999 (9999-12-31T24:00 would be reported as
 * +010000-01-01, a form the API does not promise).
 */
export function parseTimestamp(text: string): number | undefined {
  const m = ISO_8601.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 || second > 60)
    return undefined;
  const ms = Math.floor(Number(`0.${frac || '0'}`) * 1000);
  // 24:00 is the end of the day (ISO 8601); 24:30 is no time at all.
  if (hour === 24 && (minute > 0 || second > 0 || ms > 0)) return undefined;
  const midnight = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC reads years 0-99 as 1900-1999: those get the year as written.
  if (year < 100) midnight.setUTCFullYear(year, month - 1, day);
  if (midnight.getUTCDate() !== day) return undefined;
  let time = midnight.getTime() + ((hour * 60 + minute) * 60 + second) * 1000 + ms;
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetMinutes = Number(digits.slice(2, 4) || '0');
    const offset = Number(digits.slice(0, 2)) * 60 + offsetMinutes;
    if (offsetMinutes > 59 || offset > 18 * 60) return undefined;
    time -= sign * offset * 60_000;
  }
  return time >= FIRST_INSTANT && time < END_OF_9999 ? time : undefined;
}

export function bucketOf(ms: number): number {
  return Math.floor(ms / BUCKET_MS);
}

/** ISO 8601 UTC without milliseconds, as the API reports instants. */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Intl formatters are costly to build (~100-200 µs) and cheap to use: one per zone and kind,
 * kept for the life of the process (a zone name is validated before it gets here, so the number
 * of keys is bounded by the zones actually asked for; capped anyway).
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(kind: 'date' | 'parts', timeZone: string): Intl.DateTimeFormat {
  const key = `${kind}|${timeZone}`;
  let f = formatters.get(key);
  if (!f) {
    f =
      kind === 'date'
        ? new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
        : new Intl.DateTimeFormat('en-US', {
            timeZone,
            hourCycle: 'h23',
            year: 'numeric',
            month: '2-digit',
            day: '2-digit',
            hour: '2-digit',
            minute: '2-digit',
            second: '2-digit',
          });
    if (formatters.size > 2_000) formatters.clear();
    formatters.set(key, f);
  }
  return f;
}

/** Local calendar date (YYYY-MM-DD) of UTC buckets in one zone, memoized per bucket. */
export function localDayOfBucket(timeZone: string): (bucket: number) => string {
  const format = formatter('date', timeZone);
  const cache = new Map<number, string>();
  return (bucket) => {
    let day = cache.get(bucket);
    if (day === undefined) {
      day = format.format(new Date(bucket * BUCKET_MS));
      if (cache.size > 200_000) cache.clear();
      cache.set(bucket, day);
    }
    return day;
  };
}

/** The last answer per zone, by whole second: every request asks, the answer changes once a day. */
const todayMemo = new Map<string, { second: number; date: string }>();

/** Today's date in a zone. */
export function todayIn(timeZone: string, now: number = Date.now()): string {
  // A day starts on a whole second in every zone, so one second's answer holds for all of it.
  const second = Math.floor(now / 1000);
  const known = todayMemo.get(timeZone);
  if (known?.second === second) return known.date;
  const date = formatter('date', timeZone).format(new Date(now));
  if (todayMemo.size >= 1_000) todayMemo.clear();
  todayMemo.set(timeZone, { second, date });
  return date;
}

/** Date arithmetic on YYYY-MM-DD strings (calendar days, zone-free). */
export function addDays(date: string, days: number): string {
  const t = Date.parse(`${date}T00:00:00Z`) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

export function isValidDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const t = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === text;
}

/**
 * The three-letter names IANA's time zone database itself defines. ICU accepts more (Java's `IST`,
 * `PST`, `CTT`, `BST`, …): they are not IANA zones, and other systems read them as something else
 * (PostgreSQL takes `IST` for Israel, ICU for India), so they are refused rather than guessed.
 */
const IANA_THREE_LETTER = new Set([
  'UTC',
  'UCT',
  'GMT',
  'EST',
  'MST',
  'HST',
  'CET',
  'EET',
  'MET',
  'WET',
  'PRC',
  'ROC',
  'ROK',
]);

/** Names ICU still accepts that the IANA database has removed (2016–2020) or never had. */
const NOT_IANA = /^(systemv\/.*|us\/pacific-new|canada\/east-saskatchewan)$/i;

/** An IANA zone name (or link) that ICU knows. */
export function isValidTimeZone(zone: string): boolean {
  if (/^[a-z]{3}$/i.test(zone) && !IANA_THREE_LETTER.has(zone.toUpperCase())) return false;
  if (NOT_IANA.test(zone)) return false;
  try {
    formatter('date', zone);
    return true;
  } catch {
    return false;
  }
}

/** The zone ICU takes a valid name for (`Asia/Kolkata` is `Asia/Calcutta` to Node 20's ICU). */
const icuZone = (zone: string): string => formatter('date', zone).resolvedOptions().timeZone;

/**
 * A valid zone name in the case ICU writes it (`europe/paris` → `Europe/Paris`), and otherwise as
 * given: ICU's own name may be an older one (`Asia/Calcutta` for `Asia/Kolkata`).
 */
export function zoneSpelling(zone: string): string {
  const icu = icuZone(zone);
  return icu.toLowerCase() === zone.toLowerCase() ? icu : zone;
}

/**
 * Whether two valid zone names are one zone to ICU (`utc`, `Etc/UTC` and `UTC`; `Asia/Calcutta`
 * and `Asia/Kolkata`; `US/Pacific` and `America/Los_Angeles`).
 */
export function sameZone(a: string, b: string): boolean {
  return a === b || icuZone(a) === icuZone(b);
}

/** Offset of a zone from UTC at an instant, in ms (local − UTC). */
export function zoneOffsetMs(timeZone: string, at: number): number {
  const parts = formatter('parts', timeZone).formatToParts(new Date(at));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const local = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return local - Math.floor(at / 1000) * 1000;
}

/**
 * The UTC instant at which a local date begins in a zone: its midnight (the first one, where
 * clocks go back from 01:00 to 00:00, as in Asia/Amman), or, where clocks jump forward at
 * midnight (America/Santiago, America/Havana), the jump itself (01:00 local).
 */
export function localMidnightUtc(date: string, timeZone: string): number {
  const key = `${timeZone}|${date}`;
  let start = midnights.get(key);
  if (start === undefined) {
    start = findLocalMidnight(date, timeZone);
    if (midnights.size >= 100_000) midnights.clear();
    midnights.set(key, start);
  }
  return start;
}

/** A day's start never changes: a window of a year asks for 366 of them on every read. */
const midnights = new Map<string, number>();

function findLocalMidnight(date: string, timeZone: string): number {
  const guess = Date.parse(`${date}T00:00:00Z`);
  const first = guess - zoneOffsetMs(timeZone, guess);
  const second = guess - zoneOffsetMs(timeZone, first);
  const localDate = (at: number) => formatter('date', timeZone).format(new Date(at));
  // Midnight read with each offset in force around it (a day either side covers any change near
  // midnight); the day begins at the earliest of them that lies in it.
  const candidates = [
    second,
    first,
    guess - zoneOffsetMs(timeZone, guess - 86_400_000),
    guess - zoneOffsetMs(timeZone, guess + 86_400_000),
  ];
  const within = candidates.filter((at) => localDate(at) === date);
  return within.length > 0 ? Math.min(...within) : second;
}
