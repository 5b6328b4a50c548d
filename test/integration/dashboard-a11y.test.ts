/**
 * The dashboard page for people who do not use a mouse or do not see the screen: axe-core's WCAG 2.2
 * A/AA rules in the page's states, light and dark, desktop and phone; the chart's legend worked from
 * the keyboard; a refused token marked on its field; a title that says where the page is. In a real
 * browser, under the app's own CSP (axe is evaluated through the DevTools protocol, which the CSP
 * does not govern).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { launchBrowser, type LaunchedBrowser } from '../helpers/browser.ts';
import { bookingMessage, eventCreated, jazzBooking, jazzNight } from '../support/messages.ts';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

const HOUR = 3_600_000;
const now = Date.now();
const event = { ...jazzNight(now - 72 * HOUR, now + 30 * 24 * HOUR), category: 'conference' };
const booking = (id: number) => jazzBooking(id, now - 30 * HOUR + id * 60_000);

let service: TestApp;
let browser: LaunchedBrowser;
let baseUrl: string;
let page: Page;

interface Violation {
  id: string;
  impact: string | null;
  nodes: string[];
}

/** axe's WCAG A/AA violations on the page as it is now, with the elements each was found on. */
async function violations(): Promise<Violation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (tags) => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            context: Document,
            options: object,
          ): Promise<{
            violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[];
          }>;
        };
      }
    ).axe;
    // axe's best practices too (landmarks named alike, ...), beyond the success criteria.
    const result = await axe.run(document, { runOnly: { type: 'tag', values: [...tags, 'best-practice'] } });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.map((n) => JSON.stringify(n.target)),
    }));
  }, WCAG_AA);
}

async function signIn(token: string): Promise<void> {
  await page.fill('#token', token);
  await page.click('#signin-form button[type=submit]');
}

beforeAll(async () => {
  service = await startTestApp();
  await service.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}`;
  const { results } = await service.ingest([
    eventCreated(event),
    bookingMessage('BookingCreated', booking(1)),
    bookingMessage('BookingCreated', booking(2)),
    bookingMessage('BookingConfirmed', booking(1), booking(1).createdAt + 5 * 60_000),
    bookingMessage('BookingCancelled', booking(2), booking(2).createdAt + 9 * 60_000),
  ]);
  expect(results.every((r) => r.outcome === 'processed')).toBe(true);
  browser = await launchBrowser();
  page = await browser.context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await service?.close();
});

describe('dashboard accessibility', () => {
  it('has no WCAG A/AA violation on the sign-in form, light or dark, nor once a token is refused', async () => {
    await page.goto(`${baseUrl}/`);
    await page.waitForSelector('#signin:not([hidden])');
    expect(await page.title()).toBe('Sign in – Evently Analytics');
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      expect(await violations(), colorScheme).toEqual([]);
    }

    // Nothing pasted: asked for the token, not told that nothing is not a JWT.
    await signIn('');
    await page.waitForFunction(() =>
      /Paste your admin access token/.test(document.getElementById('alert')?.textContent ?? ''),
    );
    // Not a JWT: the field is marked as what the alert is about, until it is typed in again.
    await signIn('not-a-token');
    await page.waitForFunction(() => /not a JWT/.test(document.getElementById('alert')?.textContent ?? ''));
    expect(await page.getAttribute('#token', 'aria-invalid')).toBe('true');
    expect(await page.getAttribute('#token', 'aria-describedby')).toBe('alert');
    expect(await violations()).toEqual([]);
    await page.type('#token', 'x');
    expect(await page.getAttribute('#token', 'aria-invalid')).toBeNull();

    // A token the service refuses: back on the form, the field marked again.
    await signIn(await service.mint({ role: 'user', userId: 2 }));
    await page.waitForFunction(() => /admin role/.test(document.getElementById('alert')?.textContent ?? ''));
    expect(await page.getAttribute('#token', 'aria-invalid')).toBe('true');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('has no WCAG A/AA violation on the figures, light and dark, desktop and phone', async () => {
    await signIn(service.token);
    await page.waitForSelector('[data-kpi=total_bookings]');
    await page.waitForSelector('#chart canvas');
    expect(await page.title()).toMatch(/^Dashboard, the last 30 days in UTC – Evently Analytics$/);
    for (const viewport of [
      { width: 1280, height: 900 },
      { width: 390, height: 844 },
    ]) {
      await page.setViewportSize(viewport);
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme });
        expect(await violations(), `${viewport.width}px ${colorScheme}`).toEqual([]);
      }
    }
    // On a phone the top-events table keeps every column's content: the category too.
    expect(await page.isVisible('#top-rows tr[data-event-id="7"] .col-category .tag')).toBe(true);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('lets the keyboard hide and show a series of the chart, saying which are shown', async () => {
    const confirmed = page.getByRole('button', { name: 'Confirmed' });
    expect(await confirmed.getAttribute('aria-pressed')).toBe('true');
    // The canvas is an image whose text alternative is the data table.
    expect(await page.getAttribute('#chart canvas', 'role')).toBe('img');
    expect(await page.getAttribute('#chart canvas', 'aria-label')).toMatch(/table/);

    await confirmed.focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () =>
        document.querySelector('#chart [role=button][aria-pressed=false]')?.textContent?.trim() ===
        'Confirmed',
    );
    // uPlot itself hid the series: its legend row is off.
    expect(await page.locator('#chart .u-legend tr.u-off').count()).toBe(1);
    await page.keyboard.press(' ');
    await page.waitForFunction(() => document.querySelectorAll('#chart [aria-pressed=false]').length === 0);
    expect(await page.locator('#chart .u-legend tr.u-off').count()).toBe(0);
  });

  it('follows the reader’s text-size setting: larger text, fewer columns, a chart that grows with its labels', async () => {
    // Chromium's font size set to "very large" (32 px instead of 16).
    const large = await launchBrowser({ defaultFontSize: 32 });
    try {
      const tab = await large.context.newPage();
      await tab.goto(`${baseUrl}/`);
      await tab.fill('#token', service.token);
      await tab.click('#signin-form button[type=submit]');
      await tab.waitForSelector('#chart canvas');
      // Twice the page's usual 15 px.
      expect(await tab.evaluate(() => getComputedStyle(document.documentElement).fontSize)).toBe('30px');
      // Two key-figure cards a row at 1280 px, none cut, nothing scrolling sideways.
      expect(
        await tab.$eval('#kpis', (el) => getComputedStyle(el).gridTemplateColumns.split(' ').length),
      ).toBe(2);
      expect(
        await tab.$$eval('.kpi', (cards) => cards.filter((c) => c.scrollWidth > c.clientWidth).length),
      ).toBe(0);
      expect(await tab.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      // The chart is half as tall again, for its labels at twice their size.
      expect(await tab.$eval('#chart .u-wrap', (el) => el.getBoundingClientRect().height)).toBe(450);
    } finally {
      await large.close();
    }
  });
});
