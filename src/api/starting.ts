/**
 * A stand-in on the service's port while start-up waits for PostgreSQL (however long that takes):
 * `/health/live` answers, since the process is alive, and everything else is a 503 problem with
 * Retry-After. Without it nothing listened until the database came, and an orchestrator's liveness
 * probe would restart a pod that was only waiting for it.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';

const RETRY_AFTER_SECONDS = 5;

export interface StartingServer {
  /** Stops answering and frees the port for the service itself. */
  close(): Promise<void>;
}

export async function listenWhileStarting(host: string, port: number): Promise<StartingServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const requestId = randomUUID();
    res.setHeader('x-request-id', requestId);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'no-store');
    if (req.method === 'GET' && path === '/health/live') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ status: 'alive' }));
      return;
    }
    res.writeHead(503, {
      'content-type': 'application/problem+json; charset=utf-8',
      'retry-after': String(RETRY_AFTER_SECONDS),
    });
    res.end(
      JSON.stringify({
        type: 'about:blank',
        title: 'Service Unavailable',
        status: 503,
        detail: 'starting: waiting for the database',
        instance: path,
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
