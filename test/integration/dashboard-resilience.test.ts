/**
 * The dashboard page as an admin leaves it open: reached over plain http at a non-loopback address,
 * an empty store, a live tab that must not use up its admin's request budget, a database outage it
 * must come back from by itself, and figures that must fit their cards (other currencies, 1e11
 * amounts). Real app on PostgreSQL, real Chromium.
 */
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { launchBrowser, type LaunchedBrowser } from '../helpers/browser.ts';
import { bookingMessage, eventCreated, jazzBooking, jazzNight } from '../support/messages.ts';
import { setDatabaseReachable } from '../support/scratch-database.ts';

const HOUR = 3_600_000;
const now = Date.now();
const booking = (id: number) => jazzBooking(id, now - HOUR + id * 1_000);
/** Small enough to run out within a test, at one minute per window (RATE_LIMIT_WINDOW's least). */
const LIMIT = 12;

let service: TestApp;
let browser: LaunchedBrowser;
let port: number;
let page: Page;
const dashboardAnswers: { at: number; status: number }[] = [];

async function ingest(messages: string[]): Promise<void> {
  const response = await service.app.inject({
    method: 'POST',
    url: '/api/v1/analytics/ingest',
    // Another admin: ingest is counted apart anyway, and this keeps the page's user's budget its own.
    headers: { authorization: `Bearer ${await service.mint({ userId: 99 })}` },
    payload: { messages },
  });
  expect(response.statusCode).toBe(200);
  const { results } = response.json<{ data: { results: { outcome: string }[] } }>().data;
  expect(results.map((r) => r.outcome)).toEqual(messages.map(() => 'processed'));
}

const text = async (selector: string) => ((await page.textContent(selector)) ?? '').trim();

/** Spends `count` requests of a user's budget, as their other tabs and scripts would. */
async function spendRequests(token: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const response = await service.app.inject({
      method: 'GET',
      url: '/api/v1/analytics/system',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.statusCode).toBe(200);
  }
}

/** The first IPv4 address of this machine that is not loopback, if it has one. */
function outwardAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces()))
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

beforeAll(async () => {
  service = await startTestApp({ env: { RATE_LIMIT_ANALYTICS: String(LIMIT), RATE_LIMIT_WINDOW: '1' } });
  await service.app.listen({ port: 0, host: '0.0.0.0' });
  port = (service.app.server.address() as AddressInfo).port;
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('response', (response: Response) => {
    if (new URL(response.url()).pathname === '/api/v1/analytics/dashboard')
      dashboardAnswers.push({ at: Date.now(), status: response.status() });
  });
  // Every text the alert ever shows, however briefly.
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { alerts: string[] }).alerts = seen;
    document.addEventListener('DOMContentLoaded', () => {
      const alert = document.getElementById('alert');
      if (!alert) return;
      new MutationObserver(() => {
        if (alert.textContent) seen.push(alert.textContent);
      }).observe(alert, { childList: true, characterData: true, subtree: true });
    });
  });
});

afterAll(async () => {
  await browser?.close();
  if (service?.database) await setDatabaseReachable(service.database.name, true).catch(() => undefined);
  await service?.close();
});

