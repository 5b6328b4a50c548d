// Talking to the analytics API: the stored token, the dashboard request, and the live stream.
// Errors come back as ApiError with a message fit to show a person: the problem's `detail`
// (RFC 9457) or a plain sentence, never a response body or a stack trace.

const API = '/api/v1/analytics';
const TOKEN_KEY = 'evently.analytics.token';
const MAX_MESSAGE = 300;
const DEFAULT_DAYS = 30;
/** How long a dropped stream may take to come back before the page says it is offline. */
const OFFLINE_AFTER_MS = 5_000;

export const tokenStore = {
  get() {
    try {
      return localStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  },
  set(token) {
    localStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    try {
      localStorage.removeItem(TOKEN_KEY);
    } catch {
      // Storage disabled: there is nothing to clear.
    }
  },
  /** Calls `onChange(token or null)` when another tab of this page signs in or out. */
  watch(onChange) {
    window.addEventListener('storage', (event) => {
      if (event.key === TOKEN_KEY || event.key === null) onChange(this.get());
    });
  },
};

/** The service's settings the page shows (base currency, reporting zone); {} when unreadable. */
export async function fetchServiceInfo() {
  try {
    const response = await fetch('/info', { headers: { Accept: 'application/json' } });
    const body = response.ok ? await response.json() : null;
    const configuration = body?.configuration ?? {};
    return {
      baseCurrency: typeof configuration.base_currency === 'string' ? configuration.base_currency : undefined,
      reportingZone:
        typeof configuration.reporting_timezone === 'string' ? configuration.reporting_timezone : undefined,
    };
  } catch {
    return {};
  }
}

/** Accepts a pasted token with or without the "Bearer " prefix; returns it or null when it is not a JWT. */
export function normalizeToken(input) {
  const token = String(input)
    .trim()
    .replace(/^Bearer\s+/i, '');
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token) ? token : null;
}

