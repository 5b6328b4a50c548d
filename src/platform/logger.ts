/**
 * pino JSON logs; tokens, passwords and secrets are redacted wherever they appear, and an error is
 * logged as its type, message and code: never a stack trace (which can quote source and data).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'evently-analytics' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'headers.authorization',
          '*.password',
          '*.secret',
          '*.token',
          'config.jwt',
        ],
        censor: '[redacted]',
      },
      serializers: {
        err: errorFields,
        req(req: { method?: string; url?: string; id?: string; ip?: string }) {
          return { method: req.method, url: redactQuery(req.url ?? ''), id: req.id, ip: req.ip };
        },
      },
    },
    destination,
  );
}

/** What a log line keeps of an error: enough to tell what failed, nothing of where in the code. */
export function errorFields(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  return {
    type: error.name,
    message: error.message,
    ...(code === undefined ? {} : { code }),
    ...(statusCode === undefined ? {} : { statusCode }),
    ...(error.cause === undefined || depth >= 3 ? {} : { cause: errorFields(error.cause, depth + 1) }),
  };
}

const CREDENTIAL_PARAMS = new Set(['token', 'access_token', 'jwt']);

/**
 * Strips credentials that may ride in a query string (EventSource cannot send headers), however
 * the parameter's name is written (`%74oken=` is `token=` to the service).
 */
export function redactQuery(url: string): string {
  return url.replace(/([?&])([^=&#]*)=([^&#]*)/g, (whole, sep: string, name: string) => {
    let decoded = name;
    try {
      decoded = decodeURIComponent(name.replaceAll('+', ' '));
    } catch {
      // A malformed name stays as written; it is checked as such.
    }
    return CREDENTIAL_PARAMS.has(decoded.trim().toLowerCase()) ? `${sep}${name}=[redacted]` : whole;
  });
}
