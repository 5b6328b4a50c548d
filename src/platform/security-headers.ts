/**
 * Security headers on every response, in two sets:
 *
 * - pages (the dashboard at `/` and its assets, the interactive docs under `/docs`): helmet's
 *   defaults with the content security policy given in the options;
 * - everything else (the JSON/CSV API, problem details, health, metrics): the set the OWASP REST
 *   Security Cheat Sheet recommends for APIs, stricter and shorter (a response that is never
 *   rendered as a document needs no DNS-prefetch, download or cross-domain-policy headers, and its
 *   policy allows nothing to load at all).
 *
 * helmet is a Connect middleware that works its options out again on each call; the headers it
 * sets depend only on those options, so they are worked out once here, by running it against a
 * recording response at start-up, and each request just copies them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';

export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

/** The headers helmet would set with these options (names as helmet spells them). */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name];
    },
  };
  // helmet throws on bad options (the callback is only there for Connect's signature).
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => {});
  return headers;
}

/** Routes that serve documents a browser renders. */
function isPage(request: FastifyRequest): boolean {
  const url = request.routeOptions.url;
  return url !== undefined && (url === '/' || url.startsWith('/dashboard/') || url.startsWith('/docs'));
}

export interface SecurityHeadersOptions {
  /** helmet's options for pages. */
  page: HelmetOptions;
}

export const securityHeaders = fp<SecurityHeadersOptions>(
  async (app, options) => {
    const page = helmetHeaders(options.page);
    app.addHook('onRequest', (request, reply, done) => {
      void reply.headers(isPage(request) ? page : API_SECURITY_HEADERS);
      done();
    });
  },
  { name: 'security-headers' },
);
