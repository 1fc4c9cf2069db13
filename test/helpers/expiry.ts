import { Redis } from 'ioredis';

/**
 * Waits for keys to expire by listening to Redis' own `expired` keyspace events, so that tests await
 * the event instead of sleeping.
 */
export class ExpiryWatcher {
  readonly #subscriber: Redis;
  readonly #waiting = new Map<string, () => void>();

  private constructor(subscriber: Redis) {
    this.#subscriber = subscriber;
    subscriber.on('messageBuffer', (_channel: Buffer, key: Buffer) => {
      const id = key.toString('hex');
      this.#waiting.get(id)?.();
      this.#waiting.delete(id);
    });
  }

  /** Turns on expired-key events on the server at host:port and subscribes to them. */
  static async start(host: string, port: number, password?: string): Promise<ExpiryWatcher> {
    const subscriber = new Redis({ host, port, ...(password ? { password } : {}) });
    await subscriber.config('SET', 'notify-keyspace-events', 'Ex');
    await subscriber.subscribe('__keyevent@0__:expired');
    return new ExpiryWatcher(subscriber);
  }

  /** Resolves when `key` expires. Call it before writing the key, so the event cannot be missed. */
  expiry(key: string | Buffer): Promise<void> {
    const id = Buffer.from(key).toString('hex');
    return new Promise((resolve) => this.#waiting.set(id, resolve));
  }

  stop(): void {
    this.#subscriber.disconnect();
  }
}
