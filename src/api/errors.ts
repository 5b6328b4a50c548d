/** Typed domain errors; the one error handler in app.ts maps them to RFC 9457 problem details. */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends DomainError {
  constructor(detail: string) {
    super(400, 'Bad Request', detail);
  }
}

export class NotFoundError extends DomainError {
  constructor(detail: string) {
    super(404, 'Not Found', detail);
  }
}

export class UnauthorizedError extends DomainError {
  /** `invalidToken`: a token was given and refused (RFC 6750 §3.1); without it, none was given. */
  constructor(detail: string, opts: { invalidToken?: boolean } = {}) {
    super(401, 'Unauthorized', detail, {
      'WWW-Authenticate': `Bearer realm="evently-analytics"${opts.invalidToken ? ', error="invalid_token"' : ''}`,
    });
  }
}

export class ConflictError extends DomainError {
  constructor(detail: string) {
    super(409, 'Conflict', detail);
  }
}

export class UnsupportedMediaTypeError extends DomainError {
  constructor(detail: string) {
    super(415, 'Unsupported Media Type', detail);
  }
}

export class ForbiddenError extends DomainError {
  constructor(detail: string) {
    super(403, 'Forbidden', detail);
  }
}

export class UnavailableError extends DomainError {
  constructor(detail: string, retryAfterSeconds = 5) {
    super(503, 'Service Unavailable', detail, { 'Retry-After': String(retryAfterSeconds) });
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  request_id: string;
}

export function problemType(status: number): string {
  return `https://evently.dev/problems/${status}`;
}
