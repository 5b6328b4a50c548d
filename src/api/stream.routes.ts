/**
 * Server-Sent Events: a `change` after each committed batch (on every instance), heartbeats every
 * 15 s. Each `change` has the data version as its id, so an EventSource that reconnects (it sends
 * `Last-Event-ID`) is told at once if it missed a commit while it was away. A stream ends when its
 * user is disabled (within a second), when the session of its token expires, and when the service
 * shuts down, so neither a disabled user, an expired session nor an open browser tab holds
 * anything up.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { principalOf } from '../auth/auth.plugin.ts';
import { CLOCK_SKEW_SECONDS, mintToken } from '../auth/tokens.ts';
import { bodyIgnored, envelopeSchema, errorResponses } from './schemas.ts';
import { Common, NoQuery, readContext } from './params.ts';
import { everyFigureChanged } from '../ingest/entry.ts';
import type { Bus, ChangeNotice } from '../platform/bus.ts';
import type { JwtAlgorithm } from '../platform/config.ts';

export interface StreamRoutesOptions {
  bus: Bus;
  jwt: { secret: string; algorithm: JwtAlgorithm };
  /** Whether a user has been disabled (their open streams are ended). */
  isDisabled: (userId: number) => boolean;
  /** The data version of the last committed batch (on any instance). */
  dataVersion: () => Promise<number>;
  /** Told of each stream when it ends: a hijacked reply never reaches the metrics hook. */
  onStreamEnd?: (stream: { route: string; seconds: number }) => void;
  heartbeatMs?: number;
}

/** How often open streams are checked against disabled users. */
const USER_CHECK_MS = 1_000;

const STREAM_TOKEN_SECONDS = 120;

