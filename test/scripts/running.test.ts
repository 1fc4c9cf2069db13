// @drivers ioredis node-redis
/** How a backend runs the scripts, on each driver: EVALSHA / EVALSHA_RO in steady state, NOSCRIPT recovered with EVAL, server errors typed. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { CacheKey, CacheValue, ConnectionMode, ScriptError } from '../../src/index.js';
import { builder } from '../helpers/driver.js';
import { commandCalls, startRedis, type RedisUnderTest } from '../helpers/redis.js';

const test = suite('running scripts');
let redis: RedisUnderTest;

test.before(async () => {
  redis = await startRedis();
});

test.after(async () => {
  await redis.stop();
});

test('steady-state calls are EVALSHA / EVALSHA_RO, never EVAL', async () => {
  const backend = builder().connection(ConnectionMode.single(redis.url)).build();
  const key = new CacheKey('scripts', 1, [{ key: 'k', value: 'steady' }]);
  await backend.set(key, new CacheValue(0));
  await backend.get(key);
  await backend.remove(key);
  const before = await commandCalls(redis.admin);
  for (let i = 0; i < 100; i++) {
    await backend.set(key, new CacheValue(i));
    await backend.get(key);
  }
  await backend.remove(key);
  const after = await commandCalls(redis.admin);
  const delta = (name: string): number => (after[name] ?? 0) - (before[name] ?? 0);
  assert.is(delta('evalsha'), 101);
  assert.is(delta('evalsha_ro'), 100);
  assert.is(delta('eval'), 0);
  assert.is(delta('eval_ro'), 0);
  await backend.close();
});

test('SCRIPT FLUSH in the middle of a run causes no error', async () => {
  const backend = builder().connection(ConnectionMode.single(redis.url)).build();
  const keys = Array.from({ length: 50 }, (_, i) => new CacheKey('flush', 1, [{ key: 'i', value: String(i) }]));
  const noscriptReplies = async (): Promise<number> => Number(/^errorstat_NOSCRIPT:count=(\d+)/m.exec(await redis.admin.info('errorstats'))?.[1] ?? 0);
  // Each script's first call on the connection is an EVAL of its own: made before the count.
  // (Runs of 32 and more calls of one kind are merged into write_many / read_many: those are warmed too.)
  await Promise.all(keys.map((key) => backend.set(key, new CacheValue('warm'))));
  await Promise.all(keys.map((key) => backend.get(key)));
  await backend.set(keys[0] as CacheKey, new CacheValue('warm'));
  await backend.get(keys[0] as CacheKey);
  await backend.remove(keys[0] as CacheKey);
  const [callsBefore, noscriptBefore] = [await commandCalls(redis.admin), await noscriptReplies()];
  let flushes = 0;
  for (let round = 0; round < 20; round++) {
    const work = keys.map(async (key, i) => {
      await backend.set(key, new CacheValue({ round, i }));
      const value = await backend.get<{ round: number; i: number }>(key);
      assert.equal(value?.data, { round, i });
    });
    // Flush while those calls are in flight, and between rounds.
    await redis.admin.script('FLUSH');
    flushes++;
    await Promise.all(work);
    assert.equal((await backend.remove(keys[round] as CacheKey)).kind, 'deleted');
  }
  const [callsAfter, noscriptAfter] = [await commandCalls(redis.admin), await noscriptReplies()];
  const delta = (name: string): number => (callsAfter[name] ?? 0) - (callsBefore[name] ?? 0);
  const noscripts = noscriptAfter - noscriptBefore;
  // Counted over this test only (earlier tests ran EVAL_RO): NOSCRIPT was hit, and each one was answered
  // with exactly one EVAL / EVAL_RO of the same call.
  assert.ok(noscripts > 0, 'the flushes made calls hit NOSCRIPT');
  assert.is(delta('eval') + delta('eval_ro'), noscripts, `${noscripts} NOSCRIPT replies, each recovered with one EVAL or EVAL_RO`);
  assert.is(flushes, 20);
  await backend.close();
});

test('a server error reply reaches the caller as ScriptError with the server words', async () => {
  const backend = builder().connection(ConnectionMode.single(redis.url)).build();
  const key = new CacheKey('scripts', 1, [{ key: 'k', value: 'oom' }]);
  await redis.admin.config('SET', 'maxmemory', '1');
  try {
    const error = await backend.set(key, new CacheValue('x')).then(
      () => null,
      (e: Error) => e,
    );
    assert.instance(error, ScriptError);
    assert.match(String(error), /OOM/);
    assert.match(String(error), /_prefix=scripts/);
    assert.is(await redis.admin.exists(String(key)), 0);
  } finally {
    await redis.admin.config('SET', 'maxmemory', '0');
  }
  await backend.close();
});

test.run();
