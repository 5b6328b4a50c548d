/**
 * The methods each path is served with, so a request for a path that exists, with a method it is
 * not served with, gets 405 and `Allow` (RFC 9110, section 15.5.6) rather than a 404 saying there
 * is no such route. Route patterns are collected as routes are added: `:name` matches one
 * non-empty segment, `*` the rest of the path. The catch-all `*` route CORS adds for preflight
 * requests is left out: it would make every path look served.
 */
export interface MethodIndex {
  /** For Fastify's onRoute hook. */
  add(route: { url: string; method: string | readonly string[] }): void;
  /** The methods `path` (no query string) is served with, sorted; empty when none. */
  allowed(path: string): string[];
}

function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) return '[^/]+';
      if (segment === '*') return '.*';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * @example
 * const index = createMethodIndex();
 * app.addHook('onRoute', (route) => index.add(route));
 * index.allowed('/api/v1/analytics/events/7'); // ['GET', 'HEAD']
 */
export function createMethodIndex(): MethodIndex {
  const routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  return {
    add({ url, method }) {
      if (url === '*' || url === '/*') return;
      let route = routes.get(url);
      if (!route) {
        route = { pattern: patternOf(url), methods: new Set() };
        routes.set(url, route);
      }
      for (const m of typeof method === 'string' ? [method] : method) route.methods.add(m.toUpperCase());
    },
    allowed(path) {
      const methods = new Set<string>();
      for (const { pattern, methods: served } of routes.values())
        if (pattern.test(path)) for (const m of served) methods.add(m);
      return [...methods].sort();
    },
  };
}
