// The dashboard page: sign-in, loading the dashboard payload, live updates over SSE.
// State lives in this module; rendering is in render.js, the chart in chart.js, the API in api.js.

import { fetchDashboard, normalizeToken, openLiveStream, readClaims, tokenStore } from './api.js';
import { createDailyChart } from './chart.js';
import {
  clearDashboard,
  renderCapacity,
  renderDailyTable,
  renderKpis,
  renderMeta,
  renderRevenue,
  renderTopEvents,
  renderTrendSummary,
} from './render.js';

const PREFS_KEY = 'evently.analytics.prefs';
const REFETCH_DEBOUNCE_MS = 500;
const DAY_CHOICES = [7, 30, 90];

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
  refetchTimer: 0,
  /** Signs out when the token expires. */
  expiryTimer: 0,
  chart: null,
  /** When the last change of period or zone was applied (see onControls). */
  appliedAt: 0,
};

// ---- messages -------------------------------------------------------------------------------

function showAlert(message) {
  $('alert').textContent = message;
}

function clearAlert() {
  $('alert').textContent = '';
}

function setStatus(text) {
  $('status').textContent = text;
}

function setLive(status) {
  const labels = { live: 'Live', connecting: 'Connecting…', offline: 'Offline' };
  $('live').dataset.state = status;
  $('live-text').textContent = labels[status] ?? 'Offline';
}

// ---- preferences ----------------------------------------------------------------------------

function loadPrefs() {
  try {
    const prefs = JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') ?? {};
    if (DAY_CHOICES.includes(prefs.days)) state.days = prefs.days;
    if (typeof prefs.tz === 'string') state.tz = prefs.tz;
  } catch {
    // Unreadable preferences: keep the defaults.
  }
  $('days').value = String(state.days);
  $('tz').value = state.tz;
}

function savePrefs() {
  try {
    localStorage.setItem(PREFS_KEY, JSON.stringify({ days: state.days, tz: state.tz }));
  } catch {
    // Storage full or disabled: the choice still applies to this page.
  }
}

function fillTimeZones() {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  $('tz-list').replaceChildren(
    ...['UTC', ...zones].map((zone) => {
      const option = document.createElement('option');
      option.value = zone;
      return option;
    }),
  );
}

// ---- loading --------------------------------------------------------------------------------

function render(data, meta) {
  renderMeta(meta);
  renderKpis(data.overview);
  renderTrendSummary(data.booking_trends, state.days);
  const series = Array.isArray(data.daily_analytics?.series) ? data.daily_analytics.series : [];
  state.chart ??= createDailyChart($('chart'));
  const drawn = state.chart.update(series);
  $('chart').dataset.points = String(drawn ? series.length : 0);
  // The series has a row for every day; a period without a booking or any money is still empty.
  const active = series.some((d) => d.new_bookings > 0 || d.total_revenue !== 0 || d.cancelled_bookings > 0);
  $('chart-empty').hidden = drawn && active;
  renderDailyTable(series);
  renderTopEvents(data.top_events);
  renderCapacity(data.capacity_utilization);
  renderRevenue(data.revenue_analytics, state.days);
}

async function load() {
  state.controller?.abort();
  const controller = new window.AbortController();
  state.controller = controller;
  const dashboard = $('dashboard');
  dashboard.setAttribute('aria-busy', 'true');
  setStatus('Loading…');
  try {
    const { data, meta } = await fetchDashboard({
      token: state.token,
      days: state.days,
      tz: state.tz,
      minVersion: state.wantedVersion > state.shownVersion ? state.wantedVersion : undefined,
      signal: controller.signal,
    });
    render(data, meta);
    if (Number.isInteger(meta.data_version)) state.shownVersion = meta.data_version;
    // Kept only once they worked: a zone the service refuses is not there again after a reload.
    savePrefs();
    clearAlert();
    setStatus(`Updated ${new Date().toLocaleTimeString()}`);
  } catch (error) {
    if (error?.name === 'AbortError') return;
    if (error?.isAuth) {
      signOut(error.message);
      return;
    }
    setStatus('');
    showAlert(error?.name === 'ApiError' ? error.message : 'The dashboard could not be shown. Try again.');
    if (error?.name !== 'ApiError') console.error(error);
  } finally {
    if (state.controller === controller) {
      state.controller = null;
      dashboard.removeAttribute('aria-busy');
    }
  }
}

