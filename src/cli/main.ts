/**
 * Command line: `start [--role api|worker|all]`, `migrate`, `token [--role admin] [--user-id N]
 * [--minutes N] [--type access|refresh]`, `rebuild [--force]`, `reconcile`, `help`. Exits 64 with the
 * usage on a bad command line, 78 on bad configuration, 3 when `rebuild` refuses a pruned event log
 * (or `reconcile` cannot verify), 2 when `reconcile` finds drift, 1 on any other failure.
 */
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import closeWithGrace from 'close-with-grace';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { buildApp } from '../app.ts';
import { listenWhileStarting } from '../api/starting.ts';
import { mintToken } from '../auth/tokens.ts';
import { createDeps, openDatabase } from '../deps.ts';
import type { Consumer } from '../ingest/consumer.ts';
import { everyFigureChanged } from '../ingest/entry.ts';
import { createPubSubConsumer } from '../ingest/pubsub-consumer.ts';
import { IncompleteLogError, rebuildAggregates } from '../ingest/rebuild.ts';
import { reconcile } from '../ingest/reconcile.ts';
import { startRetention } from '../ingest/retention.ts';
import { createStreamConsumer } from '../ingest/stream-consumer.ts';
import { ConfigError, loadConfig, resolveEnv, type Config, type Role } from '../platform/config.ts';
import { internalChannel } from '../platform/bus.ts';
import type { Db } from '../platform/db.ts';
import { errorMessage } from '../platform/error-message.ts';
import { createLogger, type Logger } from '../platform/logger.ts';
import { migrateToLatest } from '../store/migrate.ts';
import { storeId } from '../store/read.repository.ts';
import { stopDuringStartUp, type StopDuringStartUp } from './stop-during-start-up.js';

const SHUTDOWN_GRACE_MS = 10_000;
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
/** A stop signal again within this long is the same request, delivered twice (see start). */
const REPEATED_SIGNAL_MS = 1_000;

/**
 * Tells the running instances, through Redis when there is one, that a rebuild from the command
 * line changed every figure: their live streams send a `change`, as after an API rebuild. Their
 * reads are current anyway (the data version is read from PostgreSQL).
 */
async function announceRebuild(config: Config, db: Db, dataVersion: number, logger: Logger): Promise<void> {
  if (!config.redisUrl) return;
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const notice = everyFigureChanged(dataVersion);
    await redis.publish(internalChannel(await storeId(db)), JSON.stringify({ kind: 'change', notice }));
  } catch (error) {
    logger.warn(
      { err: error },
      'rebuilt, but Redis could not pass the news on: open live streams hear of it at the next change',
    );
  } finally {
    redis.disconnect();
  }
}

