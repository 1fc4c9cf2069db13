/**
 * `npm start`: a tour of the backend. Uses the Redis at REDIS_URL, or starts an embedded one
 * (redis-memory-server, the redis-server on the PATH) when REDIS_URL is not set.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { RedisMemoryServer } from 'redis-memory-server';

import { CacheKey, CacheValue, ConnectionMode, ForeignDataError, RedisBackend } from '../src/index.js';
import { redisServerBinary } from './redis-server-binary.js';

const log = (step: string, detail: unknown = ''): void => {
  console.log(`${step.padEnd(50)} ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
};

let embedded: RedisMemoryServer | undefined;
let url = process.env.REDIS_URL;
if (url === undefined) {
  embedded = await RedisMemoryServer.create({ instance: { args: ['--save', '', '--appendonly', 'no'] }, binary: { systemBinary: redisServerBinary() } });
  url = `redis://${await embedded.getHost()}:${await embedded.getPort()}`;
  log('started an embedded redis-server', url);
} else {
  log('using REDIS_URL', ConnectionMode.single(url).describe());
}

const backend = RedisBackend.builder().connection(ConnectionMode.single(url)).label('demo').build();
try {
  const key = new CacheKey('demo', 1, [
    { key: 'method', value: 'GET' },
    { key: 'path', value: '/users/123' },
  ]);
  log('cache key', String(key));

  const start = Date.now();
  const user = { id: 123, name: 'Ada Lovelace', roles: ['admin'] };
  await backend.set(key, new CacheValue(user, new Date(start + 1_200), new Date(start + 500)));
  log('set (stale in 500 ms, expire in 1200 ms)', user);

  const fresh = await backend.get<typeof user>(key);
  log('get right away', { state: fresh?.cacheState(), ttlMs: fresh?.ttl(), data: fresh?.data });

  await sleep(600);
  const stale = await backend.get<typeof user>(key);
  log('get after 600 ms', { state: stale?.cacheState(), ttlMs: stale?.ttl() });

  await sleep(700);
  log('get after 1300 ms (Redis expired it)', await backend.get(key));

  await backend.set(key, new CacheValue({ id: 123 }));
  log('set again, without expire', 'stored with no TTL');
  log('remove', await backend.remove(key));
  log('remove again', await backend.remove(key));

  const foreign = new CacheKey('demo', 1, [{ key: 'not', value: 'a cache entry' }]);
  log('foreign data at a key is never overwritten', await probeForeign(url, foreign));

  await staleWhileRevalidate();
  await stampede(url);
} finally {
  await backend.close();
  await embedded?.stop();
}

/** getOrSet: fresh hits, then a stale value served at once while exactly one refresh runs. */
async function staleWhileRevalidate(): Promise<void> {
  const key = new CacheKey('demo', 1, [{ key: 'report', value: 'daily' }]);
  let version = 0;
  let refreshStarted: () => void = () => undefined;
  const factory = async (): Promise<{ version: number; computedAt: string }> => {
    version += 1;
    refreshStarted();
    await sleep(100); // a slow data source
    return { version, computedAt: new Date().toISOString().slice(11, 23) };
  };
  const options = { ttl: 5_000, staleAfter: 300 };
  log('getOrSet on a missing key (factory runs)', await backend.getOrSet(key, factory, options));
  log('getOrSet again (fresh: no factory call)', await backend.getOrSet(key, factory, options));
  await sleep(350);
  const refreshing = new Promise<void>((resolve) => (refreshStarted = resolve));
  const started = Date.now();
  const served = await Promise.all(Array.from({ length: 50 }, () => backend.getOrSet(key, factory, options)));
  log(`50 calls after 350 ms (stale), answered in ${Date.now() - started} ms`, served[0]);
  await refreshing;
  log('  meanwhile one refresh took the lease', `factory calls so far: ${version}`);
  await sleep(150);
  log('getOrSet once the refresh landed', await backend.getOrSet(key, factory, options));
}

/**
 * A stampede: 4 backends (as 4 processes would, each with its own connection and lease token) with 100
 * concurrent callers each, on one cold key. One factory call in all: the lease is taken in Lua.
 */
async function stampede(redisUrl: string): Promise<void> {
  const key = new CacheKey('demo', 1, [{ key: 'stampede', value: String(Date.now()) }]);
  const backends = Array.from({ length: 4 }, () => RedisBackend.builder().connection(ConnectionMode.single(redisUrl)).build());
  let calls = 0;
  const factory = async (): Promise<string> => {
    calls += 1;
    await sleep(50);
    return 'computed once';
  };
  try {
    const started = Date.now();
    const values = await Promise.all(backends.flatMap((each) => Array.from({ length: 100 }, () => each.getOrSet(key, factory, { ttl: 10_000 }))));
    log('stampede: 4 backends x 100 callers, cold key', { callers: values.length, factoryCalls: calls, allSame: values.every((v) => v === values[0]), ms: Date.now() - started });
  } finally {
    await Promise.all(backends.map((each) => each.close()));
  }
}

async function probeForeign(redisUrl: string, key: CacheKey): Promise<string> {
  const { Redis } = await import('ioredis');
  const raw = new Redis(redisUrl);
  await raw.rpush(String(key), 'someone else');
  const error = await backend.set(key, new CacheValue('mine')).catch((e: unknown) => e);
  const untouched = await raw.lrange(String(key), 0, -1);
  await raw.del(String(key));
  raw.disconnect();
  return error instanceof ForeignDataError ? `${error.message} (list still holds ${JSON.stringify(untouched)})` : 'unexpected';
}
