/**
 * /docs in headless Chromium against the real app: Swagger UI renders from the service's own files
 * (no CDN) and lists every endpoint of api.md.
 */
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { launchBrowser, type LaunchedBrowser } from '../helpers/browser.ts';

const BASE = '/api/v1/analytics';
const API_PATHS = [
  `${BASE}/dashboard`,
  `${BASE}/events`,
  `${BASE}/events/{event_id}`,
  `${BASE}/daily`,
  `${BASE}/booking-trends`,
  `${BASE}/revenue`,
  `${BASE}/capacity`,
  `${BASE}/top-events`,
  `${BASE}/system`,
  `${BASE}/overview`,
  `${BASE}/stream`,
  `${BASE}/ingest`,
  `${BASE}/dead-letters`,
  `${BASE}/dead-letters/{id}/retry`,
  `${BASE}/rebuild`,
  `${BASE}/cache/clear`,
  '/health',
  '/health/live',
  '/health/ready',
  '/info',
  '/metrics',
];

let service: TestApp;
let browser: LaunchedBrowser;
let page: Page;
let origin: string;
const requested: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  service = await startTestApp();
  await service.app.listen({ port: 0, host: '127.0.0.1' });
  origin = `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}`;
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('request', (request) => requested.push(request.url()));
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
});

afterAll(async () => {
  await browser?.close();
  await service?.close();
});

describe('GET /docs', () => {
  it('renders Swagger UI listing every endpoint of api.md', async () => {
    const response = await page.goto(`${origin}/docs`);
    expect(response?.status()).toBe(200);
    await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 });

    const listed = await page.$$eval('.opblock-summary-path', (nodes) =>
      nodes.map((n) => n.getAttribute('data-path')),
    );
    expect(API_PATHS.filter((path) => !listed.includes(path))).toEqual([]);
    expect(await page.textContent('.info .title')).toContain('Evently Analytics API');
  });

  it('shows a documented example payload when an operation is opened', async () => {
    await page.click(`.opblock-summary-path[data-path="${BASE}/system"]`);
    await page.waitForSelector(
      '.opblock.is-open .responses-wrapper .highlight-code, .opblock.is-open .responses-wrapper .microlight',
    );
    const responses = (await page.textContent('.opblock.is-open .responses-wrapper')) ?? '';
    expect(responses).toContain('avg_capacity_utilization');
    expect(responses).toContain('system_uptime');
  });

  it('loads nothing from any host but the service itself, without a script error', () => {
    expect(requested.length).toBeGreaterThan(3);
    expect(requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
