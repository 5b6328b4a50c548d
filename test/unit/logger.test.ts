/** What log lines may hold: never a stack trace, never a credential from a URL. */
import { describe, expect, it } from 'vitest';
import { createLogger, redactQuery } from '../../src/platform/logger.ts';

function capture() {
  const lines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

describe('log lines', () => {
  it('keep an error as its type, message and code, without a stack trace', () => {
    const { logger, lines } = capture();
    const error = Object.assign(
      new Error('connect ECONNREFUSED 127.0.0.1:5432', { cause: new TypeError('inner') }),
      {
        code: 'ECONNREFUSED',
      },
    );
    logger.error({ err: error }, 'database unavailable');
    const line = JSON.parse(lines[0] ?? '{}') as { err: Record<string, unknown> };
    expect(line.err).toEqual({
      type: 'Error',
      message: 'connect ECONNREFUSED 127.0.0.1:5432',
      code: 'ECONNREFUSED',
      cause: { type: 'TypeError', message: 'inner' },
    });
    expect(lines[0]).not.toMatch(/stack|\n\s+at /);
  });

  it('redact credentials in the query string however their name is written', () => {
    expect(redactQuery('/api/v1/analytics/stream?token=eyJ.a.b')).toBe(
      '/api/v1/analytics/stream?token=[redacted]',
    );
    expect(redactQuery('/stream?%74oken=eyJ.a.b&x=1')).toBe('/stream?%74oken=[redacted]&x=1');
    expect(redactQuery('/stream?a=1&ACCESS_TOKEN=s3cret#frag')).toBe(
      '/stream?a=1&ACCESS_TOKEN=[redacted]#frag',
    );
    expect(redactQuery('/stream?token%5B%5D=abc&password=hunter2&client_secret=x&apiKey=k')).toBe(
      '/stream?token%5B%5D=[redacted]&password=[redacted]&client_secret=[redacted]&apiKey=[redacted]',
    );
    // A JWT is redacted whatever its parameter is called, and wherever it is in the URL.
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJl';
    expect(redactQuery(`/stream?a=${jwt}&b=Bearer%20${jwt}&c=1`)).toBe(
      '/stream?a=[redacted]&b=[redacted]&c=1',
    );
    expect(redactQuery(`/stream/${jwt}?${jwt}`)).toBe('/stream/[redacted]?[redacted]');
    // A value is redacted whole, `;` included; `;` pairs inside another value are read too.
    expect(redactQuery('/x?password=p;ss&token=abc;def&a=1')).toBe(
      '/x?password=[redacted]&token=[redacted]&a=1',
    );
    expect(redactQuery('/x?a=1;password=p&key=k&code=c')).toBe(
      '/x?a=1;password=[redacted]&key=[redacted]&code=[redacted]',
    );
    // Signed-URL and key parameters under other clouds' names, and a bare `pass`.
    expect(
      redactQuery('/x?pass=hunter2&access_key=a&private_key=p&X-Amz-Signature=s&passphrase=q&compass=n'),
    ).toBe(
      '/x?pass=[redacted]&access_key=[redacted]&private_key=[redacted]&X-Amz-Signature=[redacted]&passphrase=[redacted]&compass=n',
    );
    // Not a JWT: a search for a file name or a volcano stays readable.
    expect(redactQuery('/events?q=heyJude.mp3.old&x=Eyjafjallajokull.v1.2')).toBe(
      '/events?q=heyJude.mp3.old&x=Eyjafjallajokull.v1.2',
    );
    expect(redactQuery('/daily?days=7&tz=UTC')).toBe('/daily?days=7&tz=UTC');
    expect(
      redactQuery('/events?q=rock&sort=revenue&order=desc&status=active&limit=5&offset=10&as_of=2026-11-01'),
    ).toBe('/events?q=rock&sort=revenue&order=desc&status=active&limit=5&offset=10&as_of=2026-11-01');
    expect(redactQuery('/daily?%zz=1')).toBe('/daily?%zz=1');
  });
});
