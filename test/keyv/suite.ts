/**
 * The Keyv peers' contract, unmodified: `@keyv/test-suite`'s `keyvTestSuite` (api, values, namespaces) and
 * `keyvIteratorTests`, over a KeyvRedisLua store on the given driver, against a redis-server of its own.
 * Every store of a run shares one backend, as the suite requires (it creates a store per test and expects
 * them to see the same data).
 */
import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite';
import Keyv from 'keyv';
import * as test from 'vitest';

import { KeyvRedisLua } from '../../src/adapters/keyv/index.js';
import { ConnectionMode, RedisBackend, type DriverName } from '../../src/index.js';
import { startRedis, type RedisUnderTest } from '../helpers/redis.js';

export function runKeyvSuite(driver: DriverName): void {
  let redis: RedisUnderTest;
  let backend: RedisBackend;
  test.beforeAll(async () => {
    redis = await startRedis();
    backend = RedisBackend.builder().driver(driver).connection(ConnectionMode.single(redis.url)).build();
  });
  test.afterAll(async () => {
    await backend?.close();
    await redis?.stop();
  });
  const store = (): KeyvRedisLua => new KeyvRedisLua(backend);
  keyvTestSuite(test, Keyv, store);
  keyvIteratorTests(test, Keyv, store);
}
