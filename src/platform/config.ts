/**
 * The one place that reads `process.env` (and Zero). Everything is validated at start; every bad
 * key is reported in one error so an operator fixes them all at once.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { canonicalZone, isValidTimeZone } from '../aggregate/time.ts';
import { withTimeout } from './deadline.ts';
import { errorMessage } from './error-message.ts';

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
  /** Settings given but not used (parts of a connection a URL also gives), for a warning at start. */
  readonly notices: readonly string[];
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

/** How long start-up waits for Zero's answer before it gives up (the SDK itself waits for ever). */
const ZERO_DEADLINE_MS = 15_000;

/**
 * Fetches secrets from Zero when ZERO_TOKEN is set. The environment wins over Zero for the same key;
 * a variable set to nothing does not (compose files pass `DB_HOST: ${DB_HOST}` empty), so Zero's
 * value stands. Zero out of reach, silent past the deadline, or holding no `evently` secrets stops
 * the start: whatever the environment holds, the settings that live in Zero (the database's, say)
 * would be missing, and the service would quietly run on something else (an empty embedded store).
 * `fetchZero` is injectable so tests need no network.
 */
export async function resolveEnv(
  env: Env,
  fetchZero: (token: string) => Promise<Record<string, Record<string, string>>> = defaultZeroFetch,
  deadlineMs = ZERO_DEADLINE_MS,
): Promise<Env> {
  const token = env.ZERO_TOKEN;
  if (!token) return env;
  let fromZero: Record<string, string>;
  try {
    fromZero = zeroSecretsToEnv(
      await withTimeout(
        fetchZero(token),
        deadlineMs,
        () => new Error(`no answer within ${deadlineMs / 1000} s`),
      ),
    );
  } catch (error) {
    throw new ConfigError([
      `ZERO_TOKEN is set but Zero did not give the secrets (${zeroFailure(error, token)}); the settings kept ` +
        'there are unknown. Retry when Zero answers, or unset ZERO_TOKEN to run from the environment alone',
    ]);
  }
  if (Object.keys(fromZero).length === 0)
    throw new ConfigError([
      'ZERO_TOKEN is set but Zero holds no "evently" secrets for it: check the token, or unset ZERO_TOKEN ' +
        'to run from the environment alone',
    ]);
  const set = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  return { ...fromZero, ...set };
}

/**
 * Why Zero gave nothing, without the token: the SDK's GraphQL client writes the whole request, token
 * and all, into its errors' messages. An answer's own error or status says it better anyway.
 */