/** The claims of a JWT, for display only (the server verifies it); null when unreadable. */
export function readClaims(token) {
  try {
    const part = token.split('.')[1] ?? '';
    const json = window.atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(decodeURIComponent(escapeBytes(json)));
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

function escapeBytes(binary) {
  return Array.from(binary, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
}

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the service could not be reached
   * @param {string} message what to show
   * @param {number} [retryAfter] seconds the service asked to wait (429, 503)
   */
  constructor(status, message, retryAfter) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.retryAfter = retryAfter;
  }

  /** Worth trying again by itself later: rate limited, service unavailable, or not reached. */
  get isTransient() {
    return this.status === 0 || this.status === 429 || this.status === 502 || this.status === 503;
  }

  /** The token was refused: the page must go back to sign-in. */
  get isAuth() {
    return this.status === 401 || this.status === 403;
  }
}

const FALLBACK_MESSAGES = {
  0: 'Could not reach the analytics service. Check your connection and try again.',
  400: 'The request was not accepted.',
  401: 'Your token was not accepted. Sign in again.',
  403: 'This token does not grant the admin role.',
  404: 'The analytics API was not found on this server.',
  429: 'Too many requests.',
  503: 'The analytics service is temporarily unavailable.',
};

function clip(text) {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}

/**
 * A problem's detail as a sentence, so that the page's own sentences can follow it: "tz must be …"
 * → "tz must be ….". (A detail that starts with a parameter's name keeps it as written.)
 */
function sentence(text) {
  const trimmed = text.trim();
  return !trimmed || /[.!?…]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/** Seconds of a Retry-After header (delta-seconds or an HTTP date); undefined when absent or unreadable. */
function retryAfterOf(response) {
  const value = response.headers.get('retry-after');
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/**
 * The request budget the service reported (draft-7 RateLimit-* headers): how many requests are
 * left of `limit` and in how many seconds the window resets; null when it sent none.
 */
function budgetOf(response) {
  const read = (name) => {
    const value = response.headers.get(name);
    return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
  };
  const limit = read('ratelimit-limit');
  const remaining = read('ratelimit-remaining');
  const reset = read('ratelimit-reset');
  if (limit === undefined || remaining === undefined || reset === undefined) return null;
  return { limit, remaining, reset, at: Date.now() };
}

async function problemMessage(response) {
  let detail = '';
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    try {
      const body = await response.json();
      const text = body?.detail ?? body?.title ?? body?.message;
      if (typeof text === 'string') detail = text.trim();
    } catch {
      // A malformed error body: fall back to the status sentence.
    }
  }
  const status = response.status;
  const message =
    sentence(detail) ||
    FALLBACK_MESSAGES[status] ||
    (status >= 500
      ? `The analytics service failed to answer (HTTP ${status}).`
      : `Request failed (HTTP ${status}).`);
  return clip(message);
}

/**
 * GET /dashboard. Resolves `{ data, meta, budget }` (budget: see budgetOf); rejects with ApiError
 * (with `budget` too when the service sent one), or with the AbortError of `signal`.
 * @param {{ token: string, days: number, tz?: string, minVersion?: number, signal?: AbortSignal }} options
 */
export async function fetchDashboard({ token, days, tz, minVersion, signal }) {
  const params = new URLSearchParams();
  // 30 is the API's default window; sending it only when it differs keeps the common URL plain.
  if (days !== DEFAULT_DAYS) params.set('days', String(days));
  if (tz) params.set('tz', tz);
  if (Number.isInteger(minVersion) && minVersion > 0) params.set('min_version', String(minVersion));
  let response;
  try {
    const query = params.toString();
    response = await fetch(`${API}/dashboard${query ? `?${query}` : ''}`, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      cache: 'no-store',
      signal,
    });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError(0, FALLBACK_MESSAGES[0]);
  }
  const budget = budgetOf(response);
  if (!response.ok) {
    const error = new ApiError(response.status, await problemMessage(response), retryAfterOf(response));
    error.budget = budget;
    throw error;
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(response.status, 'The analytics service sent an unreadable answer.');
  }
  if (!body || body.success !== true || typeof body.data !== 'object' || body.data === null) {
    throw new ApiError(response.status, 'The analytics service sent an unexpected answer.');
  }
  return { data: body.data, meta: body.meta ?? {}, budget };
}

/**
 * Opens the SSE stream (EventSource cannot send headers, so the token goes in the query) and keeps
 * it open: the browser retries dropped connections itself; when it gives up (e.g. the server
 * answered 401) we retry with a growing delay.
 * @param {string} token
 * @param {{ onChange: (change: {data_version?: number}) => void, onStatus: (status: 'connecting'|'live'|'offline'|'limited', reconnected: boolean) => void }} handlers
 *   ('limited': the service refused to open it for the admin's request limit, and it is tried again
 *   when the limit allows)
 * @returns {{ close: () => void }}
 */
export function openLiveStream(token, { onChange, onStatus }) {
  let source = null;
  let retryTimer = 0;
  let retryDelay = 2_000;
  let everOpened = false;
  let closed = false;
  /** Set while the browser retries a dropped stream; it reports 'offline' if that takes too long. */
  let downTimer = 0;
  /**
   * Once 'offline' (or 'limited') is reported it stands until the stream opens again: each failed
   * attempt to reconnect meanwhile is not news (the badge would flip between offline and connecting).
   */
  let offline = false;
  const report = (status, reconnected) => {
    offline = status === 'offline' || status === 'limited';
    onStatus(status, reconnected);
  };

  const retryLater = (retryAfterSeconds, status = 'offline') => {
    report(status, false);
    retryTimer = setTimeout(connect, Math.max(retryDelay, (retryAfterSeconds ?? 0) * 1000));
    retryDelay = Math.min(retryDelay * 2, 60_000);
  };

  const connect = async () => {
    if (!offline) report('connecting', false);
    // The admin token stays in headers; the URL carries a stream token that lives two minutes.
    let streamToken;
    let retryAfter;
    let limited = false;
    try {
      const response = await fetch(`${API}/stream/token`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
      });
      retryAfter = retryAfterOf(response);
      limited = response.status === 429;
      if (!response.ok) throw new Error(`stream token: ${response.status}`);
      streamToken = (await response.json()).data.token;
    } catch {
      if (!closed) retryLater(retryAfter, limited ? 'limited' : 'offline');
      return;
    }
    if (closed) return;
    source = new EventSource(`${API}/stream?${new URLSearchParams({ token: streamToken })}`);
    source.addEventListener('open', () => {
      window.clearTimeout(downTimer);
      downTimer = 0;
      retryDelay = 2_000;
      report('live', everOpened);
      everOpened = true;
    });
    source.addEventListener('change', (event) => {
      let change = {};
      try {
        change = JSON.parse(event.data) ?? {};
      } catch {
        // A change we cannot read is still a change: refetch without a version.
      }
      onChange(change);
    });
    source.addEventListener('error', () => {
      if (closed) return;
      if (source.readyState === EventSource.CLOSED) {
        window.clearTimeout(downTimer);
        downTimer = 0;
        retryLater(undefined);
      } else if (!offline) {
        report('connecting', false);
        // The browser reconnects by itself, quietly, for as long as the service is away: after a
        // few seconds the page is told it is offline (and says so) while the browser keeps trying.
        downTimer ||= setTimeout(() => {
          downTimer = 0;
          if (!closed && source.readyState !== EventSource.OPEN) report('offline', false);
        }, OFFLINE_AFTER_MS);
      }
    });
  };

  void connect();
  return {
    close() {
      closed = true;
      window.clearTimeout(retryTimer);
      window.clearTimeout(downTimer);
      source?.close();
    },
  };
}
