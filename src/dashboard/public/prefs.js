// What the page remembers in this browser besides the token: the period and zone last shown, and
// the zone names the zone field offers.

const PREFS_KEY = 'evently.analytics.prefs';
export const DAY_CHOICES = [7, 30, 90];

/** The saved period and zone, each only when valid; {} when none or unreadable. */
export function loadPrefs() {
  try {
    const prefs = JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') ?? {};
    return {
      ...(DAY_CHOICES.includes(prefs.days) ? { days: prefs.days } : {}),
      ...(typeof prefs.tz === 'string' ? { tz: prefs.tz } : {}),
    };
  } catch {
    // Unreadable preferences: keep the defaults.
    return {};
  }
}

export function savePrefs({ days, tz }) {
  try {
    localStorage.setItem(PREFS_KEY, JSON.stringify({ days, tz }));
  } catch {
    // Storage full or disabled: the choice still applies to this page.
  }
}

let zoneNames = null;

/** UTC and every zone this browser names (its canonical names), looked up by lower case. */
function knownZones() {
  if (!zoneNames) {
    const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
    zoneNames = new Map(['UTC', ...zones].map((zone) => [zone.toLowerCase(), zone]));
  }
  return zoneNames;
}

/** Fills a datalist with UTC and every zone this browser knows. */
export function fillTimeZones(list) {
  list.replaceChildren(
    ...[...knownZones().values()].map((zone) => {
      const option = document.createElement('option');
      option.value = zone;
      return option;
    }),
  );
}

/**
 * A typed zone in its usual spelling when only the case differs ("utc" → "UTC", "europe/paris" →
 * "Europe/Paris", "america/argentina/buenos_aires" → "America/Argentina/Buenos_Aires"), as the
 * service reads it (case-insensitively): a name of the zone list, else the browser's name for it
 * when that differs only in case. Otherwise as typed: an alias the browser names otherwise
 * ("us/eastern") stays what the admin wrote, and a zone it does not know is the service's to refuse.
 */
export function zoneAsNamed(tz) {
  if (!tz) return tz;
  const listed = knownZones().get(tz.toLowerCase());
  if (listed) return listed;
  try {
    const named = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
    return named.toLowerCase() === tz.toLowerCase() ? named : tz;
  } catch {
    return tz;
  }
}
