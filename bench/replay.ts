/**
 * The floor for bench:query: a bare node:http server (no framework) that answers every request
 * with the service's own cached dashboard answer, captured once: the same status, the same
 * headers and the same gzipped bytes. It checks no token, counts no rate limit and looks nothing
 * up; only the request id is new for each answer, as the service's is. What it reaches is the most
 * a server sending exactly this answer could reach on the machine (with less than the hello
 * world's framework, too).
 * REPLAY_FILE holds `{ headers: [name, value][], body: base64 }`.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

interface Captured {
  headers: [string, string][];
  body: string;
}

const file = process.env.REPLAY_FILE;
if (!file) throw new Error('REPLAY_FILE is not set');
const captured = JSON.parse(readFileSync(file, 'utf8')) as Captured;
const body = Buffer.from(captured.body, 'base64');
const fixed = captured.headers.filter(([name]) => name.toLowerCase() !== 'x-request-id').flat();

const server = http.createServer((_request, response) => {
  response.writeHead(200, ['x-request-id', randomUUID(), ...fixed]);
  response.end(body);
});
// The service's keep-alive (Fastify's default), so the answers carry the same Keep-Alive header.
server.keepAliveTimeout = 72_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
