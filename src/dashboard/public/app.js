// The dashboard page: sign-in, loading the dashboard payload, live updates over SSE.
// State lives in this module; rendering is in render.js, the chart in chart.js, the API in api.js,
// the alert, status line and live badge in messages.js, the retry and refetch timers in reloads.js,
// the token's expiry in expiry.js.

import {
  fetchDashboard,
  fetchServiceInfo,
  normalizeToken,
  openLiveStream,
  readClaims,
  tokenStore,
} from './api.js';
import { createDailyChart } from './chart.js';
import { createExpiry } from './expiry.js';
import {
  capitalized,
  clearAlert,
  clockTime,
  markToken,
  renderLiveBadge,
  setStatus,
  showAlert,
} from './messages.js';
import { DAY_CHOICES, fillTimeZones, loadPrefs, savePrefs, zoneAsNamed } from './prefs.js';
import { createReloads } from './reloads.js';
import { clearDashboard, renderDashboard } from './render.js';

/** The read models the dashboard shows: a change to anything else (e.g. `users`) needs no refetch. */
const SHOWN_MODELS = new Set(['events', 'daily', 'system', 'revenue', 'capacity', 'top-events']);
const $ = (id) => document.getElementById(id);

const state = {
  token: null,
  days: 30,
  tz: '',
  /** data_version of what is on screen; a change at or below it needs no refetch. */
  shownVersion: 0,
  /** Highest data_version announced by the stream, sent as min_version (read-your-writes). */
  wantedVersion: 0,
  controller: null,
  stream: null,
  /** Period and zone of the figures on screen; null before the first answer. */
  shown: null,
  /** When the figures on screen were loaded. */
  loadedAt: 0,
  /** The service's base currency and reporting zone (GET /info); empty until it answers. */
  info: {},
  /** The last answer, drawn again when the service's settings arrive. */
  last: null,
  /** Whether this tab's token is the one kept in storage (see keepToken). */
  tokenKept: false,
  /** The browser refused to keep the token (storage disabled): said after each load. */
  storageRefused: false,
  /** The stream's state, and whether the last load failed (the figures on screen are behind). */
  streamStatus: 'offline',
  behind: false,
  /** The last load was refused for the admin's request limit (429): figures wait for the next window. */
  limited: false,
  chart: null,
  /** When the last change of period or zone was applied (see onControls). */
  appliedAt: 0,
};

const reloads = createReloads(load);
const expiry = createExpiry({
  // Added to what the alert says (an outage, a refused zone), once.
  warn(warning) {
    const current = $('alert').textContent;
    if (!current.includes(warning)) showAlert(current ? `${current} ${warning}` : warning);
  },
  expire: () => signOut('Your token has expired: sign in with a new one.'),
});

// ---- messages -------------------------------------------------------------------------------

const APP_NAME = 'Evently Analytics';

/**
 * The badge: paused while the request limit holds updates back (a load or the stream refused with
 * 429, a live refetch waiting for the next window); else the stream's state, unless the figures on
 * screen are behind (the last load failed).
 */
function renderLive() {
  if (state.limited || reloads.paused || state.streamStatus === 'limited') renderLiveBadge('paused');
  else renderLiveBadge(state.behind && state.streamStatus !== 'offline' ? 'behind' : state.streamStatus);
}

/**
 * The figures' sections, or in their place one line saying why there are none yet (loading, or the
 * first load failed: the alert says why): no empty cards, tables and dashes that read as zeros.
 */
function showFigures(shown, placeholder = '') {
  $('dashboard').toggleAttribute('data-no-figures', !shown);
  $('no-figures').hidden = shown;
  $('no-figures').textContent = placeholder;
}

/** A problem's detail without the raw seconds of its retry ("…; retry in 900 s."): the page says when. */
const withoutRetrySeconds = (message) => message.replace(/;\s*retry in \d+ s\.?$/, '.');

function setLive(status) {
  state.streamStatus = status;
  renderLive();
}

const zoneName = (tz) => tz || state.info.reportingZone || 'the service’s reporting zone';