async function start(config: Config, stopDuringStartUp: StopDuringStartUp): Promise<void> {
  const logger = createLogger(config.logLevel);
  for (const notice of config.notices) logger.warn(notice);
  const startedAt = Date.now();
  // The service waits for its database however long that takes (an operator command does not),
  // alive but not ready on its port meanwhile.
  const starting = await listenWhileStarting({
    host: config.host,
    port: config.port,
    startedAt,
    logger,
    waiting: config.databaseUrl
      ? 'starting: waiting for the database'
      : 'starting: opening the embedded database',
  });
  const deps = await createDeps(config, logger, true).catch(async (error: unknown) => {
    await starting.close();
    throw error;
  });
  const consumers: Record<string, Consumer> = {};
  if (config.role !== 'api' && deps.redis) {
    // Each consumer names itself (component: stream-consumer, pubsub-consumer) on its lines.
    consumers.stream = createStreamConsumer({ redis: deps.redis, pipeline: deps.ingest, config, logger });
    consumers.pubsub = createPubSubConsumer({ redis: deps.redis, pipeline: deps.ingest, config, logger });
  } else if (config.role === 'all') {
    logger.info(
      'no Redis configured: an in-process bus stands in; POST /api/v1/analytics/ingest feeds the pipeline',
    );
  }
  const consumerStats = () =>
    Object.fromEntries(Object.entries(consumers).map(([name, c]) => [name, c.stats()]));
  let shuttingDown = false;
  const app = await buildApp(deps, { consumers: consumerStats, startedAt, shuttingDown: () => shuttingDown });

  // The port passes from the stand-in to the service before anything else starts, so a SIGTERM
  // meanwhile finds nothing to stop (the start-up's handler ends the process, with 0). The worker
  // role listens too: it answers /health so an orchestrator can watch it.
  await starting.close();
  await app.listen({ host: config.host, port: config.port });

  deps.startBackground();
  const stopRetention =
    config.role !== 'api' && config.eventRetentionDays !== undefined
      ? startRetention({ db: deps.database.db, days: config.eventRetentionDays, logger })
      : () => undefined;
  for (const c of Object.values(consumers)) c.start();
  // Installed once everything it stops exists (no await since the consumers started), in place of
  // the start-up's.
  stopDuringStartUp.remove();
  let stopSignal: { signal: NodeJS.Signals; at: number } | undefined;
  const grace = closeWithGrace(
    {
      delay: SHUTDOWN_GRACE_MS,
      // The stop signals are handled below; close-with-grace keeps the errors and the rest.
      skip: [...STOP_SIGNALS],
      logger: { error: (error: unknown) => logger.error({ err: error }, 'shutdown failed') },
      onTimeout: (delay) =>
        logger.error({ delay_ms: delay }, 'shutdown took too long: exiting without finishing'),
      onSecondError: (error) => logger.error({ err: error }, 'another error while shutting down: exiting'),
    },
    async ({ err, signal }) => {
      shuttingDown = true;
      if (err) logger.error({ err }, 'shutting down after an error');
      else
        logger.info({ signal: signal ?? stopSignal?.signal }, 'shutting down: finishing the batch in flight');
      stopRetention();
      await Promise.all(Object.values(consumers).map((c) => c.stop()));
      await app.close();
      await deps.close();
      logger.info('shut down');
    },
  );
  // A listener stays on each stop signal for good, so none ever gets its default action (the end of
  // the process, mid-batch). One signal often comes twice: a terminal's Ctrl-C, or a kill of the
  // process group, reaches npm and the service both, and npm passes its copy on. A repeat within a
  // second is that same request; a later one is someone insisting, and ends the process at once.
  for (const signal of STOP_SIGNALS) {
    process.on(signal, () => {
      if (stopSignal === undefined) {
        stopSignal = { signal, at: Date.now() };
        // A shutdown close-with-grace began itself (an uncaught error, SIGQUIT) is already running.
        if (!shuttingDown) grace.close();
      } else if (Date.now() - stopSignal.at > REPEATED_SIGNAL_MS) {
        logger.warn({ signal }, 'stop asked again: exiting now, without finishing the batch in flight');
        process.exit(1);
      }
    });
  }
  if (config.jwt.generated) {
    logger.info(
      { secretFile: `${config.dataDir}/jwt-secret` },
      `${config.jwt.createdNow ? 'generated a' : 'using the'} development JWT secret; get an admin token with: ${
        config.dataDir === path.resolve('data') ? '' : `DATA_DIR=${config.dataDir} `
      }npm run token`,
    );
  }
}

const USAGE = `usage: npm start [-- --role api|worker|all]
       npm run migrate
       npm run token [-- --role admin] [--user-id N] [--minutes N] [--type access|refresh]
       npm run rebuild [-- --force]
       npm run reconcile
   or: node --import tsx src/cli/main.ts <command> [options]
Configuration comes from the environment (README.md, Configuration).`;

/** A command line that names no command or option this program has, or a bad value for one. */
class UsageError extends Error {}

/** The options each command takes; any other is refused rather than ignored. */
const OPTIONS = {
  start: { role: { type: 'string' } },
  migrate: {},
  token: {
    role: { type: 'string', default: 'admin' },
    'user-id': { type: 'string', default: '1' },
    minutes: { type: 'string' },
    type: { type: 'string', default: 'access' },
  },
  rebuild: { force: { type: 'boolean', default: false } },
  reconcile: {},
} as const;

/** A whole number in [min, max] written in plain digits, or a UsageError naming the option. */
function wholeNumber(option: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d{1,16}$/.test(text) || n < min || n > max)
    throw new UsageError(`--${option} must be a whole number from ${min} to ${max} (got "${text}")`);
  return n;
}

