/**
 * `npm start`: a tour of the backend. Uses the Redis at REDIS_URL, or starts an embedded one
 * (redis-memory-server, the redis-server on the PATH) when REDIS_URL is not set.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { RedisMemoryServer } from 'redis-memory-server';

import { CacheKey, CacheValue, ConnectionMode, ForeignDataError, RedisBackend } from '../src/index.js';
import { redisServerBinary } from './redis-server-binary.js';

const log = (step: string, detail: unknown = ''): void => {
  console.log(`${step.padEnd(44)} ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
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
} finally {
  await backend.close();
  await embedded?.stop();
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