const describePeriod = ({ days, tz }) => `the last ${days} days in ${zoneName(tz)}`;

// ---- loading --------------------------------------------------------------------------------

function render(data, meta) {
  state.last = { data, meta };
  showFigures(true);
  state.chart ??= createDailyChart($('chart'));
  renderDashboard(data, meta, {
    currency: state.info.baseCurrency,
    zone: state.shown?.tz || state.info.reportingZone,
    trendDays: state.days,
    revenueDays: state.shown?.days ?? state.days,
    chart: state.chart,
  });
}

/** The base currency by every money heading, the reporting zone in the zone field's placeholder. */
function applyServiceInfo(info) {
  state.info = info;
  for (const label of document.querySelectorAll('[data-currency]'))
    label.textContent = info.baseCurrency ? ` (${info.baseCurrency})` : '';
  $('tz').placeholder = info.reportingZone ? `Server default (${info.reportingZone})` : 'Server default';
  if (state.last && state.token) render(state.last.data, state.last.meta);
}

async function load() {
  state.controller?.abort();
  reloads.clearRetry();
  const controller = new window.AbortController();
  state.controller = controller;
  const requested = { days: state.days, tz: state.tz };
  const dashboard = $('dashboard');
  dashboard.setAttribute('aria-busy', 'true');
  setStatus('Loading…');
  try {
    const { data, meta, budget } = await fetchDashboard({
      token: state.token,
      days: requested.days,
      tz: requested.tz,
      minVersion: state.wantedVersion > state.shownVersion ? state.wantedVersion : undefined,
      signal: controller.signal,
    });
    reloads.setBudget(budget);
    state.shown = requested;
    state.loadedAt = Date.now();
    render(data, meta);
    document.title = `Dashboard, ${describePeriod(requested)} – ${APP_NAME}`;
    if (Number.isInteger(meta.data_version)) state.shownVersion = meta.data_version;
    // Kept only once they worked: a zone the service refuses is not there again after a reload.
    savePrefs(requested);
    keepToken();
    // A refused zone still in its field (being corrected) stays marked, and the page says which
    // zone the figures are in.
    if ($('tz').value.trim() === requested.tz) $('tz').removeAttribute('aria-invalid');
    settleAlert(requested);
    state.behind = meta.stale === true;
    state.limited = false;
    if (meta.stale === true) {
      // The last answer kept while the database is down (api.md): shown, marked, and asked for
      // again until the service answers with current figures.
      setStatus(`Kept figures shown; trying again at ${clockTime(reloads.retry(undefined))}`);
    } else {
      reloads.succeeded();
      setStatus(`Updated ${clockTime(state.loadedAt)}`);
    }
    // A live refetch still waiting has nothing left to fetch when this answer is as new.
    if (state.shownVersion >= state.wantedVersion) reloads.clearRefetch();
    // After the timers: a live refetch that waited for the request limit may just have ended.
    renderLive();
  } catch (error) {
    if (error?.name === 'AbortError') return;
    if (error?.isAuth) {
      signOut(capitalized(error.message));
      markToken(true);
      return;
    }
    if (error?.budget) reloads.setBudget(error.budget);
    // The service took the token and failed afterwards (a refused zone, the database away): it is
    // kept. Not when the service was not reached or refused before asking (429).
    if (error?.status && error.status !== 429) keepToken();
    // A refused period or zone leaves the figures on screen current; anything else leaves them behind.
    const refused = error?.status === 400;
    if (!state.shown) {
      setStatus('');
      showFigures(false, 'No figures to show yet.');
    } else if (refused) setStatus(`Updated ${clockTime(state.loadedAt)}`);
    else setStatus(`Figures shown are from ${clockTime(state.loadedAt)}`);
    const sentences = [
      error?.name === 'ApiError'
        ? withoutRetrySeconds(error.message)
        : 'The dashboard could not be shown. Try again.',
    ];
    if (error?.name !== 'ApiError') console.error(error);
    // The controls keep saying what the figures are: a period or zone that could not be shown goes
    // back to the one on screen (a refused zone stays in its field, marked, to be corrected).
    const fallback =
      state.shown ?? (error?.status === 400 && requested.tz ? { days: requested.days, tz: '' } : null);
    if (fallback && (fallback.days !== requested.days || fallback.tz !== requested.tz)) {
      if (requested.tz !== fallback.tz && error?.status === 400) $('tz').setAttribute('aria-invalid', 'true');
      else $('tz').value = fallback.tz;
      state.days = fallback.days;
      state.tz = fallback.tz;
      $('days').value = String(state.days);
      if (state.shown) sentences.push(`Still showing ${describePeriod(state.shown)}.`);
      else {
        // Nothing on screen yet (a zone saved before it was refused): show the service's own zone.
        sentences.push('Showing the service’s reporting zone instead.');
        reloads.retry(0);
      }
    }
    if (error?.isTransient) sentences.push(`Trying again at ${clockTime(reloads.retry(error.retryAfter))}.`);
    // Over the limit before any figures, with a token not kept yet: a reload would lose it.
    if (error?.status === 429 && !state.shown && !state.tokenKept && !state.storageRefused)
      sentences.push(RELOAD_LOSES_TOKEN);
    const warning = expiry.warning();
    if (warning) sentences.push(warning);
    state.behind = state.shown !== null && !refused;
    state.limited = error?.status === 429;
    renderLive();
    showAlert(sentences.join(' '));
  } finally {
    if (state.controller === controller) {
      state.controller = null;
      dashboard.removeAttribute('aria-busy');
    }
  }
}

