/**
 * The one place that reads `process.env` (and Zero). Everything is validated at start; every bad
 * key is reported in one error so an operator fixes them all at once.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { isValidTimeZone, zoneSpelling } from '../aggregate/time.ts';
import { databaseUrlFrom, redactUrl, redisUrlFrom } from './config/connection-urls.ts';
import { ConfigError, Reader, type Env } from './config/reader.ts';
import { makeDirectory } from './make-directory.ts';

export { ConfigError } from './config/reader.ts';
export { redactUrl } from './config/connection-urls.ts';
export { resolveEnv, zeroSecretsToEnv, type ResolvedEnv } from './config/zero.ts';

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
  /** How long an HTTP ingest or retry waits for the writer (a rebuild holds it) before a 503. */
  readonly ingestWaitSeconds: number;
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
  /**
   * Warnings for the log at start: settings given but not used (parts of a connection a URL also
   * gives, or given without their host), a currency code ICU does not know, and a start from the
   * environment alone because Zero could not be reached.
   */
  readonly notices: readonly string[];
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
  const bare = url.pathname === '/' && !/[?#]/.test(text);
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
/**
 * ISO 4217 codes as ICU knows them: a typo (`UDS`, `XYZ`) would put every amount "apart". Warned
 * of, not refused: ICU's list lags ISO's (Node 20's lacks `VED`, and metals such as `XAU`).
 */
const KNOWN_CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

const secretFile = (dataDir: string): string => path.join(dataDir, 'jwt-secret');

/** The development secret kept under DATA_DIR; undefined when there is none yet. */
function storedSecret(dataDir: string): string | undefined {
  const file = secretFile(dataDir);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

/** A kept development secret that is empty or short (edited, truncated) would fail every token. */
function storedSecretProblem(dataDir: string): string | undefined {
  let secret: string | undefined;
  try {
    secret = storedSecret(dataDir);
  } catch {
    return `${secretFile(dataDir)} cannot be read (the development JWT secret is kept there)`;
  }
  return secret !== undefined && Buffer.byteLength(secret) < MIN_SECRET_BYTES
    ? `${secretFile(dataDir)} holds no usable JWT secret (under ${MIN_SECRET_BYTES} bytes): delete it and the next start generates one`
    : undefined;
}

/** Embedded mode without JWT_SECRET: generate one once and keep it under DATA_DIR. */
function embeddedSecret(dataDir: string): { secret: string; createdNow: boolean } {
  const kept = storedSecret(dataDir);
  if (kept !== undefined) return { secret: kept, createdNow: false };
  try {
    makeDirectory(dataDir);
  } catch (error) {
    throw new ConfigError([`DATA_DIR ${dataDir} cannot be made: ${(error as Error).message}`]);
  }
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(secretFile(dataDir), secret, { mode: 0o600 });
  return { secret, createdNow: true };
}

/**
 * A problem of a setting Zero gave (`JWT_SECRET (jwt-secret in Zero) must be ...`), or of one
 * required and found nowhere while Zero answered (`JWT_SECRET (or jwt-secret in Zero) is required`):
 * named where its owner keeps it. A setting the environment gave keeps its own name alone.
 */
function withZeroName(problem: string, fromZero: ReadonlySet<string>): string {
  const name = /^[A-Z][A-Z0-9_]*\b/.exec(problem)?.[0];
  if (name === undefined) return problem;
  const zeroKey = name.toLowerCase().replaceAll('_', '-');
  const rest = problem.slice(name.length);
  if (fromZero.has(name)) return `${name} (${zeroKey} in Zero)${rest}`;
  return rest.startsWith(' is required') ? `${name} (or ${zeroKey} in Zero)${rest}` : problem;
}

/**
 * `overrides.role` is the command line's `--role`; `overrides.notices` are warnings from before the
 * environment was read (Zero out of reach, say), logged first with the configuration's own;
 * `overrides.fromZero`, when Zero answered, the settings whose value came from it.
 */
export function loadConfig(
  env: Env,
  overrides: { role?: Role; notices?: readonly string[]; fromZero?: readonly string[] } = {},
): Config {
  const r = new Reader(env);
  const notices: string[] = [...(overrides.notices ?? [])];
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
  const reportingTimezone = zoneValid ? zoneSpelling(zone) : zone;
  const baseCurrency = r.str('BASE_CURRENCY', 'USD').trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(baseCurrency))
    r.problems.push(
      `BASE_CURRENCY must be an ISO 4217 currency code such as USD or EUR (got "${baseCurrency}")`,
    );
  else if (!KNOWN_CURRENCIES.has(baseCurrency))
    notices.push(
      `BASE_CURRENCY ${baseCurrency} is no currency this Node.js knows (ICU's list): check its spelling, or every amount counts apart`,
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
    ingestWaitSeconds: r.int('INGEST_WAIT_SECONDS', 30, 1, 3_600),
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
  if (r.problems.length > 0) {
    const fromZero = overrides.fromZero && new Set(overrides.fromZero);
    throw new ConfigError(
      fromZero ? r.problems.map((problem) => withZeroName(problem, fromZero)) : r.problems,
    );
  }
  // Only once everything else is known good: a bad configuration leaves nothing behind.
  if (databaseUrl || secret) return Object.freeze(config);
  const own = embeddedSecret(dataDir);
  return Object.freeze({
    ...config,
    jwt: { ...config.jwt, secret: own.secret, generated: true, createdNow: own.createdNow },
  });
}

/**
 * What /info shows, to anyone (it takes no token, and the dashboard reads it before sign-in): the
 * settings that shape the figures, the limits and the ingest, and where the stores are (their URLs
 * without user or password). Not the secrets, nor what would map the deployment for a caller: HOST,
 * CORS_ORIGINS, TRUST_PROXY, CONSUMER_NAME and DATA_DIR.
 */
export function configSummary(config: Config): Record<string, unknown> {
  return {
    role: config.role,
    port: config.port,
    database: config.databaseUrl ? redactUrl(config.databaseUrl) : 'embedded (PGlite)',
    redis: config.redisUrl ? redactUrl(config.redisUrl) : 'in-process',
    jwt_algorithm: config.jwt.algorithm,
    jwt_expiry_minutes: config.jwt.expiryMinutes,
    log_level: config.logLevel,
    cache_ttl_seconds: config.cacheTtlSeconds,
    batch_size: config.batchSize,
    ingest_wait_seconds: config.ingestWaitSeconds,
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
    ...(config.databaseUrl ? {} : { embedded_min_free_mb: config.embeddedMinFreeMb }),
  };
}