function optionsOf(
  command: keyof typeof OPTIONS,
  args: string[],
): Record<string, string | boolean | undefined> {
  try {
    const options: ParseArgsConfig['options'] = OPTIONS[command];
    return parseArgs({ args, options, allowPositionals: false, strict: true }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (error) {
    // `npm run token --role admin` hands npm the option and the service only its value.
    const example = { token: 'npm run token -- --role admin', start: 'npm start -- --role api' }[
      command as string
    ];
    const hint =
      (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
        ? ` (through npm, options go after --${example ? `, as in: ${example}` : ''})`
        : '';
    throw new UsageError(`${command}: ${errorMessage(error)}${hint}`);
  }
}

/** The command and its arguments; none, or options first (`main.ts --role api`), is `start`. */
function commandLine(): [string, ...string[]] {
  const argv = process.argv.slice(2);
  const [command = 'start', ...rest] = argv[0]?.startsWith('-') ? ['start', ...argv] : argv;
  return [command, ...rest];
}

async function main(): Promise<void> {
  const [command, ...rest] = commandLine();
  // Asking for help anywhere on the line (`npm run token -- --help`) gets it.
  if ([command, ...rest].some((arg) => arg === 'help' || arg === '--help' || arg === '-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!Object.hasOwn(OPTIONS, command)) throw new UsageError(`unknown command "${command}"`);
  const values = optionsOf(command as keyof typeof OPTIONS, rest);
  if (
    command === 'start' &&
    values.role !== undefined &&
    !['api', 'worker', 'all'].includes(String(values.role))
  )
    throw new UsageError(`--role must be api, worker or all (got "${String(values.role)}")`);
  if (command === 'start') {
    const startUp = stopDuringStartUp();
    const { env, ...resolved } = await resolveEnv(process.env);
    return start(
      loadConfig(env, { ...resolved, ...(values.role ? { role: values.role as Role } : {}) }),
      startUp,
    );
  }
  const { env, ...resolved } = await resolveEnv(process.env);
  switch (command) {
    case 'migrate': {
      const config = loadConfig(env, resolved);
      const logger = operatorLogger(config);
      const database = await openDatabase(config, logger);
      const result = await migrateToLatest(database.db);
      for (const r of result.results ?? [])
        logger.info({ migration: r.migrationName, status: r.status }, 'migration');
      if (!result.error && (result.results ?? []).length === 0) logger.info('the schema is up to date');
      await database.close();
      if (result.error) throw result.error instanceof Error ? result.error : new Error('migration failed');
      return;
    }
    case 'token': {
      const config = loadConfig(env, resolved);
      // Its warnings go to stderr; stdout carries the token alone.
      const logger = operatorLogger(config);
      if (config.jwt.createdNow)
        logger.warn(
          { secretFile: `${config.dataDir}/jwt-secret` },
          `generated a new development JWT secret: only a service with DATA_DIR=${config.dataDir} accepts this token`,
        );
      const userId = wholeNumber('user-id', String(values['user-id']), 1, Number.MAX_SAFE_INTEGER);
      const minutes =
        values.minutes === undefined
          ? config.jwt.expiryMinutes
          : wholeNumber('minutes', String(values.minutes), 1, 7 * 24 * 60);
      if (values.type !== 'access' && values.type !== 'refresh')
        throw new UsageError(`--type must be access or refresh (got "${String(values.type)}")`);
      const token = await mintToken({
        secret: config.jwt.secret,
        algorithm: config.jwt.algorithm,
        userId,
        role: String(values.role),
        type: values.type,
        expiresInSeconds: minutes * 60,
      });
      process.stdout.write(`${token}\n`);
      return;
    }
    case 'rebuild': {
      const config = loadConfig(env, resolved);
      const logger = operatorLogger(config);
      const database = await openDatabase(config, logger);
      const report = await rebuildAggregates({
        db: database.db,
        config,
        force: values.force === true,
        logger,
      });
      await announceRebuild(config, database.db, report.data_version, logger);
      process.stdout.write(`${JSON.stringify(report)}\n`);
      await database.close();
      return;
    }
    case 'reconcile': {
      const config = loadConfig(env, resolved);
      const logger = operatorLogger(config);
      const database = await openDatabase(config, logger);
      const report = await reconcile({ db: database.db, config });
      process.stdout.write(`${JSON.stringify(report)}\n`);
      await database.close();
      // For a scheduled job: 2 when figures drifted, 3 when retention left nothing to verify them by.
      if (report.drift) process.exitCode = 2;
      else if (!report.comparable) process.exitCode = 3;
      return;
    }
  }
}

/** An operator command's log lines go to stderr: stdout carries its report (JSON) alone. */
function operatorLogger(config: Config): Logger {
  const logger = createLogger(config.logLevel, pino.destination({ fd: 2, sync: true }));
  for (const notice of config.notices) logger.warn(notice);
  return logger;
}

/**
 * The service's last word also goes where its log lines go, as one: a JSON log pipeline would
 * otherwise drop the line that says why it stopped. Operator commands answer on stderr only.
 */
function logFatal(message: string): void {
  if (commandLine()[0] !== 'start') return;
  createLogger('fatal', pino.destination({ fd: 1, sync: true })).fatal(message);
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    process.exit(64);
  }
  // Not a failure: the command refused, saying how to go on (`--force`); a job can tell it apart.
  if (error instanceof IncompleteLogError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(3);
  }
  const { code, syscall } = (error ?? {}) as { code?: string; syscall?: string };
  // The port is another process's (a second `npm start`), or a privileged one: say what moves it.
  const hint =
    syscall !== 'listen'
      ? ''
      : code === 'EADDRINUSE'
        ? ': another process listens there; stop it, or set PORT (and HOST) for this one'
        : code === 'EACCES'
          ? ': this user may not listen there; set PORT to 1024 or above'
          : '';
  const message = `${errorMessage(error)}${hint}`;
  logFatal(error instanceof ConfigError ? message : `fatal: ${message}`);
  if (error instanceof ConfigError) {
    process.stderr.write(`${message}\n`);
    process.exit(78);
  }
  process.stderr.write(`fatal: ${message}\n`);
  process.exit(1);
});
