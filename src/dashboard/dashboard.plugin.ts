/**
 * The admin dashboard page: `GET /` and its static assets under `/dashboard/assets/*`.
 *
 * The page is plain HTML/CSS/JS (no build step) from `public/`, plus uPlot's prebuilt files from
 * the installed `uplot` package, so nothing is loaded from a CDN. Every file is read once when the
 * plugin registers and served from memory: the set is small and fixed, and an allowlist means no
 * request path ever reaches the file system.
 *
 * Caching: the HTML is `no-cache`; it links each asset with `?v=<content hash>`, and a request
 * carrying the current hash is cacheable for a year (`immutable`). Any other request for an asset
 * (e.g. the ES module imports inside app.js) is revalidated through its ETag.
 *
 * CSP: the page has no inline script or style, so helmet's default policy (`script-src 'self'`)
 * works. When no policy was set upstream (helmet not registered) the page sets a strict one itself.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
// For its typing of `schema.hide`, which keeps these routes out of the OpenAPI document.
import type {} from '@fastify/swagger';

export const ASSET_PREFIX = '/dashboard/assets/';

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Used only when nothing upstream (helmet) set a policy; mirrors helmet's default, minus inline styles. */
const FALLBACK_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self'",
].join('; ');

interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly hash: string;
  readonly etag: string;
}

/** Served name → file on disk. Our own files first, then uPlot's dist files. */
function assetSources(): ReadonlyMap<string, string> {
  const uplotDist = path.join(
    path.dirname(createRequire(import.meta.url).resolve('uplot/package.json')),
    'dist',
  );
  return new Map([
    ['app.js', path.join(PUBLIC_DIR, 'app.js')],
    ['api.js', path.join(PUBLIC_DIR, 'api.js')],
    ['chart.js', path.join(PUBLIC_DIR, 'chart.js')],
    ['format.js', path.join(PUBLIC_DIR, 'format.js')],
    ['messages.js', path.join(PUBLIC_DIR, 'messages.js')],
    ['pacing.js', path.join(PUBLIC_DIR, 'pacing.js')],
    ['prefs.js', path.join(PUBLIC_DIR, 'prefs.js')],
    ['reloads.js', path.join(PUBLIC_DIR, 'reloads.js')],
    ['expiry.js', path.join(PUBLIC_DIR, 'expiry.js')],
    ['render.js', path.join(PUBLIC_DIR, 'render.js')],
    ['app.css', path.join(PUBLIC_DIR, 'app.css')],
    ['favicon.svg', path.join(PUBLIC_DIR, 'favicon.svg')],
    ['uPlot.iife.min.js', path.join(uplotDist, 'uPlot.iife.min.js')],
    ['uPlot.min.css', path.join(uplotDist, 'uPlot.min.css')],
  ]);
}

function toAsset(body: Buffer, file: string): Asset {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  return {
    body,
    contentType: CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
    hash,
    etag: `"${hash}"`,
  };
}

async function loadAssets(): Promise<ReadonlyMap<string, Asset>> {
  const entries = await Promise.all(
    [...assetSources()].map(async ([name, file]) => [name, toAsset(await readFile(file), file)] as const),
  );
  return new Map(entries);
}

/** Points every `/dashboard/assets/<name>` link in the page at `?v=<hash>` of that asset. */
function versionLinks(html: string, assets: ReadonlyMap<string, Asset>): string {
  return html.replace(/(["'])\/dashboard\/assets\/([\w.-]+)\1/g, (match, quote: string, name: string) => {
    const asset = assets.get(name);
    return asset ? `${quote}${ASSET_PREFIX}${name}?v=${asset.hash}${quote}` : match;
  });
}

function notModified(request: FastifyRequest, etag: string): boolean {
  const header = request.headers['if-none-match'];
  return header !== undefined && header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset, cacheControl: string) {
  reply
    .header('Cache-Control', cacheControl)
    .header('ETag', asset.etag)
    .header('X-Content-Type-Options', 'nosniff');
  if (notModified(request, asset.etag)) return reply.code(304).send();
  return reply.type(asset.contentType).send(asset.body);
}

export default fp(
  async (app) => {
    const assets = await loadAssets();
    const html = await readFile(path.join(PUBLIC_DIR, 'index.html'), 'utf8');
    const page = toAsset(Buffer.from(versionLinks(html, assets)), 'index.html');

    app.get('/', { schema: { hide: true } }, (request, reply) => {
      if (reply.getHeader('content-security-policy') === undefined) {
        reply.header('Content-Security-Policy', FALLBACK_CSP);
      }
      reply.header('Referrer-Policy', 'no-referrer');
      return send(request, reply, page, 'no-cache');
    });

    app.get<{ Params: { name: string }; Querystring: { v?: unknown } }>(
      `${ASSET_PREFIX}:name`,
      { schema: { hide: true } },
      (request, reply) => {
        const asset = assets.get(request.params.name);
        if (!asset) {
          return reply.callNotFound();
        }
        const versioned = request.query.v === asset.hash;
        return send(request, reply, asset, versioned ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    );
  },
  { name: 'dashboard', fastify: '5.x' },
);