function zeroFailure(error: unknown, token: string): string {
  // (A token too short to be one, as tests use, would scrub letters out of every word.)
  const scrub = (text: string) =>
    (token.length >= 8 ? text.replaceAll(token, '[ZERO_TOKEN]') : text).slice(0, 200);
  const response = (error as { response?: { status?: unknown; errors?: { message?: unknown }[] } } | null)
    ?.response;
  const first = response?.errors?.[0]?.message;
  if (typeof first === 'string')
    return `it answered: ${first.replaceAll(token, '[ZERO_TOKEN]').slice(0, 200)}`;
  if (typeof response?.status === 'number') return `it answered HTTP ${response.status}`;
  return scrub(errorMessage(error));
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
    return this.optional(key) ?? fallback;
  }

  /** A value, or undefined when unset or empty; one of spaces alone is a mistake, not a default. */
  optional(key: string): string | undefined {
    const value = this.env[key];
    if (value === undefined || value === '') return undefined;
    if (value.trim() === '') {
      this.problems.push(`${key} is blank (unset it to take the default)`);
      return undefined;
    }
    return value;
  }

  /** Whether the key holds a value (a blank one is reported by optional). */
  has(key: string): boolean {
    const value = this.env[key];
    return value !== undefined && value !== '';
  }

  /** A whole number in plain digits: `Number()` alone would take `0x1F`, `1e3` and `8003.0`. */
  int(key: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(key);
    if (raw === undefined) return fallback;
    const text = raw.trim();
    const value = Number(text);
    if (!/^\d{1,16}$/.test(text) || value < min || value > max) {
      this.problems.push(`${key} must be a whole number from ${min} to ${max} (got "${raw}")`);
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

  /** Of these keys, the ones that hold a value. */
  present(keys: readonly string[]): string[] {
    return keys.filter((key) => this.has(key));
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
 * a password may hold that a URL may not (`/ ? # @ :`) must be percent-encoded: an unencoded `#`
 * would still parse, the rest of the password taken for a fragment and a part for the host.
 */
function checkUrl(r: Reader, keys: string, url: string): URL | undefined {
  const parsed = URL.canParse(withSocketHost(url)) ? new URL(withSocketHost(url)) : undefined;
  if (!parsed || parsed.hash !== '' || url.includes('#')) {
    r.problems.push(
      `${keys} is not a valid URL (check the host and port; percent-encode / ? # @ : in a user name or password)`,
    );
    return undefined;
  }
  return parsed;
}

const DB_PARTS = ['DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER', 'DB_PASSWORD'] as const;
const REDIS_PARTS = ['REDIS_HOST', 'REDIS_PORT', 'REDIS_PASSWORD', 'REDIS_USE_TLS'] as const;

const ignoredNotice = (url: string, keys: string[]): string =>
  `${url} is set, so ${keys.join(', ')} ${keys.length === 1 ? 'is' : 'are'} ignored`;

/** A host as a URL writes it: an IPv6 address in brackets. */
const urlHost = (host: string): string => (isIP(host) === 6 ? `[${host}]` : host);

/**
 * Parts set without the host they belong to would otherwise be dropped, and the service run on
 * the embedded store or bus instead of the one they describe.
 */
function partsWithoutHost(r: Reader, url: string, host: string, parts: readonly string[]): void {
  const set = r.present(parts);
  if (set.length > 0)
    r.problems.push(
      `${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set but ${host} is not: set ${host} (or ${url}) ` +
        'to use that server, or unset them to run without one',
    );
}

function databaseUrlFrom(r: Reader, notices: string[]): string | undefined {
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
    partsWithoutHost(r, 'DATABASE_URL', 'DB_HOST', DB_PARTS);
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

function redisUrlFrom(r: Reader, notices: string[]): string | undefined {
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
    partsWithoutHost(r, 'REDIS_URL', 'REDIS_HOST', REDIS_PARTS);
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

/**
 * An origin as browsers send it (http(s)://host[:port], nothing after), written as they write it:
 * lower case, without a default port or a trailing slash. Undefined for anything else.
 */
function originOf(text: string): string | undefined {
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  const bare = url.pathname === '/' && !text.endsWith('/?') && url.search === '' && url.hash === '';
  const plain = url.username === '' && url.password === '' && !text.includes('*');
  return (url.protocol === 'http:' || url.protocol === 'https:') && bare && plain ? url.origin : undefined;
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

const MIN_SECRET_BYTES = 32;
/** ISO 4217 codes as ICU knows them; a typo (`USDD`, `XYZ`) would put every amount "apart". */
const ISO_CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** A kept development secret that is empty or short (edited, truncated) would fail every token. */
function storedSecretProblem(dataDir: string): string | undefined {
  const file = path.join(dataDir, 'jwt-secret');
  if (!existsSync(file)) return undefined;
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch {
    return `${file} cannot be read (the development JWT secret is kept there)`;
  }
  return Buffer.byteLength(secret) < MIN_SECRET_BYTES
    ? `${file} holds no usable JWT secret (under ${MIN_SECRET_BYTES} bytes): delete it and the next start generates one`
    : undefined;
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
  const notices: string[] = [];
  const databaseUrl = databaseUrlFrom(r, notices);
  const redisUrl = redisUrlFrom(r, notices);
  const dataDir = path.resolve(r.str('DATA_DIR', './data'));

  const algorithm = r.str('JWT_ALGORITHM', 'HS256');
  if (!['HS256', 'HS384', 'HS512'].includes(algorithm)) {
    r.problems.push(`JWT_ALGORITHM must be one of HS256, HS384, HS512 (got "${algorithm}")`);
  }
  const secret = r.optional('JWT_SECRET');
  // A secret given is held to the same length embedded too: an embedded service listens on every
  // interface by default.
  if (secret !== undefined && Buffer.byteLength(secret) < MIN_SECRET_BYTES)
    r.problems.push(`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes`);
  if (databaseUrl) {
    if (secret === undefined)
      r.problems.push('JWT_SECRET is required when an external database is configured');
  } else {
    const problem =
      dataDirProblem(dataDir) ?? (secret === undefined ? storedSecretProblem(dataDir) : undefined);
    if (problem) r.problems.push(problem);
  }

  const zone = r.str('REPORTING_TIMEZONE', 'UTC');
  const zoneValid = isValidTimeZone(zone);
  if (!zoneValid) r.problems.push(`REPORTING_TIMEZONE must be an IANA time zone (got "${zone}")`);
  const reportingTimezone = zoneValid ? canonicalZone(zone) : zone;
  const baseCurrency = r.str('BASE_CURRENCY', 'USD').trim().toUpperCase();
  if (!ISO_CURRENCIES.has(baseCurrency))
    r.problems.push(
      `BASE_CURRENCY must be an ISO 4217 currency code such as USD or EUR (got "${baseCurrency}")`,
    );

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
  const corsListed = r
    .str('CORS_ORIGINS', '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  const corsOrigins = corsListed.map((o) => originOf(o) ?? o);
  if (corsListed.some((o) => o.includes('*'))) {
    r.problems.push(
      'CORS_ORIGINS must list origins one by one; a "*" (alone or in a host name) is refused because the API uses credentials',
    );
  } else {
    const bad = corsListed.filter((o) => originOf(o) === undefined);
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
    notices,
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
