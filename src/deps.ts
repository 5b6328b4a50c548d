/**
 * The composition root: builds the database, Redis, bus, cache, pipeline and services once.
 * Factories below take only what they use.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { sameZone } from './aggregate/time.ts';
import { createAnalyticsService, type AnalyticsService } from './api/analytics.service.ts';
import { createReadState } from './api/read-state.ts';
import type { ReadState } from './api/respond.ts';
import { createTokenVerifier, type TokenVerifier } from './auth/tokens.ts';
import type { BatchResult, IngestItem } from './ingest/batch.ts';
import { createPipeline, type BatchOptions, type Pipeline } from './ingest/pipeline.ts';
import { cachePrefix, createResponseCache, type ResponseCache } from './platform/cache.ts';
import { isDatabaseUnavailable } from './platform/db-guard.ts';
import { createLocalBus, createRedisBus, type Bus } from './platform/bus.ts';
import { ConfigError, type Config } from './platform/config.ts';
import { openPGlite, openPostgres, type Database, type Db } from './platform/db.ts';
import { errorMessage } from './platform/error-message.ts';
import type { Logger } from './platform/logger.ts';
import { createMetrics, type Metrics } from './platform/metrics.ts';
import { migrateToLatest } from './store/migrate.ts';
import { dayZone as storedDayZone, storeId } from './store/read.repository.ts';
import { recordHeartbeat } from './store/uptime.repository.ts';
import { lockWriter } from './store/ingest.repository.ts';
import { rebuildDayTables } from './store/maintenance.repository.ts';

export interface Deps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  database: Database;
  redis: Redis | undefined;
  bus: Bus;
  cache: ResponseCache;
  /** Ingests a batch and tells every instance about the change. */
  ingest: Pipeline;
  service: AnalyticsService;
  readState: ReadState;
  verifier: TokenVerifier;
  disabledUsers: DisabledUsers;
  /** What background work cannot do now, for /health; null when it is fine. */
  backgroundProblems(): { heartbeat: string | null; redis: string | null; storage: string | null };
  startBackground(): void;
  close(): Promise<void>;
}

export interface DisabledUsers {
  has(userId: number): boolean;
  refresh(): Promise<void>;
}

/** What Redis answers a client whose password it refuses (or that sent none it needs). */
const REDIS_AUTH_REFUSED = /^(WRONGPASS|NOAUTH)\b|^ERR (invalid password|AUTH)/;
/** ioredis reports a database number the server lacks, then goes on, ready, in database 0. */
const REDIS_DB_REFUSED = /^ERR DB index is out of range/;
/** SQLSTATEs of a connection PostgreSQL refuses for its settings: password, role, database name. */
const REFUSED_BY_POSTGRES = new Set(['28P01', '28000', '3D000']);
/** A refusal older than this is not taken for the cause of Redis being down now. */
const REFUSAL_CURRENT_MS = 30_000;
/** Heartbeats are every 20 s: two failed in a row is a minute at risk, worth telling /health. */
const HEARTBEAT_FAILURES_TOLD = 2;

/**
 * Tries until it works, with backoff (200 ms doubling to 5 s), at most `tries` times (Infinity:
 * for as long as it takes). An error `retryable` says waiting will not cure is thrown at once.
 */
