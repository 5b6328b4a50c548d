/**
 * The baseline for bench:query: a minimal Fastify app (one JSON route, no plugins, no logging),
 * started as a child process exactly like the service so both pay the same process costs.
 * With HELLO_BODY_FILE it also serves that file's text at /body (a baseline with the same payload
 * as the endpoint under test: what the bytes alone cost).
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
const bodyFile = process.env.HELLO_BODY_FILE;
if (bodyFile) {
  const body = readFileSync(bodyFile, 'utf8');
  app.get('/body', (_request, reply) => reply.type('application/json; charset=utf-8').send(body));
}
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
