// What the page says: the alert, the status line and the live badge, and the words they use.

const $ = (id) => document.getElementById(id);

/** An assertive alert is announced each time it is written: the same words are not written again. */
export function showAlert(message) {
  if ($('alert').textContent !== message) $('alert').textContent = message;
}

/** The token field marked as the cause of the alert (a token refused or not a JWT), or not. */
export function markToken(refused) {
  if (refused) {
    $('token').setAttribute('aria-invalid', 'true');
    $('token').setAttribute('aria-describedby', 'alert');
  } else {
    $('token').removeAttribute('aria-invalid');
    $('token').removeAttribute('aria-describedby');
  }
}

export function clearAlert() {
  $('alert').textContent = '';
}

export function setStatus(text) {
  $('status').textContent = text;
}

export const clockTime = (ms) => new Date(ms).toLocaleTimeString();

/** First letter up: a refused token's detail ("user is disabled.") is the sign-in form's message. */
export const capitalized = (text) => text.charAt(0).toUpperCase() + text.slice(1);

/** The badge's words for each state, and what it means, on hover. */
const BADGE = {
  live: { text: 'Live', title: 'Live updates from the analytics stream' },
  connecting: { text: 'Connecting…', title: 'Connecting to the analytics stream' },
  offline: { text: 'Offline', title: 'The analytics stream cannot be reached; the page keeps trying' },
  behind: { text: 'Not up to date', title: 'The figures shown are not the latest: the page keeps trying' },
  paused: {
    text: 'Paused',
    title: 'Live updates wait for your request limit; the status line or the alert says until when',
  },
};

/**
 * The badge's state: live, connecting, offline, behind (the figures on screen are not up to date) or
 * paused (updates wait for the admin's request limit; the service is there).
 */
export function renderLiveBadge(status) {
  const { text, title } = BADGE[status] ?? BADGE.offline;
  $('live').dataset.state = status;
  $('live').title = title;
  // Written only when it changes: a status region repeats what is written into it.
  if ($('live-text').textContent !== text) $('live-text').textContent = text;
}
