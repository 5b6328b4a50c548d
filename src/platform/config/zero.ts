/**
 * Secrets from Zero (`@zerosecrets/zero`), when ZERO_TOKEN is set: merged under the environment,
 * which wins for the same key.
 */
import { withTimeout } from '../deadline.ts';
import { errorMessage } from '../error-message.ts';
import { ConfigError, type Env } from './reader.ts';

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

/** The environment, with Zero's secrets under it, and what start-up should warn of. */
export interface ResolvedEnv {
  readonly env: Env;
  readonly notices: readonly string[];
  /** When Zero answered: the settings whose value came from it (the environment had none). */
  readonly fromZero?: readonly string[];
}

/**
 * The settings without which the service would quietly run on something else: an embedded store, a
 * generated key, no shared Redis, or another database or Redis database than the one Zero names.
 * When Zero cannot be reached, the environment must hold each in a form that would have won over
 * whatever Zero holds: a whole URL (a `database-url` in Zero beats the environment's `DB_HOST` and
 * its other parts, and a missing `DB_NAME` or Redis database number would take its default).
 */
const REQUIRED: readonly { readonly what: string; readonly key: string }[] = [
  { what: 'the database', key: 'DATABASE_URL' },
  { what: 'Redis', key: 'REDIS_URL' },
  { what: 'the JWT secret', key: 'JWT_SECRET' },
];

/**
 * Fetches secrets from Zero when ZERO_TOKEN is set. The environment wins over Zero for the same key;
 * a variable set to nothing does not (compose files pass `DB_HOST: ${DB_HOST}` empty), so Zero's
 * value stands.
 * - Zero out of reach or silent past the deadline: the start goes on from the environment alone if
 *   it holds a fallback for every required setting (`DATABASE_URL`, `REDIS_URL`, `JWT_SECRET`), with
 *   a warning; otherwise it stops, naming what is missing, rather than run on an empty embedded
 *   store or another database.
 * - Zero answering with a refusal (a bad token), or holding no `evently` secrets: the start stops.
 *   That is a mistake to mend, not an outage to ride out.
 * `fetchZero` is injectable so tests need no network.
 */
export async function resolveEnv(
  env: Env,
  fetchZero: (token: string) => Promise<Record<string, Record<string, string>>> = defaultZeroFetch,
  deadlineMs = ZERO_DEADLINE_MS,
): Promise<ResolvedEnv> {
  const token = env.ZERO_TOKEN;
  if (!token) return { env, notices: [] };
  const set = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
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
    const failure = zeroFailure(error, token);
    if (!failure.answered) {
      const missing = REQUIRED.filter(({ key }) => set[key] === undefined);
      if (missing.length === 0)
        return {
          env: set,
          notices: [
            `Zero could not be reached (${failure.text}): started from the environment alone, which ` +
              'holds DATABASE_URL, REDIS_URL and JWT_SECRET; any other setting kept in Zero is at its ' +
              'environment value or default until a restart reaches Zero',
          ],
        };
      throw new ConfigError([
        `ZERO_TOKEN is set but Zero could not be reached (${failure.text}), and the environment has ` +
          `no fallback for ${missing.map(({ what, key }) => `${what} (${key})`).join(', ')}. ` +
          'Retry when Zero answers, set them in the environment, or unset ZERO_TOKEN to run from the ' +
          'environment alone',
      ]);
    }
    throw new ConfigError([
      `ZERO_TOKEN is set but Zero did not give the secrets (${failure.text}): check the token, or ` +
        'unset ZERO_TOKEN to run from the environment alone',
    ]);
  }
  if (Object.keys(fromZero).length === 0)
    throw new ConfigError([
      'ZERO_TOKEN is set but Zero holds no "evently" secrets for it: check the token, or unset ZERO_TOKEN ' +
        'to run from the environment alone',
    ]);
  return {
    env: { ...fromZero, ...set },
    notices: [],
    fromZero: Object.keys(fromZero).filter((key) => set[key] === undefined),
  };
}

/**
 * Why Zero gave nothing, without the token (the SDK's GraphQL client writes the whole request, token
 * and all, into its errors' messages), and whether Zero itself answered. A refusal it sends (an
 * error in its answer, a 4xx) is a mistake to mend; no answer, or a 5xx from what stands in front of
 * it, is an outage.
 */
function zeroFailure(error: unknown, token: string): { text: string; answered: boolean } {
  // (A token too short to be one, as tests use, would scrub letters out of every word.)
  const scrub = (text: string) =>
    (token.length >= 8 ? text.replaceAll(token, '[ZERO_TOKEN]') : text).slice(0, 200);
  const response = (error as { response?: { status?: unknown; errors?: { message?: unknown }[] } } | null)
    ?.response;
  const first = response?.errors?.[0]?.message;
  if (typeof first === 'string') return { text: `it answered: ${scrub(first)}`, answered: true };
  if (typeof response?.status === 'number')
    return { text: `it answered HTTP ${response.status}`, answered: response.status < 500 };
  return { text: scrub(errorMessage(error)), answered: false };
}

async function defaultZeroFetch(token: string): Promise<Record<string, Record<string, string>>> {
  const { zero } = await import('@zerosecrets/zero');
  const secrets = await zero({ token, pick: ['evently'], callerName: 'evently-analytics' }).fetch();
  const out: Record<string, Record<string, string>> = {};
  for (const [group, values] of Object.entries(secrets)) if (values) out[group] = values;
  return out;
}
