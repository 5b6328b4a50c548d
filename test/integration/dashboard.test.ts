/**
 * The dashboard page in a real browser against the real app: sign-in, the figures of ingested
 * data, the chart, and live updates through the SSE stream. Runs under the app's own helmet CSP,
 * so a violation (an inline script or style) fails the test.
 */
import type { AddressInfo } from 'node:net';
import type { ConsoleMessage, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { launchBrowser, type LaunchedBrowser } from '../helpers/browser.ts';
import { bookingMessage, eventCreated, jazzBooking, jazzNight } from '../support/messages.ts';

const HOUR = 3_600_000;
const now = Date.now();
const event = jazzNight(now - 72 * HOUR, now + 30 * 24 * HOUR);
const booking = (id: number) => jazzBooking(id, now - HOUR + id * 60_000);

let service: TestApp;
let browser: LaunchedBrowser;
let baseUrl: string;
let page: Page;
const pageErrors: string[] = [];

/** Ingests through the HTTP batch endpoint; every message must be processed. Returns the data version. */
async function ingest(messages: string[]): Promise<number> {
  const { results, dataVersion } = await service.ingest(messages);
  expect(results.map((r) => r.outcome)).toEqual(messages.map(() => 'processed'));
  return dataVersion;
}

const text = async (selector: string) => ((await page.textContent(selector)) ?? '').trim();

async function signIn(token: string): Promise<void> {
  await page.fill('#token', token);
  await page.click('#signin-form button[type=submit]');
}

function recordProblems(message: ConsoleMessage): void {
  if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) {
    pageErrors.push(message.text());
  }
}