/** The data version a reconnecting EventSource saw last; undefined when it sent none we gave. */
function lastEventId(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d{1,15}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

const changeFrame = (notice: ChangeNotice) =>
  `id: ${notice.data_version}\nevent: change\ndata: ${JSON.stringify(notice)}\n\n`;

/** Heartbeats in a row that find a client taking nothing before its stream is ended (a minute). */
const STALLED_HEARTBEATS = 4;

/** setTimeout's longest delay; a session longer than that (24.8 days) is ended at that point. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const streamRoutes: FastifyPluginAsyncTypebox<StreamRoutesOptions> = async (app, opts) => {
  /** The streams open on this instance, each with its user and how to end it. */
  const open = new Map<() => void, number>();
  const userCheck = setInterval(() => {
    for (const [end, userId] of open) if (opts.isDisabled(userId)) end();
  }, USER_CHECK_MS);
  userCheck.unref();
  // A stream never ends by itself: without this, closing the server would wait for every tab.
  app.addHook('preClose', (done) => {
    for (const end of [...open.keys()]) end();
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    clearInterval(userCheck);
    done();
  });

  app.post(
    '/stream/token',
    {
      schema: {
        tags: ['analytics'],
        security: [{ bearerAuth: [] }],
        summary: 'A short-lived token for GET /stream?token= (EventSource cannot send headers)',
        querystring: NoQuery,
        response: {
          200: envelopeSchema(
            'stream token',
            Type.Object({ token: Type.String(), expires_in: Type.Integer() }),
          ),
          ...errorResponses,
          ...bodyIgnored,
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const token = await mintToken({
        secret: opts.jwt.secret,
        algorithm: opts.jwt.algorithm,
        userId: principal.userId,
        role: principal.role,
        type: 'stream',
        expiresInSeconds: STREAM_TOKEN_SECONDS,
        // The stream it opens lasts as long as the session, not just the two minutes of the URL token.
        sessionExp: principal.sessionExp,
      });
      return { success: true as const, data: { token, expires_in: STREAM_TOKEN_SECONDS } };
    },
  );

  app.get(
    '/stream',
    {
      config: { allowQueryToken: true, liveStream: true },
      schema: {
        tags: ['analytics'],
        security: [{ bearerAuth: [] }],
        summary: 'Live updates (text/event-stream): `change` events {data_version, changed}',
        description:
          'Each `change` event has the data version as its `id`. A client that reconnects with ' +
          '`Last-Event-ID` (an EventSource does so by itself) gets a `change` at once, naming every ' +
          'figure, when a batch was committed after that version.',
        querystring: Type.Object(
          {
            as_of: Common.as_of,
            tz: Common.tz,
            token: Type.Optional(
              Type.String({
                description: 'A stream token from POST /stream/token (EventSource cannot send headers)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
      },
    },
    (request, reply) => {
      // as_of and tz are accepted (and checked) as on every analytics GET; notices do not depend on them.
      readContext(request.query, 'UTC');
      const principal = principalOf(request);
      // Headers set on the reply so far (security, CORS, rate limit) go out with the stream's own:
      // a hijacked reply does not send them by itself.
      const earlier: Record<string, string | number | string[]> = {};
      for (const [name, value] of Object.entries(reply.getHeaders()))
        if (value !== undefined) earlier[name] = value;
      reply.hijack();
      request.liveStreamOpen = true;
      const res = reply.raw;
      res.writeHead(200, {
        ...earlier,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      res.write(': connected\n\n');
      // A slow client never blocks ingestion: when its socket buffer is full, notices are dropped
      // for it. The next one it gets carries the newest data_version, and names every figure, since
      // those the dropped ones named are unknown to it.
      let dropped = false;
      const send = (text: string): boolean => {
        if (res.writableNeedDrain) return false;
        res.write(text);
        return true;
      };
      // Versions only go up on a stream: a notice older than one already sent tells nothing new.
      const lastSeen = lastEventId(request.headers['last-event-id']);
      let sent = lastSeen;
      // A reconnection: until the version is read, a notice may be the first news of commits the
      // client missed, whose figures it cannot know, so it names every figure.
      let catchingUp = lastSeen !== undefined;
      const notify = (notice: ChangeNotice, force = false) => {
        if (!force && sent !== undefined && notice.data_version <= sent) return;
        sent = notice.data_version;
        const all = catchingUp || dropped;
        if (send(changeFrame(all ? everyFigureChanged(notice.data_version) : notice))) {
          dropped = false;
          return;
        }
        // Dropped: once the client has taken what waits, it is told of the newest version, even
        // if no commit comes after this one.
        if (!dropped)
          res.once('drain', () => dropped && sent !== undefined && notify(everyFigureChanged(sent), true));
        dropped = true;
      };
      const unsubscribe = opts.bus.subscribe((m) => {
        if (m.kind === 'change') notify(m.notice);
      });
      if (lastSeen !== undefined)
        opts.dataVersion().then(
          (version) => {
            if (!open.has(end)) return;
            const noticeSent = sent !== lastSeen;
            // Behind: what it missed, unless a notice since said so. Ahead (a restored store,
            // another deployment): the version that is, from which it follows from now on.
            if (version !== lastSeen && !noticeSent) notify(everyFigureChanged(version), true);
            catchingUp = false;
          },
          // PostgreSQL unreachable: the next committed batch tells the client instead.
          () => {
            catchingUp = false;
          },
        );
      // A client that reads nothing (a hung one, a proxy that buffers) would hold its socket and the
      // bytes queued for it until its session ends, a week at most. Heartbeats in a row that find
      // bytes waiting and none taken since the last end the stream; a client that still reads is
      // kept (taken counts whole socket writes: one reading a few KB a second may show none for a
      // minute). A live EventSource reconnects and catches up.
      let stalled = 0;
      // What the kernel took (bytesWritten counts what waits in the socket's own buffer too).
      const takenSoFar = () => (res.socket ? res.socket.bytesWritten - res.socket.writableLength : 0);
      let taken = takenSoFar();
      const heartbeat = setInterval(() => {
        const now = takenSoFar();
        stalled = (res.socket?.writableLength ?? 0) > 0 && now === taken ? stalled + 1 : 0;
        taken = now;
        if (stalled < STALLED_HEARTBEATS) {
          send(': heartbeat\n\n');
          return;
        }
        request.log.warn({ heartbeats: stalled }, 'live stream ended: the client took nothing meanwhile');
        close();
        res.destroy();
      }, opts.heartbeatMs ?? 15_000);
      // The session ends (its token expires, skew included): so does the stream. A browser's
      // EventSource then reconnects, and a page with a fresh token gets a new stream token.
      const sessionLeft = (principal.sessionExp + CLOCK_SKEW_SECONDS) * 1000 - Date.now();
      const expiry = setTimeout(() => end(), Math.max(0, Math.min(sessionLeft, MAX_TIMER_MS)));
      const openedAt = performance.now();
      const close = () => {
        if (!open.has(end)) return;
        clearInterval(heartbeat);
        clearTimeout(expiry);
        unsubscribe();
        open.delete(end);
        const seconds = (performance.now() - openedAt) / 1000;
        // The stream's own line, in place of Fastify's 'request completed' (liveStreamOpen).
        request.log.info({ seconds: Math.round(seconds * 1000) / 1000 }, 'live stream closed');
        opts.onStreamEnd?.({ route: request.routeOptions.url ?? request.url, seconds });
      };
      const end = () => {
        close();
        res.end();
      };
      open.set(end, principal.userId);
      request.raw.on('close', close);
      res.on('error', close);
    },
  );
};
