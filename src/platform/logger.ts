/** pino JSON logs; tokens, passwords and secrets are redacted wherever they appear. */
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
        req(req: { method?: string; url?: string; id?: string; ip?: string }) {
          return { method: req.method, url: redactQuery(req.url ?? ''), id: req.id, ip: req.ip };
        },
      },
    },
    destination,
  );
}

/** Strips credentials that may ride in a query string (EventSource cannot send headers). */
export function redactQuery(url: string): string {
  return url.replace(/([?&](?:token|access_token|jwt)=)[^&#]*/gi, '$1[redacted]');
}