beforeAll(async () => {
  service = await startTestApp();
  await service.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}`;
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('console', recordProblems);
  page.on('pageerror', (error) => pageErrors.push(error.message));
});

afterAll(async () => {
  // The browser first: its open SSE connection would otherwise hold the server's close.
  await browser?.close();
  await service?.close();
});

describe('dashboard page', () => {
  it('sends a token without the admin role back to the sign-in form with the problem detail', async () => {
    await page.goto(`${baseUrl}/`);
    await page.waitForSelector('#signin:not([hidden])');

    await signIn(await service.mint({ role: 'user', userId: 2 }));

    await page.waitForFunction(() => (document.getElementById('alert')?.textContent ?? '') !== '');
    expect(await page.isVisible('#signin')).toBe(true);
    expect(await page.isVisible('#dashboard')).toBe(false);
    expect(await page.evaluate(() => localStorage.getItem('evently.analytics.token'))).toBeNull();
    expect(await text('#alert')).not.toMatch(/\bat \S+:\d+|Error:/);

    // A refused token never replaces the session another tab keeps.
    const kept = service.token;
    await page.evaluate((token) => localStorage.setItem('evently.analytics.token', token), kept);
    await signIn(await service.mint({ role: 'user', userId: 3 }));
    await page.waitForFunction(() => /admin role/.test(document.getElementById('alert')?.textContent ?? ''));
    expect(await page.evaluate(() => localStorage.getItem('evently.analytics.token'))).toBe(kept);
    await page.evaluate(() => localStorage.removeItem('evently.analytics.token'));
  });

  it('shows the figures of the ingested data after sign-in, with a drawn chart', async () => {
    const version = await ingest([
      eventCreated(event),
      bookingMessage('BookingCreated', booking(1)),
      bookingMessage('BookingCreated', booking(2)),
      bookingMessage('BookingConfirmed', booking(1), booking(1).createdAt + 5 * 60_000),
    ]);

    await signIn(service.token);
    await page.waitForSelector('[data-kpi=total_bookings]');

    expect(await text('#alert')).toBe('');
    expect(await text('[data-kpi=total_events]')).toBe('1');
    expect(await text('[data-kpi=total_bookings]')).toBe('2');
    expect(await text('[data-kpi=total_users]')).toBe('2');
    expect(await text('[data-kpi=total_revenue]')).toBe('80.00');
    expect(await text('[data-kpi=recent_bookings]')).toBe('2');
    // 4 seats held of 500, nothing cancelled, and no earlier window to compare the growth with.
    expect(await text('[data-kpi=avg_capacity_utilization]')).toBe('0.80%');
    expect(await text('[data-kpi=avg_cancellation_rate]')).toBe('0.00%');
    expect(await text('[data-kpi=booking_growth_rate]')).toContain('—');
    expect(Number((await text('#meta-version')).replaceAll(',', ''))).toBeGreaterThanOrEqual(version);
    expect(await text('#top-rows tr[data-event-id="7"] th')).toBe('Jazz Night');

    // The chart: one point per day of the 30-day window, drawn on a canvas that is not blank.
    expect(await page.getAttribute('#chart', 'data-points')).toBe('30');
    const drawn = await page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>('#chart canvas');
      if (!canvas || canvas.width === 0 || canvas.height === 0) return 0;
      const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? [];
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) painted++;
      return painted;
    });
    expect(drawn).toBeGreaterThan(100);
    const newBookings = await page.$$eval('#daily-rows tr td:nth-child(2)', (cells) =>
      cells.reduce((sum, cell) => sum + Number(cell.textContent), 0),
    );
    expect(newBookings).toBe(2);
  });

  it('updates the figures live through the stream when a later batch is ingested', async () => {
    await page.waitForSelector('#live[data-state=live]');
    // Survives only if the page is updated in place, not reloaded.
    await page.evaluate(() => document.body.setAttribute('data-marker', 'before-ingest'));

    const version = await ingest([
      bookingMessage('BookingCreated', booking(3)),
      bookingMessage('BookingConfirmed', booking(3), booking(3).createdAt + 60_000),
    ]);

    await page.waitForFunction(
      () => document.querySelector('[data-kpi=total_bookings]')?.textContent === '3',
      undefined,
      { timeout: 15_000 },
    );
    expect(await text('[data-kpi=total_revenue]')).toBe('160.00');
    expect(await text('[data-kpi=total_users]')).toBe('3');
    expect(Number((await text('#meta-version')).replaceAll(',', ''))).toBeGreaterThanOrEqual(version);
    expect(await page.getAttribute('body', 'data-marker')).toBe('before-ingest');
  });

  it('draws the chart again in the dark colours when the system turns dark, keeping a hidden series hidden', async () => {
    const marker = () =>
      page.$eval('.u-legend tr.u-series:nth-child(2) .u-marker', (m) => getComputedStyle(m).borderColor);
    const revenueToggle = '.u-legend tr.u-series:nth-child(5) th';
    const light = await marker();
    // The legend marks a toggle pressed or not just after uPlot has handled the click.
    const pressedIs = (value: 'true' | 'false') =>
      page.waitForSelector(`${revenueToggle}[aria-pressed=${value}]`);
    await page.click(revenueToggle);
    await pressedIs('false');
    try {
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.waitForFunction((before) => {
        const m = document.querySelector('.u-legend tr.u-series:nth-child(2) .u-marker');
        return m !== null && getComputedStyle(m).borderColor !== before;
      }, light);
      expect(await page.getAttribute(revenueToggle, 'aria-pressed')).toBe('false');
    } finally {
      await page.emulateMedia({ colorScheme: 'light' });
      await page.waitForFunction((before) => {
        const m = document.querySelector('.u-legend tr.u-series:nth-child(2) .u-marker');
        return m !== null && getComputedStyle(m).borderColor === before;
      }, light);
      await page.click(revenueToggle);
    }
    await pressedIs('true');
  });

  it('names the base currency by every money figure and the reporting zone in the zone field', async () => {
    await page.waitForFunction(() =>
      document.querySelector('#tz')?.getAttribute('placeholder')?.includes('UTC'),
    );
    expect(await page.getAttribute('#tz', 'placeholder')).toBe('Server default (UTC)');
    expect(await text('[data-kpi=total_revenue]')).toBe('160.00');
    const labels = await page.$$eval('.kpi__label', (nodes) => nodes.map((n) => n.textContent?.trim()));
    expect(labels).toContain('Total revenue (USD)');
    expect(labels).toContain('Revenue, last 30 days (USD)');
    expect(labels).toContain('Bookings');
    expect(await text('#top-table thead .col-revenue')).toBe('Revenue (USD)');
    expect(await text('#revenue-sub')).toBe('Last 30 days · USD');
    expect(await text('#meta-as-of')).toMatch(/ \(UTC\)$/);
  });

  it('gives an event’s name a line of its own on a phone instead of squeezing it beside the figures', async () => {
    const before = page.viewportSize();
    await page.setViewportSize({ width: 375, height: 800 });
    try {
      const share = await page.$eval('#top-rows tr[data-event-id="7"]', (row) => {
        const name = row.querySelector('.event-name')?.getBoundingClientRect().width ?? 0;
        return name / row.getBoundingClientRect().width;
      });
      expect(share).toBeGreaterThan(0.9);
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    } finally {
      if (before) await page.setViewportSize(before);
    }
  });

  it('says within seconds that the service cannot be reached, keeps the figures, and comes back by itself', async () => {
    await page.waitForSelector('#live[data-state=live]');
    // The service goes away: its open connections drop and new ones are refused.
    let streamAttempts = 0;
    await page.route('**/api/v1/analytics/**', (route) => {
      if (new URL(route.request().url()).pathname.endsWith('/stream')) streamAttempts += 1;
      return route.abort('connectionrefused');
    });
    service.app.server.closeAllConnections();
    // Five seconds after the stream dropped, and not its first reconnection attempts.
    await page.waitForSelector('#live[data-state=offline]', { timeout: 7_500 });
    // It stays so while the service is away: the browser's next attempts to reconnect are not news.
    await page.evaluate(() => {
      const badge = document.querySelector('#live') as HTMLElement;
      const seen: string[] = [];
      Object.assign(window, { badgeStates: seen });
      new MutationObserver(() => {
        const state = badge.dataset.state ?? '';
        if (state !== (seen.at(-1) ?? 'offline')) seen.push(state);
      }).observe(badge, {
        attributeFilter: ['data-state'],
      });
    });
    const attemptsWhenOffline = streamAttempts;
    await expect.poll(() => streamAttempts, { timeout: 20_000 }).toBeGreaterThan(attemptsWhenOffline);
    await page.waitForTimeout(1_000);
    expect(await page.evaluate(() => (window as unknown as { badgeStates: string[] }).badgeStates)).toEqual(
      [],
    );
    await page.waitForFunction(
      () => /Could not reach/.test(document.querySelector('#alert')?.textContent ?? ''),
      undefined,
      { timeout: 20_000 },
    );
    expect(await text('#status')).toMatch(/^Figures shown are from /);
    expect(await text('[data-kpi=total_bookings]')).toBe('3');

    await page.unroute('**/api/v1/analytics/**');
    await page.waitForSelector('#live[data-state=live]', { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector('#alert')?.textContent === '', undefined, {
      timeout: 30_000,
    });
    expect(await text('#status')).toMatch(/^Updated /);
  });

  it('signs out every open tab when one signs out, and signs them in again with the next sign-in', async () => {
    const other = await browser.context.newPage();
    try {
      await other.goto(`${baseUrl}/`);
      await other.waitForSelector('[data-kpi=total_bookings]');
      await page.click('#signout');
      await other.waitForSelector('#signin:not([hidden])', { timeout: 5_000 });
      expect(await other.isVisible('#dashboard')).toBe(false);
      expect(((await other.textContent('#alert')) ?? '').trim()).toBe('Signed out in another tab.');

      await signIn(service.token);
      await other.waitForSelector('#dashboard:not([hidden])', { timeout: 5_000 });
      await page.waitForSelector('[data-kpi=total_bookings]');
    } finally {
      await other.close();
    }
  });

  it('keeps a token the service took though its first answer failed, so a reload stays signed in', async () => {
    await page.click('#signout');
    await page.route('**/api/v1/analytics/dashboard*', (route) =>
      route.fulfill({
        status: 503,
        headers: { 'content-type': 'application/problem+json', 'retry-after': '1' },
        body: JSON.stringify({
          status: 503,
          title: 'Service Unavailable',
          detail: 'a dependency is unavailable',
        }),
      }),
    );
    try {
      await signIn(service.token);
      await page.waitForFunction(() =>
        /Trying again at/.test(document.getElementById('alert')?.textContent ?? ''),
      );
      expect(await page.evaluate(() => localStorage.getItem('evently.analytics.token'))).toBe(service.token);
    } finally {
      await page.unroute('**/api/v1/analytics/dashboard*');
    }
    await page.reload();
    await page.waitForSelector('[data-kpi=total_bookings]');
  });

  it('refuses an unknown zone without keeping it for the next visit', async () => {
    await page.fill('#tz', 'Mars/Olympus');
    await page.press('#tz', 'Enter');
    await page.waitForFunction(() => /tz must be/.test(document.querySelector('#alert')?.textContent ?? ''));
    // The refused zone stays in its field to be corrected, marked; the figures keep their own zone.
    expect(await page.getAttribute('#tz', 'aria-invalid')).toBe('true');
    expect(await text('#alert')).toMatch(/Still showing the last 30 days in UTC\./);
    await page.reload();
    await page.waitForFunction(
      () => document.querySelector('[data-kpi=total_bookings]')?.textContent === '3',
    );
    expect(await page.inputValue('#tz')).not.toBe('Mars/Olympus');
    expect(await text('#alert')).toBe('');
  });

  it('runs under the app’s Content-Security-Policy without a violation or a script error', () => {
    expect(pageErrors).toEqual([]);
  });
});
