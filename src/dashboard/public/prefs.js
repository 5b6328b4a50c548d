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

/** Fills a datalist with UTC and every zone this browser knows. */
export function fillTimeZones(list) {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  list.replaceChildren(
    ...['UTC', ...zones].map((zone) => {
      const option = document.createElement('option');
      option.value = zone;
      return option;
    }),
  );
}

/**
 * A typed zone in its usual spelling when only the case differs ("utc" → "UTC", "europe/paris" →
 * "Europe/Paris"), as the service reads it (case-insensitively); otherwise as typed (an alias such
 * as Asia/Calcutta stays what the admin wrote, and a zone this browser does not know is the
 * service's to refuse).
 */
export function zoneAsNamed(tz) {
  if (!tz) return tz;
  try {
    const named = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
    return named.toLowerCase() === tz.toLowerCase() ? named : tz;
  } catch {
    return tz;
  }
}
