/**
 * Headless Chromium for browser tests, through playwright-core (which ships no browser of its own):
 * the system's Debian `chromium` package. A missing browser is a failure with the install command,
 * never a skipped test.
 *
 * @example
 * const browser = await launchBrowser();
 * try {
 *   const page = await browser.context.newPage();
 *   await page.goto(`${baseUrl}/`);
 * } finally {
 *   await browser.close();
 * }
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'] as const;

export interface LaunchOptions {
  /** Defaults to the first of CHROMIUM_CANDIDATES that exists. */
  readonly executablePath?: string;
  readonly viewport?: { readonly width: number; readonly height: number };
  /** Fixed so that number and date formatting in the page is the same on every machine. */
  readonly locale?: string;
  readonly timezoneId?: string;
  /** The reader's text-size setting (Chromium's default font size, 16 px unless set). */
  readonly defaultFontSize?: number;
}

export interface LaunchedBrowser {
  readonly context: BrowserContext;
  /** Closes the browser and deletes its profile directory. */
  close(): Promise<void>;
}

export function findChromium(): string {
  const found = CHROMIUM_CANDIDATES.find((candidate) => existsSync(candidate));
  if (!found) {
    throw new Error(
      `no Chromium found at ${CHROMIUM_CANDIDATES.join(' or ')}: install it with ` +
        '`apt-get update && apt-get install -y chromium`',
    );
  }
  return found;
}

/** A fresh, isolated browser profile (its own local storage) in headless Chromium. */
export async function launchBrowser(options: LaunchOptions = {}): Promise<LaunchedBrowser> {
  const executablePath = options.executablePath ?? findChromium();
  const profileDir = await mkdtemp(path.join(tmpdir(), 'evently-chromium-'));
  let context: BrowserContext;
  try {
    if (options.defaultFontSize !== undefined) {
      // What Settings > Appearance > Font size writes into the profile.
      await mkdir(path.join(profileDir, 'Default'));
      await writeFile(
        path.join(profileDir, 'Default', 'Preferences'),
        JSON.stringify({ webkit: { webprefs: { default_font_size: options.defaultFontSize } } }),
      );
    }
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      viewport: options.viewport ?? { width: 1280, height: 900 },
      locale: options.locale ?? 'en-US',
      timezoneId: options.timezoneId ?? 'UTC',
    });
  } catch (error) {
    await rm(profileDir, { recursive: true, force: true });
    throw error;
  }
  return {
    context,
    async close() {
      try {
        await context.close();
      } finally {
        await rm(profileDir, { recursive: true, force: true });
      }
    },
  };
}