// ---- live updates ---------------------------------------------------------------------------

function startStream() {
  state.stream?.close();
  state.stream = openLiveStream(state.token, {
    onChange(change) {
      if (Array.isArray(change.changed) && !change.changed.some((model) => SHOWN_MODELS.has(model))) return;
      const version = change.data_version;
      if (Number.isInteger(version)) {
        if (version <= state.shownVersion) return;
        state.wantedVersion = Math.max(state.wantedVersion, version);
      }
      reloads.refetch();
      renderLive();
    },
    onStatus(status, reconnected) {
      setLive(status);
      // Changes may have been missed while disconnected: a reconnected stream refetches (ending any
      // backoff). A lost one refetches too, to find out whether the token is still accepted, but
      // leaves a retry already waiting alone (the service may be down).
      if (status === 'live' && reconnected) reloads.refetch();
      else if (status === 'offline' && !reloads.retryWaiting) reloads.refetch();
    },
  });
}

// ---- session --------------------------------------------------------------------------------

function showSignIn() {
  document.title = `Sign in – ${APP_NAME}`;
  $('session').hidden = true;
  $('dashboard').hidden = true;
  $('signin').hidden = false;
  $('token').value = '';
  $('token').focus();
}

function enterDashboard() {
  const claims = readClaims(state.token);
  $('user').textContent =
    claims?.email ?? claims?.username ?? (claims?.user_id ? `User ${claims.user_id}` : '');
  $('signin').hidden = true;
  $('session').hidden = false;
  $('dashboard').hidden = false;
  state.shownVersion = 0;
  state.wantedVersion = 0;
  state.shown = null;
  state.behind = false;
  state.limited = false;
  document.title = `Dashboard – ${APP_NAME}`;
  showFigures(false, 'Loading the figures…');
  reloads.forget();
  expiry.start(claims?.exp);
  setLive('connecting');
  startStream();
  void load();
}

/** Forgets the token and everything shown with it; `reason` (e.g. a 401 detail) goes in the alert. */
function signOut(reason) {
  expiry.stop();
  state.stream?.close();
  state.stream = null;
  state.controller?.abort();
  state.controller = null;
  reloads.stop();
  state.chart?.destroy();
  state.chart = null;
  // Every tab of the page signs out with it, unless the token refused was never kept (one pasted
  // in this tab and refused at once) and the kept one is another tab's good session.
  if (state.tokenKept) tokenStore.clear();
  state.token = null;
  state.tokenKept = false;
  state.last = null;
  state.limited = false;
  clearDashboard();
  showFigures(false);
  setStatus('');
  setLive('offline');
  if (reason) showAlert(reason);
  else clearAlert();
  showSignIn();
}