function scheduleRefetch() {
  window.clearTimeout(state.refetchTimer);
  state.refetchTimer = setTimeout(() => void load(), REFETCH_DEBOUNCE_MS);
}

// ---- live updates ---------------------------------------------------------------------------

function startStream() {
  state.stream?.close();
  state.stream = openLiveStream(state.token, {
    onChange(change) {
      const version = change.data_version;
      if (Number.isInteger(version)) {
        if (version <= state.shownVersion) return;
        state.wantedVersion = Math.max(state.wantedVersion, version);
      }
      scheduleRefetch();
    },
    onStatus(status, reconnected) {
      setLive(status);
      // Changes may have been missed while disconnected; a refetch also finds out whether the
      // token is still accepted when the stream was refused.
      if ((status === 'live' && reconnected) || status === 'offline') scheduleRefetch();
    },
  });
}

// ---- session --------------------------------------------------------------------------------

function showSignIn() {
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
  scheduleExpiry(claims?.exp);
  setLive('connecting');
  startStream();
  void load();
}

/** The service allows 30 s of clock skew past `exp`; the page signs out then, not at the next change. */
const EXPIRY_SKEW_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

function scheduleExpiry(exp) {
  window.clearTimeout(state.expiryTimer);
  if (typeof exp !== 'number') return;
  const wait = Math.max(0, exp * 1000 + EXPIRY_SKEW_MS - Date.now());
  if (wait > MAX_TIMER_MS) return;
  state.expiryTimer = setTimeout(() => signOut('Your token has expired: sign in with a new one.'), wait);
}

/** Forgets the token and everything shown with it; `reason` (e.g. a 401 detail) goes in the alert. */
function signOut(reason) {
  window.clearTimeout(state.expiryTimer);
  state.stream?.close();
  state.stream = null;
  state.controller?.abort();
  state.controller = null;
  window.clearTimeout(state.refetchTimer);
  state.chart?.destroy();
  state.chart = null;
  state.token = null;
  tokenStore.clear();
  clearDashboard();
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
    showAlert('That is not a JWT: paste the whole token, three parts separated by dots.');
    $('token').focus();
    return;
  }
  try {
    tokenStore.set(token);
  } catch {
    showAlert('This browser does not allow local storage; the token is kept only until the page is closed.');
  }
  state.token = token;
  clearAlert();
  enterDashboard();
  $('dashboard-title').focus();
}

/** Submit (Refresh, Enter) always reloads; a change of period or zone reloads when it changed something. */
function onControls(event) {
  event.preventDefault();
  const days = Number($('days').value);
  const tz = $('tz').value.trim();
  const unchanged = days === state.days && tz === state.tz;
  if (event.type === 'change' && unchanged) return;
  // Enter in the zone field fires `change` and then `submit`: one reload is enough.
  if (event.type === 'submit' && unchanged && Date.now() - state.appliedAt < 300) return;
  state.days = DAY_CHOICES.includes(days) ? days : 30;
  state.tz = tz;
  state.appliedAt = Date.now();
  void load();
}

function init() {
  fillTimeZones();
  loadPrefs();
  $('signin-form').addEventListener('submit', onSignIn);
  $('signout').addEventListener('click', () => signOut());
  $('controls').addEventListener('submit', onControls);
  $('days').addEventListener('change', onControls);
  $('tz').addEventListener('change', onControls);
  if (typeof uPlot === 'undefined') showAlert('The chart library did not load; reload the page.');
  state.token = tokenStore.get();
  if (state.token) enterDashboard();
  else showSignIn();
}

init();