async function withRetry<T>(
  what: string,
  logger: Logger,
  attempt: () => Promise<T>,
  tries: number,
  retryable: (error: unknown) => boolean = () => true,
): Promise<T> {
  let delay = 200;
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (!retryable(error)) throw error;
      if (i >= tries)
        throw new Error(
          `${what} still not reachable after ${i} tries; giving up: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      logger.warn({ attempt: i, err: (error as Error).message }, `${what} not reachable yet; retrying`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

/**
 * Opens the configured database once it answers. `patient` (the service's start): waits for as
 * long as it is unreachable, since an orchestrator may start the service first. Otherwise (the
 * operator commands) gives up after about two minutes rather than hang a job. A refused password or
 * a missing database fails at once either way.
 */
export async function openDatabase(
  config: Config,
  logger: Logger,
  patient = false,
  freeBytes?: (dir: string) => number,
): Promise<Database> {
  if (!config.databaseUrl) {
    logger.info(
      { dataDir: config.dataDir },
      'running embedded: PGlite database under DATA_DIR, no Redis needed',
    );
    return openPGlite(config.dataDir, { minFreeMb: config.embeddedMinFreeMb, freeBytes });
  }
  const url = config.databaseUrl;
  const database = await openPostgres(url);
  await withRetry(
    'PostgreSQL',
    logger,
    () => sql`select 1`.execute(database.db),
    patient ? Infinity : 30,
    isDatabaseUnavailable,
  ).catch(async (error: unknown) => {
    await database.close();
    // Credentials or a database name it refuses are configuration, as a refused Redis password is.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && REFUSED_BY_POSTGRES.has(code))
      throw new ConfigError([
        `PostgreSQL refused the connection of DATABASE_URL / DB_*: ${(error as Error).message}`,
      ]);
    throw error;
  });
  return database;
}

function createDisabledUsers(database: Database): DisabledUsers {
  let ids = new Set<number>();
  // Refreshes may overlap (a notice and the timer): only a read started after the one applied last
  // may replace the list, so an older read never brings back a user who was just disabled.
  let started = 0;
  let applied = 0;
  return {
    has: (id) => ids.has(id),
    async refresh() {
      const mine = ++started;
      const { rows } = await sql<{
        id: number;
      }>`select user_id::float8 as id from user_status where disabled`.execute(database.db);
      if (mine < applied) return;
      applied = mine;
      ids = new Set(rows.map((r) => r.id));
    },
  };
}

export interface DepsOptions {
  /** How often the uptime heartbeat is recorded (default 20 s: every minute gets one). */
  heartbeatMs?: number;
  /** The embedded store's free disk space (default: the file system's), for tests of a full disk. */
  freeBytes?: (dir: string) => number;
}

/** Migrations, then the day tables re-derived if the reporting zone changed since the last start. */
async function prepareSchema(db: Db, config: Config, logger: Logger): Promise<void> {
  const migrating = performance.now();
  const migration = await migrateToLatest(db);
  const applied = (migration.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  if (applied.length > 0)
    logger.info({ migrations: applied, ms: Math.round(performance.now() - migrating) }, 'migrations applied');
  if (migration.error)
    throw migration.error instanceof Error ? migration.error : new Error('migration failed');
  if (!sameZone(await storedDayZone(db), config.reportingTimezone)) {
    // As a writer: no batch interleaves, and of instances starting together only the first does it.
    await db.transaction().execute(async (trx) => {
      await lockWriter(trx);
      const zone = await storedDayZone(trx);
      if (sameZone(zone, config.reportingTimezone)) return;
      logger.info(
        { from: zone, to: config.reportingTimezone },
        'reporting zone changed: re-deriving day tables',
      );
      await rebuildDayTables(trx, config.reportingTimezone);
    });
  }
}

export async function createDeps(
  config: Config,
  logger: Logger,
  patient = false,
  options: DepsOptions = {},
): Promise<Deps> {
  const database = await openDatabase(config, logger, patient, options.freeBytes);
  let redis: Redis | undefined;
  // During an outage ioredis reports every reconnect attempt: log the first, then one line per 30 s.
  let lastRedisLog = 0;
  let suppressed = 0;
  /**
   * Redis's refusal of the configured credentials and when it came: ioredis retries all the time,
   * so a refusal that goes on is renewed every few seconds, and an old one is not taken for the
   * cause of a later outage (nor is one of another connection, once the main one is ready).
   */
  let refusal: { message: string; at: number } | undefined;
  const redisRefusal = () =>
    refusal && Date.now() - refusal.at < REFUSAL_CURRENT_MS ? refusal.message : undefined;
  /** What the connection last said: a retry of `connect` while ioredis reconnects says only that. */
  let lastRedisError: string | undefined;
  const redisError = (error: unknown) => {
    const message = errorMessage(error);
    lastRedisError = message;
    if (REDIS_AUTH_REFUSED.test(message) || REDIS_DB_REFUSED.test(message))
      refusal = { message, at: Date.now() };
    const now = Date.now();
    if (now - lastRedisLog < 30_000) {
      suppressed++;
      return;
    }
    logger.warn({ err: message, suppressed }, 'redis error');
    lastRedisLog = now;
    suppressed = 0;
  };
  if (config.redisUrl) {
    redis = new Redis(config.redisUrl, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: true,
    });
    redis.on('error', redisError);
    redis.on('ready', () => {
      if (!refusal || !REDIS_DB_REFUSED.test(refusal.message)) refusal = undefined;
    });
    await withRetry(
      'Redis',
      logger,
      () => (redis as Redis).connect(),
      3,
      () => !redisRefusal(),
    ).catch((error: unknown) => {
      if (redisRefusal()) return;
      // A Redis without TLS never answers the handshake: the error is a timeout, not a refusal.
      const tls = config.redisUrl?.startsWith('rediss:')
        ? { hint: 'TLS is on (rediss:// or REDIS_USE_TLS): a Redis that does not speak TLS times out' }
        : {};
      logger.error(
        { err: errorMessage(error), cause: lastRedisError, ...tls },
        'Redis unreachable at start; serving from PostgreSQL',
      );
    });
    // A refused password is configuration that waiting will not cure, as PostgreSQL's is; so is a
    // database number the server lacks (ioredis goes on in database 0, with the refusal reported).
    const refused = redisRefusal();
    if (refused) {
      redis.disconnect();
      await database.close();
      throw new ConfigError([`Redis refused the settings of REDIS_URL / REDIS_*: ${refused}`]);
    }
  }
  // Migrations only once Redis has not refused its settings: a start refused for its configuration
  // leaves the database as it found it.
  await prepareSchema(database.db, config, logger).catch(async (error: unknown) => {
    redis?.disconnect();
    await database.close().catch(() => undefined);
    throw error;
  });
  const store = await storeId(database.db);
  // The disabled-user list lives in PostgreSQL: while it is down the last list stays in force.
  let lastRefreshLog = 0;
  const refreshError = (error: unknown) => {
    if (Date.now() - lastRefreshLog < 30_000) return;
    lastRefreshLog = Date.now();
    logger.warn({ err: errorMessage(error) }, 'disabled users not refreshed');
  };
  const bus = redis ? createRedisBus(redis, store, redisError) : createLocalBus();
  const cache = createResponseCache({
    ttlSeconds: config.cacheTtlSeconds,
    redis,
    prefix: cachePrefix(store),
    onRedisError: redisError,
  });
  // An answer stands for the cache's TTL at one data version, at least a minute (uptime figures).
  const readState = createReadState(database, bus, cache, Math.max(60, config.cacheTtlSeconds) * 1000);
  const pipeline = createPipeline({
    db: database.db,
    config,
    onPoison: (error) =>
      logger.error(
        { err: error },
        'a message could not be processed; kept as a dead letter (processing_error)',
      ),
  });
  const disabledUsers = createDisabledUsers(database);
  await disabledUsers.refresh();
  bus.subscribe((m) => {
    if (m.kind === 'users' || (m.kind === 'change' && m.notice.changed.includes('users'))) {
      disabledUsers.refresh().catch(refreshError);
    }
  });

  const metrics = createMetrics();
  const ingest: Pipeline = {
    async processBatch(items: readonly IngestItem[], options?: BatchOptions): Promise<BatchResult> {
      const started = performance.now();
      const result = await pipeline.processBatch(items, options);
      metrics.observeBatch({
        items,
        results: result.results,
        released: result.released,
        seconds: (performance.now() - started) / 1000,
      });
      readState.note(result.dataVersion);
      if (result.changed.length > 0) {
        await bus.publish({
          kind: 'change',
          notice: { data_version: result.dataVersion, changed: result.changed },
        });
      }
      return result;
    },
  };
  const timers: NodeJS.Timeout[] = [];
  /** The heartbeats failing in a row, and since when: system_uptime counts those minutes as down. */
  let heartbeatFailures = { count: 0, since: 0 };
  const heartbeat = () => {
    recordHeartbeat(database.db, Math.floor(Date.now() / 60_000)).then(
      () => (heartbeatFailures = { count: 0, since: 0 }),
      (error: unknown) => {
        const message = errorMessage(error);
        if (heartbeatFailures.count === 0) logger.warn({ err: message }, 'heartbeat not recorded');
        heartbeatFailures = {
          count: heartbeatFailures.count + 1,
          since: heartbeatFailures.since || Date.now(),
        };
      },
    );
  };

  return {
    config,
    logger,
    metrics,
    database,
    redis,
    bus,
    cache,
    ingest,
    service: createAnalyticsService({ db: database.db, dayZone: () => config.reportingTimezone }),
    readState,
    verifier: createTokenVerifier({
      secret: config.jwt.secret,
      algorithm: config.jwt.algorithm,
      isDisabled: (id) => disabledUsers.has(id),
    }),
    disabledUsers,
    backgroundProblems() {
      const refused = redisRefusal();
      return {
        heartbeat:
          heartbeatFailures.count >= HEARTBEAT_FAILURES_TOLD
            ? `uptime heartbeats not recorded since ${new Date(heartbeatFailures.since).toISOString()} (the database refused the write; the log says why): system_uptime counts these minutes as down`
            : null,
        redis: refused === undefined ? null : `redis refused the configured credentials: ${refused}`,
        storage: database.storageProblem(),
      };
    },
    startBackground() {
      heartbeat();
      timers.push(setInterval(heartbeat, options.heartbeatMs ?? 20_000));
      // Disabled users also reach instances that missed a notice within a second.
      timers.push(setInterval(() => void disabledUsers.refresh().catch(refreshError), 1_000));
      for (const t of timers) t.unref();
    },
    async close() {
      for (const t of timers) clearInterval(t);
      await bus.close();
      redis?.disconnect();
      await database.close();
    },
  };
}