describe('dashboard page, left open', () => {
  it('loads over plain http at a non-loopback address (no upgrade to https in its policy)', async () => {
    const res = await service.app.inject({ method: 'GET', url: '/' });
    expect(res.headers['content-security-policy']).not.toMatch(/upgrade-insecure-requests/);
    // Browsers treat localhost as secure whatever the policy: the page must also work elsewhere.
    const address = outwardAddress() ?? '127.0.0.1';
    await page.goto(`http://${address}:${port}/`);
    await page.waitForSelector('#signin:not([hidden])');
    // The module script ran (it shows the form) and the stylesheet applied (it zeroes body's margin).
    expect(await page.evaluate(() => getComputedStyle(document.body).margin)).toBe('0px');
  });

  it('says there is no activity instead of drawing a chart of zeros', async () => {
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.fill('#token', service.token);
    await page.click('#signin-form button[type=submit]');
    await page.waitForSelector('[data-kpi=total_bookings]');
    expect(await text('[data-kpi=total_bookings]')).toBe('0');
    expect(await page.isVisible('#chart-empty')).toBe(true);
    expect(await page.isVisible('#chart')).toBe(false);
    // An average over no event of known capacity is unknown, not 0 %.
    expect(await text('[data-kpi=avg_capacity_utilization]')).toBe('—');
    expect(await text('[data-figure=average_utilization]')).toBe('—');
  });

  it('paces live refetches within its admin’s request budget instead of running into 429', async () => {
    await page.waitForSelector('#live[data-state=live]');
    await ingest([eventCreated(jazzNight(now - 72 * HOUR, now + 30 * 24 * HOUR))]);
    const start = Date.now();
    // 15 batches, each announced on the stream: more than the whole budget if each were fetched.
    for (let id = 1; id <= 15; id++) {
      await ingest([bookingMessage('BookingCreated', booking(id))]);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await page.waitForFunction(
      () => document.querySelector('[data-kpi=total_bookings]')?.textContent === '15',
      undefined,
      { timeout: 40_000 },
    );
    const during = dashboardAnswers.filter((a) => a.at >= start);
    expect(during.map((a) => a.status).every((status) => status === 200)).toBe(true);
    expect(during.length).toBeLessThanOrEqual(3);
    expect(dashboardAnswers.some((a) => a.status === 429)).toBe(false);
    expect(await text('#alert')).toBe('');
  });

  it('after a database outage keeps the period it shows and recovers by itself', async () => {
    const name = service.database?.name as string;
    // Another admin, with a request budget of their own (the last test spent the first one's).
    await page.click('#signout');
    await page.fill('#token', await service.mint({ userId: 2 }));
    await page.click('#signin-form button[type=submit]');
    await page.waitForSelector('#live[data-state=live]');
    await page.waitForFunction(
      () => document.querySelector('[data-kpi=total_bookings]')?.textContent === '15',
    );
    await setDatabaseReachable(name, false);
    // An uncached period during the outage: a 503.
    await page.selectOption('#days', '7');
    await page.waitForFunction(() =>
      (window as unknown as { alerts: string[] }).alerts.some((a) => a.includes('Trying again at')),
    );
    const alerts = await page.evaluate(() => (window as unknown as { alerts: string[] }).alerts);
    expect(alerts.find((a) => a.includes('Trying again at'))).toMatch(
      /Still showing the last 30 days in UTC\./,
    );
    expect(await page.inputValue('#days')).toBe('30');
    expect(await text('#revenue-sub')).toBe('Last 30 days · USD');
    // The retry gets the answer kept from before the outage, marked stale.
    await page.waitForSelector('#meta-stale:not([hidden])', { timeout: 20_000 });
    expect(await page.getAttribute('#live', 'data-state')).toBe('behind');

    await setDatabaseReachable(name, true);
    // Back by itself: no click, no new data, no reload.
    await page.waitForSelector('#meta-stale[hidden]', { state: 'attached', timeout: 45_000 });
    expect(await text('#alert')).toBe('');
    expect(await page.getAttribute('#live', 'data-state')).toBe('live');
  });

  it('shows revenue in other currencies beside the total, and fits a 1e11 amount and its growth in the card', async () => {
    // A cent of revenue in the 30 days before: the last 30 days' growth is some 3e15 %.
    const before = { ...jazzBooking(24, now - 40 * 24 * HOUR), totalAmount: 0.01 };
    await ingest([
      bookingMessage('BookingCreated', before),
      bookingMessage('BookingConfirmed', before),
      bookingMessage('BookingCreated', { ...booking(20), currency: 'EUR', totalAmount: 12.5 }),
      bookingMessage('BookingConfirmed', { ...booking(20), currency: 'EUR', totalAmount: 12.5 }),
      ...[21, 22, 23].flatMap((id) => [
        bookingMessage('BookingCreated', { ...booking(id), totalAmount: 1e11 }),
        bookingMessage('BookingConfirmed', { ...booking(id), totalAmount: 1e11 }),
      ]),
    ]);
    await page.click('#refresh');
    await page.waitForFunction(
      () => document.querySelector('[data-kpi=total_revenue]')?.textContent === '300,000,000,000.01',
      undefined,
      { timeout: 15_000 },
    );
    expect(await text('[data-kpi=other_currency_revenue]')).toBe('Not included: EUR 12.50');
    expect(await text('[data-kpi=revenue_growth_rate]')).toMatch(/^▲\s*up \+[\d,]{20,}\.\d{2}%$/);
    for (const width of [1280, 375, 320]) {
      await page.setViewportSize({ width, height: 900 });
      const fits = await page.$eval('[data-kpi=total_revenue]', (el) => {
        const lineHeight = parseFloat(getComputedStyle(el).lineHeight) || el.getBoundingClientRect().height;
        return el.scrollWidth <= el.clientWidth && el.getBoundingClientRect().height < 1.5 * lineHeight;
      });
      expect(fits, `at ${width} px`).toBe(true);
      // A rate too long for its card breaks onto a second line instead of running out of it.
      const growthFits = await page.$eval('[data-kpi=revenue_growth_rate]', (el) => {
        const card = el.closest('.kpi') as HTMLElement;
        return (
          el.getBoundingClientRect().right <= card.getBoundingClientRect().right &&
          card.scrollWidth <= card.clientWidth
        );
      });
      expect(growthFits, `growth at ${width} px`).toBe(true);
    }
  });

  it('signed in over the request limit, says when the figures come instead of showing empty cards, then loads them', async () => {
    const token = await service.mint({ userId: 5 });
    await spendRequests(token, LIMIT);
    await page.click('#signout');
    await page.fill('#token', token);
    await page.click('#signin-form button[type=submit]');
    await page.waitForFunction(() =>
      /Trying again at/.test(document.getElementById('alert')?.textContent ?? ''),
    );
    expect(await page.title()).toBe('Dashboard – Evently Analytics');
    // When, as a time of day; not the raw seconds of the problem detail.
    expect(await text('#alert')).toMatch(
      /^Rate limit reached: at most 12 requests per 1 min\. Trying again at [^.]+\. Keep this page open: the token is kept for reloads once the service has taken it\.$/,
    );
    expect(await page.isVisible('#no-figures')).toBe(true);
    expect(await text('#no-figures')).toBe('No figures to show yet.');
    expect(await page.isVisible('#kpis')).toBe(false);
    expect(await page.isVisible('#chart-title')).toBe(false);
    // The service is there: updates wait for the limit, the page is not offline.
    expect(await page.getAttribute('#live', 'data-state')).toBe('paused');
    expect(await text('#live-text')).toBe('Paused');

    // The next window: the figures come by themselves.
    await page.waitForFunction(
      () => document.querySelector('[data-kpi=total_bookings]')?.textContent === '20',
      undefined,
      { timeout: 80_000 },
    );
    expect(await page.isVisible('#no-figures')).toBe(false);
    expect(await text('#alert')).toBe('');
    await page.waitForSelector('#live[data-state=live]', { timeout: 15_000 });
  }, 120_000);

  it('shows the reporting zone when a zone saved earlier is refused, and marks the zone field', async () => {
    await page.evaluate(() =>
      localStorage.setItem('evently.analytics.prefs', JSON.stringify({ days: 30, tz: 'IST' })),
    );
    await page.reload();
    await page.waitForFunction(
      () => document.querySelector('[data-kpi=total_bookings]')?.textContent === '20',
      undefined,
      { timeout: 15_000 },
    );
    expect(await page.getAttribute('#tz', 'aria-invalid')).toBe('true');
    expect(await page.inputValue('#tz')).toBe('IST');
    const alerts = await page.evaluate(() => (window as unknown as { alerts: string[] }).alerts);
    expect(alerts.some((a) => a.startsWith('tz must be') && a.includes('reporting zone instead'))).toBe(true);
  });

  it('warns in a token’s last minutes that it is about to expire', async () => {
    await page.click('#signout');
    await page.fill('#token', await service.mint({ userId: 6, expiresInSeconds: 240 }));
    await page.click('#signin-form button[type=submit]');
    await page.waitForSelector('[data-kpi=total_bookings]');
    await page.waitForFunction(() => /expires at/.test(document.getElementById('alert')?.textContent ?? ''));
    expect(await text('#alert')).toMatch(
      // After what the alert already says (the zone refused in the last test).
      /(^|\. )Your token expires at .+: to go on after that, sign out and sign in with a new one\.$/,
    );
    // Still signed in, figures on screen.
    expect(await page.isVisible('#dashboard')).toBe(true);
  });

  it('says "Paused" while a live change waits for the request limit, and "Live" once Refresh has loaded it', async () => {
    const token = await service.mint({ userId: 7 });
    // Leave the page a request or two above what it keeps for the admin's own clicks.
    await spendRequests(token, LIMIT - 4);
    // The zone refused two tests ago leaves its field: Refresh below is for the reporting zone.
    await page.fill('#tz', '');
    await page.click('#signout');
    await page.fill('#token', token);
    await page.click('#signin-form button[type=submit]');
    await page.waitForSelector('#live[data-state=live]');
    await page.waitForFunction(
      () => document.querySelector('[data-kpi=total_bookings]')?.textContent === '20',
    );
    await ingest([bookingMessage('BookingCreated', booking(30))]);
    await page.waitForSelector('#live[data-state=paused]');
    expect(await text('#status')).toMatch(/^Live updates resume at .+, to stay within your request limit$/);
    expect(await page.getAttribute('#live', 'title')).toMatch(/request limit/);

    await page.click('#refresh');
    await page.waitForFunction(
      () => document.querySelector('[data-kpi=total_bookings]')?.textContent === '21',
    );
    await page.waitForSelector('#live[data-state=live]', { timeout: 5_000 });
  });
});
