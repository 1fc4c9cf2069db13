/**
 * Prototypes of a leaner hot path for RedisBackend.read / write, built from the library's own modules, to
 * measure what a change to src/backend.ts and src/ioredis-runner.ts would gain before proposing it. Not part
 * of the default run (contenders `proto-then` and `proto-lean`, selected with BENCH_CONTENDERS).
 *
 * - proto-then: read/write are plain methods returning `scripts.read(...).then(toValue, toError)`: no async
 *   function frames and one promise fewer per layer; everything else as the backend does (key encoding,
 *   checks, CacheValue, IoredisScriptRunner with its NOSCRIPT recovery).
 * - proto-lean: as proto-then, and the EVALSHA goes straight to ioredis with no `.catch` wrapper in the
 *   runner: the backend's one rejection handler recovers from NOSCRIPT (by running the script through the
 *   full runner) and maps every other error. One promise above ioredis' own per operation.
 */
import type { Redis } from 'ioredis';

import type { CacheKey, CacheValue as CacheValueType } from '../../src/index.js';
import { importErrorMapping, importLib, importScripts } from './lib.js';

const { CacheKeyFormat, CacheValue, IoredisScriptRunner } = await importLib();
const { toBackendError } = await importErrorMapping();
const scripts = await importScripts();
type CacheValue<T> = CacheValueType<T>;

type Reply = import('../../generated/index.js').ReadReply;
type BufferScripts = {
  evalshaBuffer(sha: string, keys: number, ...args: (string | number | Buffer)[]): Promise<unknown>;
  evalsha_roBuffer(sha: string, keys: number, ...args: (string | number | Buffer)[]): Promise<unknown>;
};

function toValue(reply: Reply): CacheValue<Buffer> | null {
  if (reply === null) return null;
  const pttl = reply[2];
  return new CacheValue(reply[0], pttl >= 0 ? new Date(Date.now() + pttl) : null, reply[1] === null ? null : new Date(reply[1]));
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

export class ProtoBackend {
  readonly #client: Redis;
  readonly #runner: InstanceType<typeof IoredisScriptRunner>;
  readonly #direct: BufferScripts;
  readonly #lean: boolean;
  readonly #cork: boolean;
  readonly #format = CacheKeyFormat.UrlEncoded;
  #corked: { uncork(): void } | null = null;
  readonly #uncork = (): void => {
    const stream = this.#corked;
    this.#corked = null;
    stream?.uncork();
  };

  constructor(client: Redis, lean: boolean, cork = false) {
    this.#client = client;
    this.#runner = new IoredisScriptRunner(client);
    this.#direct = client as unknown as BufferScripts;
    this.#lean = lean;
    this.#cork = cork;
  }

  /**
   * proto-cork: with auto-pipelining off, ioredis writes every command to the socket at once (a syscall
   * each). Corking the socket for the rest of the tick sends every command issued in that tick in one writev,
   * flushed by process.nextTick, i.e. right after the microtasks that issued them, rather than in the next
   * event-loop iteration (setImmediate) as ioredis' auto-pipelining does.
   */
  #batch(): void {
    if (!this.#cork || this.#corked !== null) return;
    const stream = (this.#client as unknown as { stream?: { cork(): void; uncork(): void; writable?: boolean } }).stream;
    if (!stream || this.#client.status !== 'ready') return;
    stream.cork();
    this.#corked = stream;
    process.nextTick(this.#uncork);
  }

  read(key: CacheKey): Promise<CacheValue<Buffer> | null> {
    let redisKey: string | Buffer;
    try {
      redisKey = this.#format.encode(key);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.#lean) {
      return scripts.read(this.#runner, redisKey).then(toValue, (error: unknown) => {
        throw toBackendError(error, 'read', key);
      });
    }
    this.#batch();
    return (this.#direct.evalsha_roBuffer(scripts.readScript.sha1, 1, redisKey) as Promise<Reply>).then(toValue, (error: unknown) => {
      if (isNoScript(error)) {
        return scripts.read(this.#runner, redisKey).then(toValue, (retry: unknown) => {
          throw toBackendError(retry, 'read', key);
        });
      }
      throw toBackendError(error, 'read', key);
    });
  }

  write(key: CacheKey, value: CacheValue<Buffer>): Promise<void> {
    let redisKey: string | Buffer;
    let ttl: number | null;
    let stale: number | null;
    try {
      redisKey = this.#format.encode(key);
      if (!Buffer.isBuffer(value.data)) throw new TypeError('data must be a Buffer');
      ttl = value.expire === null ? null : value.expire.getTime() - Date.now();
      stale = value.stale === null ? null : value.stale.getTime();
      if (Number.isNaN(ttl) || Number.isNaN(stale)) throw new TypeError('invalid date');
    } catch (error) {
      return Promise.reject(error);
    }
    const done = (): void => undefined;
    if (!this.#lean) {
      return scripts.write(this.#runner, redisKey, value.data, stale, ttl).then(done, (error: unknown) => {
        throw toBackendError(error, 'write', key);
      });
    }
    this.#batch();
    return this.#direct.evalshaBuffer(scripts.writeScript.sha1, 1, redisKey, value.data, stale ?? '', ttl ?? '').then(done, (error: unknown) => {
      if (isNoScript(error)) {
        return scripts.write(this.#runner, redisKey, value.data, stale, ttl).then(done, (retry: unknown) => {
          throw toBackendError(retry, 'write', key);
        });
      }
      throw toBackendError(error, 'write', key);
    });
  }

  close(): void {
    this.#client.disconnect();
  }
}
