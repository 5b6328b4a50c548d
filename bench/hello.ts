/**
 * The baseline for bench:query: a minimal Fastify app (one JSON route, no plugins, no logging),
 * started as a child process exactly like the service so both pay the same process costs.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
