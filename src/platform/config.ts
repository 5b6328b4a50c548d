/**
 * The one place that reads `process.env` (and Zero). Everything is validated at start; every bad
 * key is reported in one error so an operator fixes them all at once.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { isValidTimeZone } from '../aggregate/time.ts';

export type Role = 'api' | 'worker' | 'all';
export type JwtAlgorithm = 'HS256' | 'HS384' | 'HS512';

export interface Config {
  readonly role: Role;
  readonly host: string;
  readonly port: number;
  /** undefined: embedded PGlite under dataDir. */
  readonly databaseUrl: string | undefined;
  /** undefined: in-process bus and cache stand in for Redis. */
  readonly redisUrl: string | undefined;
  readonly dataDir: string;
  /**
   * Embedded mode: below this much free space on DATA_DIR's disk the store takes no writes (ingest
   * answers 503). PGlite hangs for good, taking the process with it, on a write the disk refuses.
   */
  readonly embeddedMinFreeMb: number;
  readonly jwt: {
    readonly secret: string;
    readonly algorithm: JwtAlgorithm;
    readonly expiryMinutes: number;
    /** True when the secret is a development secret kept under DATA_DIR (embedded mode only). */
    readonly generated: boolean;
    /** True when that secret was created by this start (false: an earlier start's was read). */
    readonly createdNow: boolean;
  };
  readonly corsOrigins: readonly string[];
  readonly cacheTtlSeconds: number;
  readonly batchSize: number;
  readonly reportingTimezone: string;
  readonly baseCurrency: string;
  readonly streamKey: string;
  readonly consumerGroup: string;
  readonly channelPattern: string;
  /**
   * Requests per user per window. `ingestMax` is POST /ingest's own budget (0: unlimited), apart
   * from `max`, so producers and back-fills do not use up the readers' requests, nor they theirs.
   */
  readonly rateLimit: { readonly max: number; readonly windowMinutes: number; readonly ingestMax: number };
  readonly logLevel: string;
  readonly eventRetentionDays: number | undefined;
  readonly consumerName: string;
  /** Fastify's trustProxy: false, true, a hop count or a list of addresses/CIDRs. */
  readonly trustProxy: boolean | number | string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** Secrets fetched from Zero use lower-case hyphenated names (`db-host`); map them to env names. */
export function zeroSecretsToEnv(secrets: Record<string, Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const group of Object.values(secrets)) {
    for (const [key, value] of Object.entries(group)) {
      out[key.toUpperCase().replaceAll('-', '_')] = value;
    }
  }
  return out;
}

/**
 * Fetches secrets from Zero when ZERO_TOKEN is set. The environment wins over Zero for the same key.
 * Zero out of reach stops the start: whatever the environment holds, the settings that live in
 * Zero (the database's, say) would be missing, and the service would quietly run on something else
 * (an empty embedded store). `fetchZero` is injectable so tests need no network.
 */
export async function resolveEnv(
  env: Env,
  fetchZero: (token: string) => Promise<Record<string, Record<string, string>>> = defaultZeroFetch,
): Promise<Env> {
  const token = env.ZERO_TOKEN;
  if (!token) return env;
  let fromZero: Record<string, string>;
  try {
    fromZero = zeroSecretsToEnv(await fetchZero(token));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError([
      `ZERO_TOKEN is set but Zero could not be reached (${reason}); the settings kept there are unknown. ` +
        'Retry when Zero answers, or unset ZERO_TOKEN to run from the environment alone',
    ]);
  }
  return { ...fromZero, ...env };
}

async function defaultZeroFetch(token: string): Promise<Record<string, Record<string, string>>> {
  const { zero } = await import('@zerosecrets/zero');
  const secrets = await zero({ token, pick: ['evently'], callerName: 'evently-analytics' }).fetch();
  const out: Record<string, Record<string, string>> = {};
  for (const [group, values] of Object.entries(secrets)) if (values) out[group] = values;
  return out;
}

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  str(key: string, fallback: string): string {
    const value = this.env[key];
    return value === undefined || value === '' ? fallback : value;
  }

  optional(key: string): string | undefined {
    const value = this.env[key];
    return value === undefined || value === '' ? undefined : value;
  }

  int(key: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(key);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${key} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  bool(key: string): boolean {
    const raw = this.optional(key);
    if (raw === undefined) return false;
    if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
    this.problems.push(`${key} must be true or false (got "${raw}")`);
    return false;
  }
}

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
 * a password may hold that a URL may not (`/ ? # @ :`) must be percent-encoded.
 */
function checkUrl(r: Reader, keys: string, url: string): void {
  if (!URL.canParse(withSocketHost(url)))
    r.problems.push(
      `${keys} is not a valid URL (check the host and port; percent-encode / ? # @ : in a user name or password)`,
    );
}

