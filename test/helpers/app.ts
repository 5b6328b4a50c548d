/**
 * Starts the real service for a test: a unique PostgreSQL database (or embedded PGlite), optional
 * Redis, the real app; returns it with an admin token and a cleanup.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { buildApp, type AppOptions } from '../../src/app.ts';
import { mintToken } from '../../src/auth/tokens.ts';
import { createDeps, type Deps, type DepsOptions } from '../../src/deps.ts';
import type { Consumer } from '../../src/ingest/consumer.ts';
import { createStreamConsumer } from '../../src/ingest/stream-consumer.ts';
import { loadConfig, type Config } from '../../src/platform/config.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { createTestDatabase, REDIS_URL, uniqueKey, type TestDatabase } from './db.ts';

export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

export interface TestApp {
  app: FastifyInstance;
  deps: Deps;
  config: Config;
  token: string;
  database: TestDatabase | undefined;
  /**
   * Sends messages through `POST /ingest` with the admin token; the answer must be a 200. Returns
   * each message's result and the data version after the batch.
   */
  ingest(
    messages: string[],
  ): Promise<{ results: { outcome: string; reason?: string }[]; dataVersion: number }>;
  /** Mints a token with the test secret. */
  mint(claims?: {
    role?: string;
    userId?: number;
    type?: string;
    expiresInSeconds?: number;
  }): Promise<string>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  store?: 'postgres' | 'pglite';
  redis?: boolean;
  env?: Record<string, string>;
  /** Reuse an existing database (a second instance on the same data). */
  databaseUrl?: string;
  /** PGlite: reuse this data directory (a restart on the same data); it is left for its owner. */
  dataDir?: string;
  /** What the CLI passes to buildApp (consumer stats, the shutdown flag). */
  appOptions?: AppOptions;
  /** Where the app's log lines go (set LOG_LEVEL in env too; the default level is silent). */
  logDestination?: DestinationStream;
  /** Background timings (the heartbeat), for tests that cannot wait for the real ones. */
  depsOptions?: DepsOptions;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const store = options.store ?? 'postgres';
  let database: TestDatabase | undefined;
  let dataDir: string | undefined;
  const env: Record<string, string> = {
    JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: 'silent',
    // Figure-heavy tests make hundreds of requests; rate-limit tests set their own limit.
    RATE_LIMIT_ANALYTICS: '1000000',
    EVENT_STREAM_KEY: uniqueKey('evently:analytics:stream'),
    ...options.env,
  };
  if (store === 'postgres') {
    if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
    else {
      database = await createTestDatabase('app');
      env.DATABASE_URL = database.url;
    }
  } else if (options.dataDir) {
    env.DATA_DIR = options.dataDir;
  } else {
    dataDir = mkdtempSync(path.join(tmpdir(), 'evently-test-'));
    env.DATA_DIR = dataDir;
  }
  if (options.redis) env.REDIS_URL = REDIS_URL;
  const config = loadConfig(env);
  const deps = await createDeps(
    config,
    createLogger(config.logLevel, options.logDestination),
    false,
    options.depsOptions,
  );
  const app = await buildApp(deps, options.appOptions);
  await app.ready();
  const mint: TestApp['mint'] = (claims = {}) =>
    mintToken({
      secret: config.jwt.secret,
      algorithm: config.jwt.algorithm,
      userId: claims.userId ?? 1,
      role: claims.role ?? 'admin',
      type: claims.type ?? 'access',
      expiresInSeconds: claims.expiresInSeconds ?? 3600,
    });
  const token = await mint();
  const ingest: TestApp['ingest'] = async (messages) => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/analytics/ingest',
      headers: { authorization: `Bearer ${token}` },
      payload: { messages },
    });
    if (response.statusCode !== 200)
      throw new Error(`ingest answered ${response.statusCode}: ${response.body.slice(0, 300)}`);
    const { data } = response.json<{
      data: { results: { outcome: string; reason?: string }[]; data_version: number };
    }>();
    return { results: data.results, dataVersion: data.data_version };
  };
  return {
    app,
    deps,
    config,
    token,
    ingest,
    database,
    mint,
    async close() {
      // Its Redis keys (cached answers, kept a day for outages) go with it, not left to expire.
      if (config.redisUrl !== undefined) await deps.cache.clear().catch(() => undefined);
      await app.close();
      await deps.close();
      await database?.drop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The service's stream consumer, made as the CLI makes it (not started): the app must have Redis. */
export function streamConsumerOf(t: TestApp): Consumer {
  if (!t.deps.redis) throw new Error('the service has no Redis');
  return createStreamConsumer({
    redis: t.deps.redis,
    pipeline: t.deps.ingest,
    config: t.config,
    logger: t.deps.logger,
  });
}
