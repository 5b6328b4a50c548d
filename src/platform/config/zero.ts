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
  if (typeof first === 'string') return `it answered: ${scrub(first)}`;
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
