// The token's lifetime as the page follows it: a warning in its last minutes, so that the admin can
// sign in again in time, and signing out when the service would refuse it.

import { clockTime } from './messages.js';

/** The service allows 30 s of clock skew past `exp`; the page signs out then, not at the next change. */
const EXPIRY_SKEW_MS = 30_000;
/** How long before the token expires the page says so. */
const WARNING_MS = 5 * 60_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * @param {{ warn: (sentence: string) => void, expire: () => void }} handlers `warn` when the last
 *   minutes begin (at once if they have), `expire` when the token is no longer accepted
 */
export function createExpiry({ warn, expire }) {
  let expiresAt = 0;
  let warningTimer = 0;
  let expiryTimer = 0;

  const warning = () => {
    const now = Date.now();
    if (!expiresAt || now < expiresAt - WARNING_MS) return '';
    return now < expiresAt
      ? `Your token expires at ${clockTime(expiresAt)}: to go on after that, sign out and sign in with a new one.`
      : `Your token expired at ${clockTime(expiresAt)}: sign out and sign in with a new one.`;
  };

  function stop() {
    window.clearTimeout(warningTimer);
    window.clearTimeout(expiryTimer);
    expiresAt = 0;
  }

  return {
    /** Follows a token whose claims say `exp` (seconds); one without it is never signed out. */
    start(exp) {
      stop();
      if (typeof exp !== 'number') return;
      expiresAt = exp * 1000;
      const untilExpired = expiresAt + EXPIRY_SKEW_MS - Date.now();
      if (untilExpired > MAX_TIMER_MS) return;
      expiryTimer = setTimeout(expire, Math.max(0, untilExpired));
      warningTimer = setTimeout(() => warn(warning()), Math.max(0, expiresAt - WARNING_MS - Date.now()));
    },
    stop,
    /** The sentence the alert keeps in the token's last minutes; '' before them. */
    warning,
  };
}