function databaseUrlFrom(r: Reader): string | undefined {
  const url = r.optional('DATABASE_URL');
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url))
      r.problems.push('DATABASE_URL must start with postgres:// or postgresql://');
    else checkUrl(r, 'DATABASE_URL', url);
    return url;
  }
  const host = r.optional('DB_HOST');
  if (!host) return undefined;
  const port = r.int('DB_PORT', 5432, 1, 65535);
  const name = r.str('DB_NAME', 'evently_analytics');
  const user = r.str('DB_USER', 'postgres');
  const password = r.optional('DB_PASSWORD');
  const auth = password
    ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}`
    : encodeURIComponent(user);
  const built = `postgresql://${auth}@${host}:${port}/${encodeURIComponent(name)}`;
  checkUrl(r, 'DB_HOST', built);
  return built;
}

function redisUrlFrom(r: Reader): string | undefined {
  const url = r.optional('REDIS_URL');
  if (url) {
    if (!/^rediss?:\/\//.test(url)) r.problems.push('REDIS_URL must start with redis:// or rediss://');
    else checkUrl(r, 'REDIS_URL', url);
    return url;
  }
  const host = r.optional('REDIS_HOST');
  if (!host) return undefined;
  const port = r.int('REDIS_PORT', 6379, 1, 65535);
  const password = r.optional('REDIS_PASSWORD');
  const scheme = r.bool('REDIS_USE_TLS') ? 'rediss' : 'redis';
  const auth = password ? `:${encodeURIComponent(password)}@` : '';
  const built = `${scheme}://${auth}${host}:${port}`;
  checkUrl(r, 'REDIS_HOST', built);
  return built;
}

/** TRUST_PROXY: unset/false, true, a hop count, or comma-separated addresses/CIDRs of the proxies. */
function trustProxyFrom(r: Reader): boolean | number | string[] {
  const raw = r.optional('TRUST_PROXY');
  if (raw === undefined || raw.toLowerCase() === 'false') return false;
  if (raw.toLowerCase() === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  const proxies = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = proxies.filter((p) => !isProxyAddress(p));
  if (bad.length > 0 || proxies.length === 0)
    r.problems.push(
      `TRUST_PROXY must be true, false, a hop count or addresses/CIDRs of the proxies (got "${bad.join(', ') || raw}")`,
    );
  return proxies;
}

/** What Fastify's trustProxy takes in a list: an address, a CIDR, or a named range. */
function isProxyAddress(text: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(text)) return true;
  const [address = '', prefix, ...rest] = text.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  // A prefix length, or a netmask written as an address of the same version (10.0.0.0/255.0.0.0).
  if (isIP(prefix) === version) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

/** An origin as browsers send it: http(s)://host[:port], nothing after. */
function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === text;
  } catch {
    return false;
  }
}

/**
 * HOST: an IP address, or a host name (RFC 1123, with the underscores of container service names,
 * and a trailing dot; its last label is not all digits, so `999.1.1.1` is neither).
 */
function hostFrom(r: Reader): string {
  const host = r.str('HOST', '0.0.0.0');
  const label = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i;
  const labels = (host.endsWith('.') ? host.slice(0, -1) : host).split('.');
  const name = host.length <= 253 && labels.every((l) => label.test(l)) && !/^\d+$/.test(labels.at(-1) ?? '');
  if (isIP(host) === 0 && !name) r.problems.push(`HOST must be an IP address or a host name (got "${host}")`);
  return host;
}

/**
 * Embedded mode keeps its database (and a generated secret) under DATA_DIR: it must be a directory
 * this process can write, or one it can create.
 */
