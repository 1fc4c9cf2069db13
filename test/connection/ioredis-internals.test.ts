/**
 * The ioredis driver relies on a few ioredis internals (src/ioredis/internals.ts). They are checked when a
 * connection opens: an ioredis without them is refused with a ConfigurationError naming its version, never
 * driven into misbehaviour. Here the checks are shown to run, by taking one internal away at a time.
 */
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { CacheKey, CacheValue, ConfigurationError, ConnectionMode, RedisBackend } from '../../src/index.js';
import { infoField, startRedis, type RedisUnderTest } from '../helpers/redis.js';
import { eventually, rejection } from '../helpers/settle.js';

const test = suite('ioredis internals');
let redis: RedisUnderTest;
const IOREDIS_VERSION = (await import('ioredis/package.json', { with: { type: 'json' } })).default.version;

test.before(async () => {
  redis = await startRedis();
});

test.after(async () => {
  await redis.stop();
});

const key = new CacheKey('internals', 1, [{ key: 'k', value: '1' }]);

/**
 * Runs `body` with `Redis.prototype.evalshaBuffer` taken away, as on an ioredis version without it.
 * (ioredis uses it nowhere itself, so nothing else breaks meanwhile.)
 */
async function withoutEvalshaBuffer<T>(body: () => Promise<T>): Promise<T> {
  const prototype = Redis.prototype as unknown as Record<string, unknown>;
  const original = prototype.evalshaBuffer;
  prototype.evalshaBuffer = undefined;
  try {
    return await body();
  } finally {
    prototype.evalshaBuffer = original;
  }
}

test('the checked internals are there on the ioredis this package installs', async () => {
  const backend = RedisBackend.builder().connection(ConnectionMode.single(redis.url)).build();
  await backend.set(key, new CacheValue('ok'));
  assert.is((await backend.get(key))?.data, 'ok');
  await backend.close();
});

test('an ioredis without evalshaBuffer: the first operation rejects with ConfigurationError, no connection is left open', async () => {
  const before = await infoField(redis.admin, 'clients', 'connected_clients');
  const backend = RedisBackend.builder().connection(ConnectionMode.single(redis.url)).build();
  const error = await withoutEvalshaBuffer(() => rejection(backend.get(key)));
  assert.instance(error, ConfigurationError);
  assert.match(error.message, `ioredis ${IOREDIS_VERSION} lacks internals`);
  assert.match(error.message, 'evalshaBuffer');
  await eventually(async () => assert.is(await infoField(redis.admin, 'clients', 'connected_clients'), before, 'the connection it opened is closed'));
  // With it back, the next operation connects: the refusal was not kept.
  await backend.set(key, new CacheValue('after'));
  assert.is((await backend.get(key))?.data, 'after');
  await backend.close();
});

test('a given ioredis client without flushQueue or commandQueue is refused by build(), naming what is missing', async () => {
  for (const internal of ['flushQueue', 'commandQueue']) {
    const client = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
    const own = client as unknown as Record<string, unknown>;
    const original = own[internal];
    own[internal] = undefined;
    let outcome: unknown = null;
    try {
      RedisBackend.builder().client(client).build();
    } catch (error) {
      outcome = error;
    }
    own[internal] = original;
    assert.instance(outcome, ConfigurationError, internal);
    assert.match((outcome as Error).message, `ioredis ${IOREDIS_VERSION} lacks internals`);
    assert.match((outcome as Error).message, `Redis#${internal}`);
    client.disconnect();
  }
});

test.run();
