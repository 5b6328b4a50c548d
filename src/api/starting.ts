/**
 * A stand-in on the service's port while start-up waits for PostgreSQL (however long that takes):
 * `/health/live` answers, since the process is alive; `/health` and `/health/ready` answer 503 in
 * their documented shapes, saying why; everything else is a 503 problem with Retry-After. Without
 * it nothing listened until the database came, and an orchestrator's liveness probe would restart a
 * pod that was only waiting for it.
 */
import http from 'node:http';
import type { Logger } from '../platform/logger.ts';
import { redactQuery } from '../platform/logger.ts';
import { requestIdFrom } from '../platform/request-id.ts';
import { API_SECURITY_HEADERS } from '../platform/security-headers.ts';
import { problemType } from './errors.ts';

const RETRY_AFTER_SECONDS = 5;

/** /health while starting: nothing is known yet but that the database has not answered. */
function startingHealth(startedAt: number, waiting: string) {
  const unknown = { status: 'unknown', detail: 'not checked until start-up is done' };
  return {
    status: 'unhealthy',
    reasons: [waiting],
    checks: {
      database: { status: 'down', detail: waiting },
      redis: unknown,
      consumer: { status: 'starting', consumers: {} },
    },
    ingest: { processed: null, duplicates: null, ignored: null, rejected: null, lag: null },
    reconcile: null,
    data_version: null,
    uptime_s: Math.floor((Date.now() - startedAt) / 1000),
  };
}

export interface StartingServer {
  /** Stops answering and frees the port for the service itself. */
  close(): Promise<void>;
}

export interface StartingOptions {
  host: string;
  port: number;
  startedAt?: number;
  /** Why it is not ready: the database it waits for (the default), or the embedded one opening. */
  waiting?: string;
  /** Each request and its answer get a line, with the request id the answer carries. */
  logger?: Logger;
}

export async function listenWhileStarting(options: StartingOptions): Promise<StartingServer> {
  const { host, port, startedAt = Date.now(), waiting = 'starting: waiting for the database' } = options;
  const log = options.logger?.child({ component: 'starting' });
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    res.once('finish', () =>
      log?.info(
        {
          reqId: requestId,
          req: { method: req.method, url: redactQuery(req.url ?? '/') },
          res: { statusCode: res.statusCode },
        },
        'request answered while starting',
      ),
    );
    for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) res.setHeader(name, value);
    res.setHeader('cache-control', 'no-store');
    if (req.method === 'GET' && path === '/health/live') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ status: 'alive' }));
      return;
    }
    const retry = { 'retry-after': String(RETRY_AFTER_SECONDS) };
    if (req.method === 'GET' && (path === '/health' || path === '/health/ready')) {
      res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', ...retry });
      res.end(
        JSON.stringify(path === '/health' ? startingHealth(startedAt, waiting) : { status: 'starting' }),
      );
      return;
    }
    res.writeHead(503, { 'content-type': 'application/problem+json; charset=utf-8', ...retry });
    res.end(
      JSON.stringify({
        type: problemType(503),
        title: 'Service Unavailable',
        status: 503,
        detail: waiting,
        instance: redactQuery(path),
        request_id: requestId,
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
