/**
 * Change notifications between instances: after each committed batch an instance publishes
 * {data_version, changed}; every instance (itself included) hears it. Redis pub/sub when Redis
 * is configured, an in-process emitter otherwise.
 *
 * An instance always hears its own notices in process, at once, whatever state Redis is in; Redis
 * only carries them to the other instances, and each instance ignores its own echo. So a Redis
 * outage narrows the bus to this instance (the others catch up through the data-version barrier)
 * and never loses or delays a notice here.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

export interface ChangeNotice {
  data_version: number;
  changed: string[];
}

export type BusMessage = { kind: 'change'; notice: ChangeNotice } | { kind: 'users' };

export interface Bus {
  publish(message: BusMessage): Promise<void>;
  subscribe(listener: (message: BusMessage) => void): () => void;
  close(): Promise<void>;
}

/** The channel of one deployment (one store): deployments sharing a Redis never hear each other. */
export function internalChannel(storeId: string): string {
  return `analytics-internal:${storeId}:changes`;
}

export function createLocalBus(): Bus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    publish(message) {
      emitter.emit('message', message);
      return Promise.resolve();
    },
    subscribe(listener) {
      emitter.on('message', listener);
      return () => emitter.off('message', listener);
    },
    close: () => Promise.resolve(),
  };
}

/** On the wire a message carries the publishing instance, so that instance can skip its echo. */
type WireMessage = BusMessage & { origin?: string };

export function createRedisBus(redis: Redis, storeId: string, onError: (error: unknown) => void): Bus {
  const channelName = internalChannel(storeId);
  const local = createLocalBus();
  const origin = randomUUID();
  // Its own connection (a subscribed connection takes no other commands), connecting now even if
  // the main one was made lazy, and subscribing on every ready: a subscription asked for while
  // Redis is down would otherwise fail once (no offline queue) and never be made.
  const subscriber = redis.duplicate({ lazyConnect: false });
  subscriber.on('error', onError);
  subscriber.on('ready', () => {
    subscriber.subscribe(channelName).catch(onError);
  });
  subscriber.on('message', (channel: string, text: string) => {
    if (channel !== channelName) return;
    let message: WireMessage;
    try {
      message = JSON.parse(text) as WireMessage;
    } catch (error) {
      onError(error);
      return;
    }
    if (message.origin === origin) return;
    const { origin: _origin, ...rest } = message;
    void local.publish(rest);
  });

  return {
    async publish(message) {
      await local.publish(message);
      // Not connected: the other instances learn the version through their barrier instead. Not
      // awaited: a slow Redis must not hold up the ingest answer that published the notice.
      if (redis.status !== 'ready') return;
      redis.publish(channelName, JSON.stringify({ ...message, origin } satisfies WireMessage)).catch(onError);
    },
    subscribe: (listener) => local.subscribe(listener),
    async close() {
      subscriber.disconnect();
      await local.close();
    },
  };
}
