/**
 * Command line: `start [--role api|worker|all]`, `migrate`, `token [--role admin] [--user-id N]
 * [--minutes N]`, `rebuild`. Exits non-zero with a clear message on bad configuration.
 */
import { parseArgs } from 'node:util';
import closeWithGrace from 'close-with-grace';
import { buildApp } from '../app.ts';
import { listenWhileStarting } from '../api/starting.ts';
import { mintToken } from '../auth/tokens.ts';
import { createDeps, openDatabase } from '../deps.ts';
import type { Consumer } from '../ingest/consumer.ts';
import { createPubSubConsumer } from '../ingest/pubsub-consumer.ts';
import { rebuildAggregates } from '../ingest/rebuild.ts';
import { reconcile } from '../ingest/reconcile.ts';
import { startRetention } from '../ingest/retention.ts';
import { createStreamConsumer } from '../ingest/stream-consumer.ts';
import { ConfigError, loadConfig, resolveEnv, type Config, type Role } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { migrateToLatest } from '../store/migrate.ts';

const SHUTDOWN_GRACE_MS = 10_000;

async function start(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const startedAt = Date.now();
  // The service waits for its database however long that takes (an operator command does not),
  // alive but not ready on its port meanwhile.
  const starting = await listenWhileStarting(config.host, config.port);
  const deps = await createDeps(config, logger, true).catch(async (error: unknown) => {
    await starting.close();
    throw error;
  });
  const consumers: Record<string, Consumer> = {};
  if (config.role !== 'api' && deps.redis) {
    const consumerLogger = logger.child({ component: 'consumer' });
    consumers.stream = createStreamConsumer({
      redis: deps.redis,
      pipeline: deps.ingest,
      config,
      logger: consumerLogger,
    });
    consumers.pubsub = createPubSubConsumer({
      redis: deps.redis,
      pipeline: deps.ingest,
      config,
      logger: consumerLogger,
    });
  } else if (config.role !== 'api') {
    logger.info(
      'no Redis configured: an in-process bus stands in; POST /api/v1/analytics/ingest feeds the pipeline',
    );
  }
  const consumerStats = () =>
    Object.fromEntries(Object.entries(consumers).map(([name, c]) => [name, c.stats()]));
  let shuttingDown = false;
  const app = await buildApp(deps, { consumers: consumerStats, startedAt, shuttingDown: () => shuttingDown });

  // The port passes from the stand-in to the service before anything else starts, so a SIGTERM
  // meanwhile finds nothing to stop (the default action ends the process). The worker role listens
  // too: it answers /health so an orchestrator can watch it.
  await starting.close();
  await app.listen({ host: config.host, port: config.port });

  deps.startBackground();
  const stopRetention =
    config.role !== 'api' && config.eventRetentionDays !== undefined
      ? startRetention({ db: deps.database.db, days: config.eventRetentionDays, logger })
      : () => undefined;
  for (const c of Object.values(consumers)) c.start();
  // Installed once everything it stops exists (no await since the consumers started).
  closeWithGrace({ delay: SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    shuttingDown = true;
    if (err) logger.error({ err }, 'shutting down after an error');
    else logger.info({ signal }, 'shutting down: finishing the batch in flight');
    stopRetention();
    await Promise.all(Object.values(consumers).map((c) => c.stop()));
    await app.close();
    await deps.close();
  });
  if (config.jwt.generated) {
    logger.info(
      { secretFile: `${config.dataDir}/jwt-secret` },
      'generated a development JWT secret; get an admin token with: npm run token',
    );
  }
}

async function main(): Promise<void> {
  const [command = 'start', ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      role: { type: 'string' },
      'user-id': { type: 'string', default: '1' },
      minutes: { type: 'string' },
      type: { type: 'string', default: 'access' },
      force: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  const env = await resolveEnv(process.env);
  switch (command) {
    case 'start':
      return start(loadConfig(env, values.role ? { role: values.role as Role } : {}));
    case 'migrate': {
      const config = loadConfig(env);
      const logger = createLogger(config.logLevel);
      const database = await openDatabase(config, logger);
      const result = await migrateToLatest(database.db);
      for (const r of result.results ?? [])
        logger.info({ migration: r.migrationName, status: r.status }, 'migration');
      await database.close();
      if (result.error) throw result.error instanceof Error ? result.error : new Error('migration failed');
      return;
    }
    case 'token': {
      const config = loadConfig(env);
      const minutes = Number(values.minutes ?? config.jwt.expiryMinutes);
      const token = await mintToken({
        secret: config.jwt.secret,
        algorithm: config.jwt.algorithm,
        userId: Number(values['user-id']),
        role: values.role ?? 'admin',
        type: values.type ?? 'access',
        expiresInSeconds: Math.round(minutes * 60),
      });
      process.stdout.write(`${token}\n`);
      return;
    }
    case 'rebuild': {
      const config = loadConfig(env);
      const logger = createLogger(config.logLevel);
      const database = await openDatabase(config, logger);
      const report = await rebuildAggregates({
        db: database.db,
        config,
        force: process.argv.includes('--force'),
      });
      process.stdout.write(`${JSON.stringify(report)}\n`);
      await database.close();
      return;
    }
    case 'reconcile': {
      const config = loadConfig(env);
      const logger = createLogger(config.logLevel);
      const database = await openDatabase(config, logger);
      const report = await reconcile({ db: database.db, config });
      process.stdout.write(`${JSON.stringify(report)}\n`);
      await database.close();
      // For a scheduled job: 2 when figures drifted, 3 when retention left nothing to verify them by.
      if (report.drift) process.exitCode = 2;
      else if (!report.comparable) process.exitCode = 3;
      return;
    }
    default:
      throw new ConfigError([
        `unknown command "${command}" (use start, migrate, token, rebuild or reconcile)`,
      ]);
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`fatal: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
