import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, redactUrl, configSummary, loadConfig, resolveEnv } from '../../src/platform/config.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'evently-config-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function problemsOf(
  env: Readonly<Record<string, string | undefined>>,
  overrides: Parameters<typeof loadConfig>[1] = {},
): string[] {
  try {
    loadConfig(env, overrides);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('runs embedded with nothing configured, generating and keeping a JWT secret under DATA_DIR', () => {
    const dir = tempDir();
    const config = loadConfig({ DATA_DIR: dir });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.jwt.generated).toBe(true);
    expect(readFileSync(path.join(dir, 'jwt-secret'), 'utf8')).toBe(config.jwt.secret);
    expect(loadConfig({ DATA_DIR: dir }).jwt.secret).toBe(config.jwt.secret);
    expect(config).toMatchObject({
      port: 8003,
      cacheTtlSeconds: 300,
      reportingTimezone: 'UTC',
      baseCurrency: 'USD',
    });
  });

  it('reports every bad key at once', () => {
    const problems = problemsOf({
      DATA_DIR: tempDir(),
      PORT: 'eighty',
      REPORTING_TIMEZONE: 'Mars/Olympus',
      ANALYTICS_CACHE_TTL: '-1',
      JWT_ALGORITHM: 'none',
      CORS_ORIGINS: '*',
    });
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).toMatch(/PORT[\s\S]*ANALYTICS_CACHE_TTL|ANALYTICS_CACHE_TTL[\s\S]*PORT/);
    expect(problems.join('\n')).toMatch(/REPORTING_TIMEZONE/);
    expect(problems.join('\n')).toMatch(/JWT_ALGORITHM/);
    expect(problems.join('\n')).toMatch(/CORS_ORIGINS/);
  });

  it('reports a DATA_DIR the embedded store cannot use with the other bad keys, and writes nothing', () => {
    const file = path.join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const problems = problemsOf({ DATA_DIR: path.join(file, 'data'), PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/DATA_DIR .* is a file/);
    // A bad configuration leaves no generated secret behind.
    const dir = tempDir();
    expect(problemsOf({ DATA_DIR: dir, PORT: 'eighty' })).toHaveLength(1);
    expect(existsSync(path.join(dir, 'jwt-secret'))).toBe(false);
    // An external database does not use DATA_DIR.
    expect(
      problemsOf({
        DATA_DIR: path.join(file, 'data'),
        DATABASE_URL: 'postgres://localhost/x',
        JWT_SECRET: 'x'.repeat(32),
      }),
    ).toEqual([]);
  });

  it('takes HOST as an IP address or a host name, and refuses anything else with the rest', () => {
    for (const host of [
      '0.0.0.0',
      '127.0.0.1',
      '::',
      '::1',
      'localhost',
      'api-1.internal.example',
      'api.example.',
      'my_api',
    ])
      expect(problemsOf({ DATA_DIR: tempDir(), HOST: host }), host).toEqual([]);
    for (const host of ['999.1.1.1', '10.0.0', 'bad host', '-x.example', 'x..y', '.']) {
      const problems = problemsOf({ DATA_DIR: tempDir(), HOST: host, PORT: 'eighty' });
      expect(problems, host).toHaveLength(2);
      expect(problems.join('\n')).toMatch(/HOST must be an IP address or a host name/);
    }
  });

  it('refuses the worker role without Redis, which it would have nothing to consume from', () => {
    expect(problemsOf({ DATA_DIR: tempDir(), ROLE: 'worker' }).join('\n')).toMatch(
      /worker role .*\(REDIS_URL\)/,
    );
    expect(
      loadConfig({ DATA_DIR: tempDir(), ROLE: 'worker', REDIS_URL: 'redis://127.0.0.1:6379' }).role,
    ).toBe('worker');
  });

  it('refuses proxies that are not addresses and origins that are not origins, with the rest', () => {
    const problems = problemsOf({
      DATA_DIR: tempDir(),
      TRUST_PROXY: '10.0.0.0/8,garbage',
      CORS_ORIGINS: 'https://admin.example.com,not a url,https://ops.example.com/path',
      PORT: 'eighty',
    });
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/TRUST_PROXY .*"garbage"/);
    expect(problems.join('\n')).toMatch(/CORS_ORIGINS .*"not a url", "https:\/\/ops.example.com\/path"/);
    const fine = loadConfig({
      DATA_DIR: tempDir(),
      TRUST_PROXY: 'loopback, 10.0.0.0/8, 172.16.0.0/255.240.0.0, ::1, fd00::/8',
      CORS_ORIGINS: 'https://admin.example.com,http://localhost:5173',
    });
    expect(fine.trustProxy).toEqual(['loopback', '10.0.0.0/8', '172.16.0.0/255.240.0.0', '::1', 'fd00::/8']);
    expect(fine.corsOrigins).toEqual(['https://admin.example.com', 'http://localhost:5173']);
  });

  it('refuses connection URLs that do not parse, naming the key and never quoting the URL', () => {
    const secret = { JWT_SECRET: 'x'.repeat(40) };
    for (const [env, key] of [
      [{ DATABASE_URL: 'postgres://u:hunter2@127.0.0.1:99999/db' }, 'DATABASE_URL'],
      [{ DATABASE_URL: 'postgres://u:hunter2@127.0.0.1:abc/db' }, 'DATABASE_URL'],
      [{ DATABASE_URL: 'postgres://u:hun/ter2@127.0.0.1/db' }, 'DATABASE_URL'],
      [{ DATABASE_URL: 'postgres://u:hunter2@[::1/db' }, 'DATABASE_URL'],
      [{ DB_HOST: 'db host', DB_PASSWORD: 'hunter2' }, 'DB_HOST'],
      [{ DATA_DIR: tempDir(), REDIS_URL: 'redis://:hunter2@127.0.0.1:99999' }, 'REDIS_URL'],
      [{ DATA_DIR: tempDir(), REDIS_HOST: 'cache host', REDIS_PASSWORD: 'hunter2' }, 'REDIS_HOST'],
    ] as const) {
      const problems = problemsOf({ ...secret, ...env });
      expect(problems, JSON.stringify(env)).toHaveLength(1);
      expect(problems[0]).toMatch(new RegExp(`^${key} is not a valid URL`));
      expect(problems[0]).not.toContain('hunter2');
    }
    // Percent-encoded, the same password is fine; so is a Unix socket's empty host.
    for (const url of [
      'postgres://u:hun%2Fter2@127.0.0.1:5432/db',
      'postgres://postgres@/postgres?host=/var/run/postgresql',
      'postgres://u:p@/db?host=/cloudsql/proj:reg:inst',
      'postgres:///db?host=/var/run/postgresql',
    ])
      expect(problemsOf({ ...secret, DATABASE_URL: url }), url).toEqual([]);
    // Only an empty host followed by a path: the driver refuses the other empty hosts.
    for (const url of [
      'postgres://postgres@?host=/var/run/postgresql',
      'postgres://u:hunter2@',
      'postgres://@',
    ])
      expect(problemsOf({ ...secret, DATABASE_URL: url })[0], url).toMatch(
        /^DATABASE_URL is not a valid URL/,
      );
    // /info names a socket URL's database, never its credentials.
    expect(redactUrl('postgres://u:hunter2@/db?host=/var/run/postgresql')).toBe('postgres:///db');
  });

  it('refuses an external database without a JWT secret of at least 32 bytes', () => {
    expect(problemsOf({ DATABASE_URL: 'postgresql://x@localhost/db' })).toEqual([
      'JWT_SECRET is required when an external database is configured',
    ]);
    expect(problemsOf({ DATABASE_URL: 'postgresql://x@localhost/db', JWT_SECRET: 'short' })).toEqual([
      'JWT_SECRET must be at least 32 bytes',
    ]);
  });

  it('builds the database and Redis URLs from their parts', () => {
    const config = loadConfig({
      DB_HOST: 'db.internal',
      DB_PORT: '6543',
      DB_NAME: 'analytics',
      DB_USER: 'svc',
      DB_PASSWORD: 'p@ss',
      REDIS_HOST: 'cache.internal',
      REDIS_PASSWORD: 'r',
      REDIS_USE_TLS: 'true',
      JWT_SECRET: 'x'.repeat(32),
    });
    expect(config.databaseUrl).toBe('postgresql://svc:p%40ss@db.internal:6543/analytics');
    expect(config.redisUrl).toBe('rediss://:r@cache.internal:6379');
  });

  it('takes secrets from Zero, with the environment overriding the same key', async () => {
    const { env, notices } = await resolveEnv({ ZERO_TOKEN: 't', DB_HOST: 'from-env' }, () =>
      Promise.resolve({ evently: { 'db-host': 'from-zero', 'jwt-secret': 'z'.repeat(40) } }),
    );
    expect(env.DB_HOST).toBe('from-env');
    expect(env.JWT_SECRET).toBe('z'.repeat(40));
    expect(notices).toEqual([]);
  });

  it('refuses to start when Zero is unreachable and the environment lacks a required setting', async () => {
    const unreachable = () => Promise.reject(new Error('getaddrinfo ENOTFOUND'));
    await expect(resolveEnv({ ZERO_TOKEN: 't' }, unreachable)).rejects.toThrow(
      /Zero could not be reached \(getaddrinfo ENOTFOUND\).*no fallback for the database \(DATABASE_URL\), Redis \(REDIS_URL\), the JWT secret \(JWT_SECRET\).*unset ZERO_TOKEN/s,
    );
    // Its database settings may live in Zero: falling back would run on an empty embedded store.
    const refusal = resolveEnv(
      { ZERO_TOKEN: 't', JWT_SECRET: 'x'.repeat(32), REDIS_URL: 'redis://cache:6379', DATABASE_URL: '' },
      unreachable,
    );
    await expect(refusal).rejects.toThrow(ConfigError);
    await expect(refusal).rejects.toThrow(/no fallback for the database \(DATABASE_URL\)\. Retry/);
    // Parts are not enough: a `database-url` kept in Zero would have won over them, and a database
    // name or Redis database number left out would take its default (another database).
    await expect(
      resolveEnv(
        { ZERO_TOKEN: 't', DB_HOST: 'db.internal', REDIS_HOST: 'cache', JWT_SECRET: 'x'.repeat(32) },
        unreachable,
      ),
    ).rejects.toThrow(/no fallback for the database \(DATABASE_URL\), Redis \(REDIS_URL\)\./);
  });

  it('starts from the environment, with a warning, when Zero is unreachable and it holds every required setting', async () => {
    const unreachable = () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.9:443'));
    const env = {
      ZERO_TOKEN: 't',
      DATABASE_URL: 'postgresql://svc:pw@db.internal:5432/evently_prod',
      REDIS_URL: 'redis://:rp@cache:6379/3',
      JWT_SECRET: 'x'.repeat(32),
    };
    const resolved = await resolveEnv(env, unreachable);
    expect(resolved.notices).toEqual([
      expect.stringMatching(
        /^Zero could not be reached \(connect ECONNREFUSED 10\.0\.0\.9:443\): started from the environment alone/,
      ),
    ]);
    // The same connections as when Zero answers, whatever it holds for them: the URLs win.
    const answered = await resolveEnv(env, () =>
      Promise.resolve({
        evently: { 'database-url': 'postgresql://other@db2/other', 'redis-url': 'redis://cache2:6379/9' },
      }),
    );
    const fallback = loadConfig(resolved.env, { notices: resolved.notices });
    expect(fallback.databaseUrl).toBe(loadConfig(answered.env).databaseUrl);
    expect(fallback.redisUrl).toBe(loadConfig(answered.env).redisUrl);
    // The warning is logged with the configuration's own at start.
    expect(fallback.notices).toEqual(resolved.notices);
    // A gateway in front of Zero that answers 503 is an outage too; a 401 from Zero is not.
    const gateway = () =>
      Promise.reject(Object.assign(new Error('Bad Gateway'), { response: { status: 503 } }));
    await expect(resolveEnv(env, gateway)).resolves.toMatchObject({ notices: [expect.any(String)] });
    const unauthorized = () =>
      Promise.reject(Object.assign(new Error('Unauthorized'), { response: { status: 401 } }));
    await expect(resolveEnv(env, unauthorized)).rejects.toThrow(
      /Zero did not give the secrets \(it answered HTTP 401\): check the token/,
    );
  });
});

