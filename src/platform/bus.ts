/**
 * Change notifications between instances: after each committed batch an instance publishes
 * {data_version, changed}; every instance (itself included) hears it. Redis pub/sub when Redis
 * is configured, an in-process emitter otherwise.
 */
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

export const INTERNAL_CHANNEL = 'analytics-internal:changes';

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

export function createRedisBus(redis: Redis, onError: (error: unknown) => void): Bus {
  const local = createLocalBus();
  const subscriber = redis.duplicate();
  subscriber.on('error', onError);
  subscriber.on('message', (channel: string, text: string) => {
    if (channel !== INTERNAL_CHANNEL) return;
    try {
      void local.publish(JSON.parse(text) as BusMessage);
    } catch (error) {
      onError(error);
    }
  });
  subscriber.subscribe(INTERNAL_CHANNEL).catch(onError);
  return {
    async publish(message) {
      try {
        await redis.publish(INTERNAL_CHANNEL, JSON.stringify(message));
      } catch (error) {
        // Redis is down: this instance still learns of its own change.
        onError(error);
        await local.publish(message);
      }
    },
    subscribe: (listener) => local.subscribe(listener),
    async close() {
      subscriber.disconnect();
      await local.close();
    },
  };
}
