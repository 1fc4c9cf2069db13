/** The scripts and their runner against a real server: SHA1s, EVALSHA in steady state, NOSCRIPT recovery. */
import { Redis, ReplyError } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { read, readScript, remove, write, allScripts } from '../../generated/index.js';
import { CacheKey, CacheValue, ConnectionMode, IoredisScriptRunner, RedisBackend, ScriptError } from '../../src/index.js';
import { commandCalls, startRedis, type RedisUnderTest } from '../helpers/redis.js';
import { rejection } from '../helpers/settle.js';

const test = suite('scripts');
let redis: RedisUnderTest;

test.before(async () => {
  redis = await startRedis();
});

test.after(async () => {
  await redis.stop();
});

test('every script SHA1 equals what SCRIPT LOAD returns for its source', async () => {
  assert.equal(allScripts.map((script) => script.name).sort(), ['read', 'remove', 'write']);
  for (const script of allScripts) {
    assert.is(await redis.admin.script('LOAD', script.source), script.sha1, script.name);
  }
});

test('only the read script is read-only, and the server enforces it', async () => {
  assert.equal(allScripts.filter((script) => script.readOnly).map((script) => script.name), ['read']);
  // EVAL_RO refuses a script that may write: the write script's missing no-writes flag is real.
  const writeScript = allScripts.find((script) => script.name === 'write');
  // The read script runs under EVAL_RO: a missing key replies nil.
  assert.is(await redis.admin.eval_ro(readScript.source, 1, 'ro-check'), null, 'EVAL_RO runs the read script');
  const refused = await rejection(redis.admin.eval_ro(writeScript?.source ?? '', 1, 'ro-check', 'd', '', ''));
  // Refused up front for its flags, not for a write command it reached (which would mean it ran).
  assert.instance(refused, ReplyError, String(refused));
  assert.is(refused.message, 'ERR Can not execute a script with write flag using *_ro command.');
  assert.is(await redis.admin.exists('ro-check'), 0);
});

test('the read script runs on a replica', async () => {
  const replica = await startRedis({ args: ['--replicaof', redis.host, String(redis.port)] });
  try {
    const runner = new IoredisScriptRunner(redis.admin);
    await write(runner, 'replicated', Buffer.from('on the replica'), 1234, 60_000);
    await redis.admin.wait(1, 5_000);
    const reply = await read(new IoredisScriptRunner(replica.admin), 'replicated');
    assert.is(reply?.[0].toString(), 'on the replica');
    assert.is(reply?.[1], 1234);
  } finally {
    await replica.stop();
  }
});

test('steady-state calls are EVALSHA / EVALSHA_RO, never EVAL', async () => {
  const backend = RedisBackend.builder().connection(ConnectionMode.single(redis.url)).build();
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
  const backend = RedisBackend.builder().connection(ConnectionMode.single(redis.url)).build();
  const keys = Array.from({ length: 50 }, (_, i) => new CacheKey('flush', 1, [{ key: 'i', value: String(i) }]));
  const noscriptReplies = async (): Promise<number> => Number(/^errorstat_NOSCRIPT:count=(\d+)/m.exec(await redis.admin.info('errorstats'))?.[1] ?? 0);
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

test('the write script checks its arguments before changing anything', async () => {
  const runner = new IoredisScriptRunner(redis.admin);
  await write(runner, 'checked', Buffer.from('old'), null, null);
  for (const ttl of [1.5, 2 ** 60]) {
    const error = await write(runner, 'checked', Buffer.from('new'), null, ttl).then(
      () => null,
      (e: Error) => e,
    );
    assert.match(String(error), /BAD_ARGUMENT ttl/);
  }
  assert.is(await redis.admin.hget('checked', 'd'), 'old');
  assert.is(await redis.admin.pttl('checked'), -1);
  assert.is(await remove(runner, 'checked'), 1);
});

test('a runner with a reconnect limit connects a lazy client, and leaves no listener on it', async () => {
  const client = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
  try {
    const runners = Array.from({ length: 12 }, () => new IoredisScriptRunner(client, { reconnectLimitMs: 1_000 }));
    await write(runners[0]!, 'lazy', Buffer.from('x'), null, 60_000);
    const replies = await Promise.all(runners.map((runner) => read(runner, 'lazy')));
    assert.ok(replies.every((reply) => reply?.[0].toString() === 'x'));
    assert.is(client.listenerCount('ready'), 0, 'no runner keeps a ready listener once nothing waits');
  } finally {
    client.disconnect();
  }
});

test('a server error reply reaches the caller as ScriptError with the server words', async () => {
  const backend = RedisBackend.builder().connection(ConnectionMode.single(redis.url)).build();
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