describe('configuration mistakes an operator makes', () => {
  it('reads numbers in plain digits only, and refuses a blank value rather than taking a default', () => {
    const problems = problemsOf({
      DATA_DIR: tempDir(),
      PORT: '   ',
      ANALYTICS_CACHE_TTL: '0x1F',
      RATE_LIMIT_INGEST: '1e3',
      EVENT_RETENTION_DAYS: '30.0',
      EVENT_STREAM_KEY: '  ',
    });
    expect([...problems].sort()).toEqual(
      [
        'EVENT_STREAM_KEY is blank (unset it to take the default)',
        'PORT is blank (unset it to take the default)',
        'EVENT_RETENTION_DAYS must be a whole number from 0 to 36500 (got "30.0")',
        'ANALYTICS_CACHE_TTL must be a whole number from 0 to 86400 (got "0x1F")',
        'RATE_LIMIT_INGEST must be a whole number from 0 to 10000000 (got "1e3")',
      ].sort(),
    );
    expect(loadConfig({ DATA_DIR: tempDir(), PORT: ' 8080 ' }).port).toBe(8080);
  });

  it('refuses a password given without its host, warns of the other parts, and names the parts a URL overrides', () => {
    expect(problemsOf({ DATA_DIR: tempDir(), DB_PASSWORD: 'p', REDIS_PASSWORD: 'p' })).toEqual([
      'DB_PASSWORD is set but DB_HOST is not: set DB_HOST (or DATABASE_URL) to use that server, or unset it',
      'REDIS_PASSWORD is set but REDIS_HOST is not: set REDIS_HOST (or REDIS_URL) to use that server, or unset it',
    ]);
    // Template defaults, and what Kubernetes sets for a Service named redis: runs embedded, warned.
    const embedded = loadConfig({
      DATA_DIR: tempDir(),
      DB_PORT: '5432',
      DB_NAME: 'evently_analytics',
      REDIS_PORT: 'tcp://10.96.0.5:6379',
      REDIS_USE_TLS: 'false',
    });
    expect(embedded.databaseUrl).toBeUndefined();
    expect(embedded.redisUrl).toBeUndefined();
    expect(embedded.notices).toEqual([
      'DB_PORT, DB_NAME are set but DB_HOST is not: set DB_HOST (or DATABASE_URL) to use that server, or unset them to silence this (not used meanwhile)',
      'REDIS_PORT is set but REDIS_HOST is not: set REDIS_HOST (or REDIS_URL) to use that server, or unset them to silence this (not used meanwhile)',
    ]);
    const config = loadConfig({
      DATABASE_URL: 'postgresql://x@db.internal/db',
      DB_HOST: 'elsewhere',
      REDIS_URL: 'rediss://cache.internal',
      REDIS_PORT: '6380',
      REDIS_USE_TLS: 'true',
      JWT_SECRET: 'x'.repeat(32),
    });
    expect(config.databaseUrl).toBe('postgresql://x@db.internal/db');
    expect(config.notices).toEqual([
      'DATABASE_URL is set, so DB_HOST is ignored',
      'REDIS_URL is set, so REDIS_PORT is ignored',
    ]);
  });

  it('refuses TLS asked of a plain Redis URL, and a Redis URL path that is not a database number', () => {
    const base = { DATA_DIR: tempDir() };
    expect(problemsOf({ ...base, REDIS_URL: 'redis://cache.internal', REDIS_USE_TLS: 'true' })).toEqual([
      'REDIS_USE_TLS asks for TLS but REDIS_URL is redis://: write rediss:// for TLS',
    ]);
    expect(problemsOf({ ...base, REDIS_URL: 'redis://cache.internal:6379/abc' })).toEqual([
      'REDIS_URL may only name a database number after the host (redis://host:6379/2)',
    ]);
    expect(loadConfig({ ...base, REDIS_URL: 'redis://cache.internal:6379/3' }).redisUrl).toBe(
      'redis://cache.internal:6379/3',
    );
  });

  it('refuses a password with an unencoded "#" without quoting it, and brackets an IPv6 host', () => {
    const problems = problemsOf({
      DATABASE_URL: 'postgresql://role:Sup3r@Secr3t#tail@127.0.0.1:5432/db',
      JWT_SECRET: 'x'.repeat(32),
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^DATABASE_URL is not a valid URL .*percent-encode/);
    expect(problems[0]).not.toMatch(/Sup3r|Secr3t|tail/);
    const config = loadConfig({ DB_HOST: '::1', REDIS_HOST: '::1', JWT_SECRET: 'x'.repeat(32) });
    expect(config.databaseUrl).toBe('postgresql://postgres@[::1]:5432/evently_analytics');
    expect(config.redisUrl).toBe('redis://[::1]:6379');
  });

  it('takes ISO currency codes only, and zones and origins in any case, written as browsers and ICU do', () => {
    const base = { DATA_DIR: tempDir() };
    expect(problemsOf({ ...base, BASE_CURRENCY: 'US$' })).toEqual([
      'BASE_CURRENCY must be an ISO 4217 currency code such as USD or EUR (got "US$")',
    ]);
    // Three letters ICU does not know: a typo, or a code newer than ICU's list (VED): warned of.
    expect(loadConfig({ ...base, BASE_CURRENCY: 'XYZ' }).notices).toEqual([
      "BASE_CURRENCY XYZ is no currency this Node.js knows (ICU's list): check its spelling, or every amount counts apart",
    ]);
    const config = loadConfig({
      ...base,
      BASE_CURRENCY: 'eur',
      REPORTING_TIMEZONE: 'europe/paris',
      CORS_ORIGINS: 'HTTPS://Admin.Example.com:443/, http://localhost:5173',
    });
    expect(config.baseCurrency).toBe('EUR');
    expect(config.reportingTimezone).toBe('Europe/Paris');
    // ICU's own name for it is an older one (Asia/Calcutta): the name given is kept.
    expect(loadConfig({ ...base, REPORTING_TIMEZONE: 'Asia/Kolkata' }).reportingTimezone).toBe(
      'Asia/Kolkata',
    );
    expect(
      problemsOf({ ...base, CORS_ORIGINS: 'https://a.example.com?, https://b.example.com/#' }),
    ).toHaveLength(1);
    expect(config.corsOrigins).toEqual(['https://admin.example.com', 'http://localhost:5173']);
    expect(problemsOf({ ...base, CORS_ORIGINS: 'https://*.example.com' })).toEqual([
      'CORS_ORIGINS must list origins one by one; a "*" (alone or in a host name) is refused because the API uses credentials',
    ]);
  });

  it('refuses a short JWT secret embedded too, and a kept development secret that was emptied', () => {
    expect(problemsOf({ DATA_DIR: tempDir(), JWT_SECRET: 'x' })).toEqual([
      'JWT_SECRET must be at least 32 bytes',
    ]);
    const dir = tempDir();
    writeFileSync(path.join(dir, 'jwt-secret'), '\n');
    expect(problemsOf({ DATA_DIR: dir })).toEqual([
      `${path.join(dir, 'jwt-secret')} holds no usable JWT secret (under 32 bytes): delete it and the next start generates one`,
    ]);
  });
});

describe('secrets from Zero', () => {
  it('never repeats the token in its refusal, and says what Zero answered', async () => {
    const token = 'zt_SUPERSECRET_TOKEN_123';
    // What the SDK's GraphQL client throws: the whole request, token included, in its message.
    const answered = Object.assign(
      new Error(`Invalid token: {"request":{"variables":{"token":"${token}","pick":["evently"]}}}`),
      { response: { status: 200, errors: [{ message: 'Invalid token' }] } },
    );
    const refusal = resolveEnv({ ZERO_TOKEN: token }, () => Promise.reject(answered));
    await expect(refusal).rejects.toThrow(/Zero did not give the secrets \(it answered: Invalid token\)/);
    await expect(refusal).rejects.not.toThrow(new RegExp(token));
    const leaky = () => Promise.reject(new Error(`request failed: {"token":"${token}"}`));
    await expect(resolveEnv({ ZERO_TOKEN: token }, leaky)).rejects.toThrow(/\[ZERO_TOKEN\]/);
    await expect(resolveEnv({ ZERO_TOKEN: token }, leaky)).rejects.not.toThrow(new RegExp(token));
  });

  it('gives up on a Zero that never answers, and refuses one that holds no evently secrets', async () => {
    const silent = () => new Promise<Record<string, Record<string, string>>>(() => undefined);
    await expect(resolveEnv({ ZERO_TOKEN: 't' }, silent, 50)).rejects.toThrow(
      /Zero could not be reached \(no answer within 0.05 s\)/,
    );
    await expect(resolveEnv({ ZERO_TOKEN: 't' }, () => Promise.resolve({}))).rejects.toThrow(
      /Zero holds no "evently" secrets/,
    );
  });

  it('names a setting by its key in Zero when its value came from there, or when Zero lacks a required one', async () => {
    const fromZero = await resolveEnv({ ZERO_TOKEN: 't', RATE_LIMIT_WINDOW: '0' }, () =>
      Promise.resolve({
        evently: { 'database-url': 'postgresql://x@db.internal/analytics', 'jwt-secret': 'short' },
      }),
    );
    expect(problemsOf(fromZero.env, fromZero)).toEqual([
      'JWT_SECRET (jwt-secret in Zero) must be at least 32 bytes',
      // Set in the environment: named as it is there.
      'RATE_LIMIT_WINDOW must be a whole number from 1 to 1440 (got "0")',
    ]);
    const lacking = await resolveEnv({ ZERO_TOKEN: 't' }, () =>
      Promise.resolve({ evently: { 'database-url': 'postgresql://x@db.internal/analytics' } }),
    );
    expect(problemsOf(lacking.env, lacking)).toEqual([
      'JWT_SECRET (or jwt-secret in Zero) is required when an external database is configured',
    ]);
    // The environment's value won over Zero's good one: the fault is the environment's.
    const overridden = await resolveEnv({ ZERO_TOKEN: 't', JWT_SECRET: 'short' }, () =>
      Promise.resolve({
        evently: { 'database-url': 'postgresql://x@db.internal/analytics', 'jwt-secret': 'z'.repeat(40) },
      }),
    );
    expect(problemsOf(overridden.env, overridden)).toEqual(['JWT_SECRET must be at least 32 bytes']);
    // Zero out of reach: nothing came from it, and nothing is named as if it had.
    const unreachable = await resolveEnv(
      {
        ZERO_TOKEN: 't',
        DATABASE_URL: 'postgresql://x@db.internal/analytics',
        REDIS_URL: 'redis://cache:6379',
        JWT_SECRET: 'short',
      },
      () => Promise.reject(new Error('getaddrinfo ENOTFOUND')),
    );
    expect(problemsOf(unreachable.env, unreachable)).toEqual(['JWT_SECRET must be at least 32 bytes']);
  });

  it("lets a variable set to nothing leave Zero's value standing", async () => {
    const { env } = await resolveEnv({ ZERO_TOKEN: 't', DB_HOST: '', DB_NAME: 'from-env' }, () =>
      Promise.resolve({ evently: { 'db-host': 'db.internal', 'db-name': 'from-zero' } }),
    );
    expect(env).toMatchObject({ DB_HOST: 'db.internal', DB_NAME: 'from-env' });
  });
});

describe('the configuration summary (/info)', () => {
  it('names where the stores are, never who connects or with what password', () => {
    const config = loadConfig({
      JWT_SECRET: 'a-secret-that-is-long-enough-for-hs256-0123456789',
      DATABASE_URL: 'postgresql://app:Pw1@db.internal:5432/analytics?password=S3cretPw&sslmode=require',
      REDIS_URL: 'redis://:R3dis@cache.internal:6379/2',
    });
    const text = JSON.stringify(configSummary(config));
    expect(text).toContain('db.internal:5432/analytics');
    expect(text).toContain('cache.internal:6379/2');
    for (const secret of ['Pw1', 'S3cretPw', 'R3dis', 'app@', 'password=', 'a-secret-that'])
      expect(text).not.toContain(secret);
  });

  it('shows the settings that shape figures and limits, never how the deployment is reached', () => {
    const external = loadConfig({
      JWT_SECRET: 'a-secret-that-is-long-enough-for-hs256-0123456789',
      DATABASE_URL: 'postgresql://app@db.internal/analytics',
      HOST: '10.1.2.3',
      JWT_EXPIRY_MINUTES: '45',
      CORS_ORIGINS: 'https://admin.example.com',
      TRUST_PROXY: '10.9.0.0/16',
      LOG_LEVEL: 'warn',
      CONSUMER_NAME: 'analytics-pod-7',
    });
    expect(configSummary(external)).toMatchObject({ jwt_expiry_minutes: 45, log_level: 'warn' });
    expect(configSummary(external)).not.toHaveProperty('embedded_min_free_mb');
    const text = JSON.stringify(configSummary(external));
    for (const mapping of ['10.1.2.3', 'admin.example.com', '10.9.0.0', 'analytics-pod-7'])
      expect(text).not.toContain(mapping);
    const dataDir = mkdtempSync(path.join(tmpdir(), 'evently-summary-'));
    try {
      const embedded = loadConfig({ DATA_DIR: dataDir, EMBEDDED_MIN_FREE_MB: '256' });
      expect(configSummary(embedded)).toMatchObject({
        database: 'embedded (PGlite)',
        embedded_min_free_mb: 256,
      });
      expect(JSON.stringify(configSummary(embedded))).not.toContain(dataDir);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