function dataDirProblem(dataDir: string): string | undefined {
  let existing = dataDir;
  while (!existsSync(existing)) {
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  try {
    if (!statSync(existing).isDirectory())
      return `DATA_DIR ${dataDir} cannot be a directory: ${existing} is a file`;
    accessSync(existing, constants.W_OK | constants.X_OK);
    return undefined;
  } catch {
    return `DATA_DIR ${dataDir} is not writable by this process (the embedded database and its secret are kept there)`;
  }
}

/** Embedded mode without JWT_SECRET: generate one once and keep it under DATA_DIR. */
function embeddedSecret(dataDir: string): { secret: string; createdNow: boolean } {
  const file = path.join(dataDir, 'jwt-secret');
  if (existsSync(file)) return { secret: readFileSync(file, 'utf8').trim(), createdNow: false };
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return { secret, createdNow: true };
}

export function loadConfig(env: Env, overrides: { role?: Role } = {}): Config {
  const r = new Reader(env);
  const databaseUrl = databaseUrlFrom(r);
  const redisUrl = redisUrlFrom(r);
  const dataDir = path.resolve(r.str('DATA_DIR', './data'));

  const algorithm = r.str('JWT_ALGORITHM', 'HS256');
  if (!['HS256', 'HS384', 'HS512'].includes(algorithm)) {
    r.problems.push(`JWT_ALGORITHM must be one of HS256, HS384, HS512 (got "${algorithm}")`);
  }
  const secret = r.optional('JWT_SECRET');
  if (databaseUrl) {
    if (!secret) r.problems.push('JWT_SECRET is required when an external database is configured');
    else if (Buffer.byteLength(secret) < 32) r.problems.push('JWT_SECRET must be at least 32 bytes');
  } else {
    const problem = dataDirProblem(dataDir);
    if (problem) r.problems.push(problem);
  }

  const reportingTimezone = r.str('REPORTING_TIMEZONE', 'UTC');
  if (!isValidTimeZone(reportingTimezone)) {
    r.problems.push(`REPORTING_TIMEZONE must be an IANA time zone (got "${reportingTimezone}")`);
  }
  const baseCurrency = r.str('BASE_CURRENCY', 'USD').toUpperCase();
  if (!/^[A-Z]{3}$/.test(baseCurrency)) r.problems.push('BASE_CURRENCY must be a 3-letter ISO 4217 code');

  const roleRaw = overrides.role ?? r.str('ROLE', 'all');
  if (!['api', 'worker', 'all'].includes(roleRaw))
    r.problems.push(`ROLE must be api, worker or all (got "${roleRaw}")`);
  else if (roleRaw === 'worker' && !redisUrl)
    r.problems.push(
      'the worker role consumes the Redis stream and channels: configure Redis (REDIS_URL), or run the role all, whose HTTP ingest feeds an embedded store',
    );

  const logLevel = r.str('LOG_LEVEL', 'info');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    r.problems.push(
      `LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "${logLevel}")`,
    );
  }
  const corsOrigins = r
    .str('CORS_ORIGINS', '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (corsOrigins.includes('*')) {
    r.problems.push('CORS_ORIGINS must list origins; "*" is refused because the API uses credentials');
  } else {
    const bad = corsOrigins.filter((o) => !isOrigin(o));
    if (bad.length > 0)
      r.problems.push(
        `CORS_ORIGINS must list origins such as https://admin.example.com, without a path (got "${bad.join('", "')}")`,
      );
  }
  const retention = r.int('EVENT_RETENTION_DAYS', 0, 0, 36_500);

  const config: Config = {
    role: roleRaw as Role,
    host: hostFrom(r),
    port: r.int('PORT', 8003, 0, 65535),
    databaseUrl,
    redisUrl,
    dataDir,
    embeddedMinFreeMb: r.int('EMBEDDED_MIN_FREE_MB', 128, 0, 1_048_576),
    jwt: {
      secret: secret ?? '',
      algorithm: algorithm as JwtAlgorithm,
      expiryMinutes: r.int('JWT_EXPIRY_MINUTES', 30, 1, 7 * 24 * 60),
      generated: false,
      createdNow: false,
    },
    corsOrigins,
    cacheTtlSeconds: r.int('ANALYTICS_CACHE_TTL', 300, 0, 86_400),
    batchSize: r.int('EVENT_PROCESSING_BATCH_SIZE', 5000, 1, 20_000),
    reportingTimezone,
    baseCurrency,
    streamKey: r.str('EVENT_STREAM_KEY', 'evently:analytics:stream'),
    consumerGroup: r.str('EVENT_CONSUMER_GROUP', 'analytics'),
    channelPattern: r.str('EVENT_CHANNEL_PATTERN', 'evently:*'),
    rateLimit: {
      max: r.int('RATE_LIMIT_ANALYTICS', 100, 1, 1_000_000),
      windowMinutes: r.int('RATE_LIMIT_WINDOW', 15, 1, 24 * 60),
      ingestMax: r.int('RATE_LIMIT_INGEST', 100_000, 0, 10_000_000),
    },
    logLevel,
    eventRetentionDays: retention === 0 ? undefined : retention,
    trustProxy: trustProxyFrom(r),
    consumerName: r.str('CONSUMER_NAME', `${process.pid}-${randomBytes(3).toString('hex')}`),
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  // Only once everything else is known good: a bad configuration leaves nothing behind.
  if (databaseUrl || secret) return Object.freeze(config);
  const own = embeddedSecret(dataDir);
  return Object.freeze({
    ...config,
    jwt: { ...config.jwt, secret: own.secret, generated: true, createdNow: own.createdNow },
  });
}

/** What /info may show: no secret, no password. */
export function configSummary(config: Config): Record<string, unknown> {
  return {
    role: config.role,
    port: config.port,
    database: config.databaseUrl ? redactUrl(config.databaseUrl) : 'embedded (PGlite)',
    redis: config.redisUrl ? redactUrl(config.redisUrl) : 'in-process',
    jwt_algorithm: config.jwt.algorithm,
    cache_ttl_seconds: config.cacheTtlSeconds,
    batch_size: config.batchSize,
    reporting_timezone: config.reportingTimezone,
    base_currency: config.baseCurrency,
    stream_key: config.streamKey,
    consumer_group: config.consumerGroup,
    channel_pattern: config.channelPattern,
    rate_limit: {
      max: config.rateLimit.max,
      window_minutes: config.rateLimit.windowMinutes,
      ingest_max: config.rateLimit.ingestMax,
    },
    event_retention_days: config.eventRetentionDays ?? null,
  };
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
