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

/**
 * Parameter names that carry credentials: containing one of these (`client_secret`, `apiKey`), or
 * being one of the short ones.
 */
const CREDENTIAL_NAME =
  /token|jwt|passw|passphrase|pwd|secret|signature|(api|access|private)[-_]?key|authoriz|credential|session|^(auth|key|sig|code|pass)$/;
/** A JWT (its header and claims are base64url JSON objects: `eyJ…`), or a bearer header's value. */
const CREDENTIAL_VALUE = /^(?:[Bb]earer\s+)?eyJ[\w-]{8,}\.eyJ[\w-]{8,}\./;
/** A JWT anywhere else in a URL (a path segment, a bare `?eyJ…`). */
const JWT_ANYWHERE = /\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*/g;

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    // Malformed escapes: checked as written.
    return text;
  }
}

/**
 * Strips credentials that may ride in a query string (EventSource cannot send headers; a client
 * may put anything there), however the parameter's name is written (`%74oken=` is `token=` to the
 * service, `token[]=` too) and whatever a JWT's parameter is called.
 */
export function redactQuery(url: string): string {
  const credential = (name: string, value: string) =>
    CREDENTIAL_NAME.test(decoded(name).toLowerCase()) || CREDENTIAL_VALUE.test(decoded(value).trim());
  return url
    .replace(/([?&])([^=&#]*)=([^&#]*)/g, (_whole, sep: string, name: string, value: string) =>
      credential(name, value)
        ? `${sep}${name}=[redacted]`
        : // `a=1;password=…`: pairs some clients separate with `;` inside a value.
          `${sep}${name}=${value.replace(/;([^=;]*)=([^;]*)/g, (pair, inner: string, innerValue: string) =>
            credential(inner, innerValue) ? `;${inner}=[redacted]` : pair,
          )}`,
    )
    .replace(JWT_ANYWHERE, '[redacted]');
}