function onSignIn(event) {
  event.preventDefault();
  const token = normalizeToken($('token').value);
  if (!token) {
    showAlert(
      $('token').value.trim() === ''
        ? 'Paste your admin access token to sign in.'
        : 'That is not a JWT: paste the whole token, three parts separated by dots.',
    );
    markToken(true);
    $('token').focus();
    return;
  }
  markToken(false);
  state.token = token;
  state.tokenKept = tokenStore.get() === token;
  clearAlert();
  enterDashboard();
  $('dashboard-title').focus();
}

/**
 * Keeps the token for reloads and the page's other tabs (which follow it), once the service took
 * it: a token refused at once never replaces another tab's good session.
 */
function keepToken() {
  if (state.tokenKept || state.storageRefused) return;
  try {
    tokenStore.set(state.token);
    state.tokenKept = true;
  } catch {
    state.storageRefused = true;
  }
}

const RELOAD_LOSES_TOKEN =
  'Keep this page open: the token is kept for reloads once the service has taken it.';

const STORAGE_REFUSED =
  'This browser does not allow local storage: you stay signed in until the page is closed.';

/** The alert after a successful load: what still needs saying, or nothing. */
function settleAlert(requested) {
  const sentences = [];
  if ($('tz').getAttribute('aria-invalid') === 'true')
    sentences.push(`The zone in the field was not accepted: showing ${describePeriod(requested)}.`);
  if (state.storageRefused) sentences.push(STORAGE_REFUSED);
  const warning = expiry.warning();
  if (warning) sentences.push(warning);
  if (sentences.length > 0) showAlert(sentences.join(' '));
  else clearAlert();
}

/** Submit (Refresh, Enter) always reloads; a change of period or zone reloads when it changed something. */
function onControls(event) {
  event.preventDefault();
  const days = Number($('days').value);
  // A period picked while a refused zone is still in its field keeps the zone on screen.
  const refusedZone = $('tz').getAttribute('aria-invalid') === 'true' && event.target === $('days');
  const tz = refusedZone ? state.tz : zoneAsNamed($('tz').value.trim());
  if (!refusedZone) $('tz').value = tz;
  const unchanged = days === state.days && tz === state.tz;
  if (event.type === 'change' && unchanged) return;
  // Enter in the zone field fires `change` and then `submit`: one reload is enough.
  if (event.type === 'submit' && unchanged && Date.now() - state.appliedAt < 300) return;
  state.days = DAY_CHOICES.includes(days) ? days : 30;
  state.tz = tz;
  state.appliedAt = Date.now();
  if (!refusedZone) $('tz').removeAttribute('aria-invalid');
  void load();
}

function init() {
  fillTimeZones($('tz-list'));
  Object.assign(state, loadPrefs());
  $('days').value = String(state.days);
  $('tz').value = state.tz;
  $('signin-form').addEventListener('submit', onSignIn);
  $('token').addEventListener('input', () => markToken(false));
  $('signout').addEventListener('click', () => signOut());
  $('controls').addEventListener('submit', onControls);
  $('days').addEventListener('change', onControls);
  $('tz').addEventListener('change', onControls);
  if (typeof uPlot === 'undefined') showAlert('The chart library did not load; reload the page.');
  void fetchServiceInfo().then(applyServiceInfo);
  // Signing in or out in another tab of this page does the same here.
  tokenStore.watch((token) => {
    if (token === state.token) return;
    if (token === null) {
      // Only the session kept is signed out; a token pasted here and not yet taken is this tab's.
      if (state.token && state.tokenKept) signOut('Signed out in another tab.');
      return;
    }
    state.token = token;
    state.tokenKept = true;
    clearAlert();
    enterDashboard();
  });
  state.token = tokenStore.get();
  state.tokenKept = state.token !== null;
  if (state.token) enterDashboard();
  else showSignIn();
}

init();
