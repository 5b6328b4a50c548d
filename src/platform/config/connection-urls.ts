/** The connection URLs of PostgreSQL and Redis, from a URL or from its parts, checked. */
import { isIP } from 'node:net';
import type { Reader } from './reader.ts';

/**
 * An empty host followed by a path is how a Unix socket is named
 * (`postgres://user@/db?host=/var/run/postgresql`): the driver takes it (and only that form), the
 * WHATWG parser does not once there are credentials. A stand-in host lets the parser read the rest.
 */
function withSocketHost(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^/?#]*@)(?=\/)/i, '$1localhost');
}

/**
 * Whether a connection URL parses; the problem never quotes it (it may hold a password). Characters
 * a password may hold that a URL may not (`/ ? # @ :`) must be percent-encoded: an unencoded `#`
 * would still parse, the rest of the password taken for a fragment and a part for the host.
 */
function checkUrl(r: Reader, keys: string, url: string): URL | undefined {
  const readable = withSocketHost(url);
  const parsed = URL.canParse(readable) && !url.includes('#') ? new URL(readable) : undefined;
  if (!parsed) {
    r.problems.push(
      `${keys} is not a valid URL (check the host and port; percent-encode / ? # @ : in a user name or password)`,
    );
    return undefined;
  }
  return parsed;
}

const DB_PARTS = ['DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER', 'DB_PASSWORD'] as const;
const REDIS_PARTS = ['REDIS_HOST', 'REDIS_PORT', 'REDIS_PASSWORD', 'REDIS_USE_TLS'] as const;

const isAre = (keys: readonly string[]): string => (keys.length === 1 ? 'is' : 'are');

const ignoredNotice = (url: string, keys: string[]): string =>
  `${url} is set, so ${keys.join(', ')} ${isAre(keys)} ignored`;

/** A host as a URL writes it: an IPv6 address in brackets. */
const urlHost = (host: string): string => (isIP(host) === 6 ? `[${host}]` : host);

/**
 * Parts set without the host they belong to are not used: the service runs on the embedded store
 * or bus. A password means a server was meant, and is refused; the others (template defaults such
 * as `DB_PORT=5432`, the `REDIS_PORT=tcp://…` Kubernetes sets for a Service named `redis`) are
 * named in a warning. `REDIS_USE_TLS=false` asks for nothing.
 */
function partsWithoutHost(
  r: Reader,
  notices: string[],
  url: string,
  host: string,
  parts: readonly string[],
): void {
  const set = r.present(parts).filter((key) => key !== 'REDIS_USE_TLS' || r.bool(key));
  const passwords = set.filter((key) => key.endsWith('_PASSWORD'));
  const problem = `set but ${host} is not: set ${host} (or ${url}) to use that server, or unset`;
  if (passwords.length > 0) r.problems.push(`${passwords.join(', ')} ${isAre(passwords)} ${problem} it`);
  const others = set.filter((key) => !key.endsWith('_PASSWORD'));
  if (others.length > 0)
    notices.push(
      `${others.join(', ')} ${isAre(others)} ${problem} them to silence this (not used meanwhile)`,
    );
}

export function databaseUrlFrom(r: Reader, notices: string[]): string | undefined {
  const url = r.optional('DATABASE_URL');
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url))
      r.problems.push('DATABASE_URL must start with postgres:// or postgresql://');
    else checkUrl(r, 'DATABASE_URL', url);
    const ignored = r.present(DB_PARTS);
    if (ignored.length > 0) notices.push(ignoredNotice('DATABASE_URL', ignored));
    return url;
  }
  const host = r.optional('DB_HOST');
  if (!host) {
    partsWithoutHost(r, notices, 'DATABASE_URL', 'DB_HOST', DB_PARTS);
    return undefined;
  }
  const port = r.int('DB_PORT', 5432, 1, 65535);
  const name = r.str('DB_NAME', 'evently_analytics');
  const user = r.str('DB_USER', 'postgres');
  const password = r.optional('DB_PASSWORD');
  const auth = password
    ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}`
    : encodeURIComponent(user);
  const built = `postgresql://${auth}@${urlHost(host)}:${port}/${encodeURIComponent(name)}`;
  checkUrl(r, 'DB_HOST', built);
  return built;
}

export function redisUrlFrom(r: Reader, notices: string[]): string | undefined {
  const url = r.optional('REDIS_URL');
  if (url) {
    if (!/^rediss?:\/\//.test(url)) r.problems.push('REDIS_URL must start with redis:// or rediss://');
    else {
      const parsed = checkUrl(r, 'REDIS_URL', url);
      // The path is the database number: ioredis would crash on `/abc` and quietly take db 0 for more.
      if (parsed && !/^\/?(\d{1,5})?$/.test(parsed.pathname))
        r.problems.push('REDIS_URL may only name a database number after the host (redis://host:6379/2)');
    }
    const tls = r.has('REDIS_USE_TLS') ? r.bool('REDIS_USE_TLS') : undefined;
    // Asked for TLS and given a plain URL: refused rather than connect in the clear.
    if (tls === true && url.startsWith('redis://'))
      r.problems.push('REDIS_USE_TLS asks for TLS but REDIS_URL is redis://: write rediss:// for TLS');
    const ignored = r.present(['REDIS_HOST', 'REDIS_PORT', 'REDIS_PASSWORD']);
    if (tls === false && url.startsWith('rediss://')) ignored.push('REDIS_USE_TLS');
    if (ignored.length > 0) notices.push(ignoredNotice('REDIS_URL', ignored));
    return url;
  }
  const host = r.optional('REDIS_HOST');
  if (!host) {
    partsWithoutHost(r, notices, 'REDIS_URL', 'REDIS_HOST', REDIS_PARTS);
    return undefined;
  }
  const port = r.int('REDIS_PORT', 6379, 1, 65535);
  const password = r.optional('REDIS_PASSWORD');
  const scheme = r.bool('REDIS_USE_TLS') ? 'rediss' : 'redis';
  const auth = password ? `:${encodeURIComponent(password)}@` : '';
  const built = `${scheme}://${auth}${urlHost(host)}:${port}`;
  checkUrl(r, 'REDIS_HOST', built);
  return built;
}

/**
 * A connection URL fit for /info: scheme, host, port and database only. The user, the password and
 * the query string (where drivers also take `password=`, `sslkey=`, ...) are left out.
 */
export function redactUrl(url: string): string {
  try {
    const socket = withSocketHost(url) !== url;
    const parsed = new URL(withSocketHost(url));
    return `${parsed.protocol}//${socket ? '' : parsed.host}${parsed.pathname}`;
  } catch {
    return '***';
  }
}
