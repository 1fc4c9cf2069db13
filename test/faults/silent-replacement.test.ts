// @drivers ioredis node-redis
/**
 * A connection that went silent is replaced after a response timeout. The call made at the very moment it
 * is dropped, before the client has seen it close, must wait for the new connection like the calls after
 * it: it was never sent, so nothing forbids sending it on the new one.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { CacheKey, CacheValue, ConnectionError, ConnectionMode, TimeoutError } from '../../src/index.js';
import { builder } from '../helpers/driver.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { startRedis, type RedisUnderTest } from '../helpers/redis.js';
import { timed } from '../helpers/settle.js';

const test = suite('silent connection replaced');
let redis: RedisUnderTest;

test.before(async () => {
  redis = await startRedis();
});

test.after(async () => {
  await redis.stop();
});

const key = new CacheKey('silent', 1, [{ key: 'k', value: '1' }]);

test('the call made just as a silent connection is dropped waits for the new one and succeeds', async () => {
  const proxy = await FaultProxy.start(redis.host, redis.port);
  const backend = builder().connection(ConnectionMode.single(proxy.url)).responseTimeout(150).build();
  await backend.set(key, new CacheValue('kept'));

  proxy.mode = { kind: 'blackhole' };
  const lost = await Promise.all(Array.from({ length: 3 }, () => timed(backend.get(key))));
  assert.ok(lost.every((call) => call.error instanceof TimeoutError), String(lost.map((call) => call.error)));
  // Nothing else is sent on the silent connection, so letting traffic through again cannot revive it.
  proxy.mode = { kind: 'pass' };

  await proxy.closedThrough(1, 2_000);
  // The first connection was just closed by the backend: this call is made before the client has seen
  // the close (the proxy, in this same process, sees it first).
  const justAfter = await timed(backend.get<string>(key));
  assert.is(justAfter.error, null, `the call made at the drop failed: ${String(justAfter.error)}`);
  assert.ok(proxy.accepted >= 2, 'a new connection was opened');
  assert.is((await backend.get<string>(key))?.data, 'kept');
  await backend.close();
  await proxy.close();
});

test('a connection that lost one call is replaced: a caller making one call at a time recovers', async () => {
  const proxy = await FaultProxy.start(redis.host, redis.port);
  const backend = builder().connection(ConnectionMode.single(proxy.url)).responseTimeout(150).build();
  await backend.set(key, new CacheValue('kept'));

  // One call whose bytes are lost: every later reply on that connection answers the call before it, so each
  // call one at a time times out, and a watch that waited for any reply would keep the connection forever.
  proxy.mode = { kind: 'blackhole' };
  assert.instance((await timed(backend.get(key))).error, TimeoutError);
  proxy.mode = { kind: 'pass' };

  for (let attempt = 0; proxy.accepted < 2; attempt++) {
    assert.ok(attempt < 20, `still the first connection after ${attempt} calls one at a time`);
    const call = await timed(backend.get<string>(key));
    assert.ok(call.error === null || call.error instanceof TimeoutError || call.error instanceof ConnectionError, String(call.error));
  }
  await proxy.closedThrough(1, 2_000);
  assert.is((await backend.get<string>(key))?.data, 'kept');
  await backend.close();
  await proxy.close();
});

test.run();
