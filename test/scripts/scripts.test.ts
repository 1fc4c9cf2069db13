/**
 * The scripts themselves against a real server, through the ioredis runner: SHA1s, the read-only flag,
 * a replica, argument checks; and the runner over a lazy client. How a backend runs them, on each driver,
 * is in running.test.ts.
 */
import { Redis, ReplyError } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { read, readScript, remove, write, writeManyScript, writeManyUniform, writeManyUniformScript, writeScript, allScripts } from '../../generated/index.js';
import { IoredisScriptRunner } from '../../src/index.js';
import { startRedis, type RedisUnderTest } from '../helpers/redis.js';
import { eventually, rejection } from '../helpers/settle.js';

const test = suite('scripts');
let redis: RedisUnderTest;

test.before(async () => {
  redis = await startRedis();
});

test.after(async () => {
  await redis.stop();
});

test('every script SHA1 equals what SCRIPT LOAD returns for its source', async () => {
  assert.equal(allScripts.map((script) => script.name).sort(), ['fill', 'invalidate_tags', 'read', 'read_many', 'read_or_lease', 'read_tags', 'release', 'remove', 'remove_many', 'tag_tokens', 'write', 'write_many', 'write_many_uniform']);
  for (const script of allScripts) {
    assert.is(await redis.admin.script('LOAD', script.source), script.sha1, script.name);
  }
});

test('only the read scripts are read-only, and the server enforces it', async () => {
  assert.equal(allScripts.filter((script) => script.readOnly).map((script) => script.name), ['read', 'read_many']);
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
    // A replica that has not finished its first sync acknowledges nothing: wait for its link to be up.
    await eventually(async () => assert.match(await replica.admin.info('replication'), /^master_link_status:up/m), 10_000);
    const runner = new IoredisScriptRunner(redis.admin);
    await write(runner, 'replicated', Buffer.from('on the replica'), 1234, 60_000, null);
    assert.is(await redis.admin.wait(1, 5_000), 1, 'the replica acknowledged the write');
    const reply = await read(new IoredisScriptRunner(replica.admin), 'replicated');
    assert.is(reply?.[0].toString(), 'on the replica');
    assert.is(reply?.[1], 1234);
  } finally {
    await replica.stop();
  }
});

test('the write script checks its arguments before changing anything', async () => {
  const runner = new IoredisScriptRunner(redis.admin);
  await write(runner, 'checked', Buffer.from('old'), null, null, null);
  for (const ttl of [1.5, 2 ** 60]) {
    const error = await write(runner, 'checked', Buffer.from('new'), null, ttl, null).then(
      () => null,
      (e: Error) => e,
    );
    assert.match(String(error), /BAD_ARGUMENT ttl/);
  }
  // Texts that a number parser takes but PEXPIRE refuses: written first, they would leave d changed and no TTL.
  for (const ttl of ['007', '+5', ' 5', '5 ', '0x10', '1e3', '-0', '00']) {
    for (const [script, args] of [
      [writeScript, ['checked', 'new', '', ttl, '']],
      [writeManyScript, ['checked', 0, 'new', '', ttl]],
      [writeManyScript, ['checked', 1, 'new', '', ttl]],
      [writeManyUniformScript, ['checked', '', ttl, 'new']],
    ] as const) {
      const reply = await runner.run({ ...script, numberOfKeys: 1 }, [...args]).then(
        (value) => String(value),
        (e: Error) => String(e),
      );
      assert.match(reply, /BAD_ARGUMENT ttl/, `${script.name} with ttl ${JSON.stringify(ttl)}`);
    }
  }
  assert.is(await redis.admin.hget('checked', 'd'), 'old');
  assert.is(await redis.admin.pttl('checked'), -1);
  assert.is(await remove(runner, 'checked'), 1);
});

test('write_many_uniform writes each key as write would, with the stale time and ttl they share', async () => {
  const runner = new IoredisScriptRunner(redis.admin);
  const admin = redis.admin;
  await admin.hset('u:entry', 'd', 'old', 's', '5', 'x', 'foreign field');
  await admin.hset('u:pending', 'l', 'lease');
  await admin.set('u:string', 'not an entry');
  await admin.hset('u:hash', 'a', 'b');
  await admin.del('u:missing');
  const keys = ['u:entry', 'u:pending', 'u:string', 'u:hash', 'u:missing', 'u:entry'];
  const data = ['1', '2', '3', '4', '5', '6'].map((text) => Buffer.from(text));
  const replies = await writeManyUniform(runner, keys, null, 60_000, data);
  assert.equal(replies.slice(0, 2), [1, 1]);
  assert.match(String(replies[2]), /^FOREIGN_DATA key holds a string/);
  assert.match(String(replies[3]), /^FOREIGN_DATA key holds a hash without field d/);
  assert.equal(replies.slice(4), [1, 1]);
  // Whole replacement: the key given twice holds its last value alone; the foreign keys are as they were.
  assert.equal(await admin.hgetall('u:entry'), { d: '6' });
  assert.equal(await admin.hgetall('u:pending'), { d: '2' });
  assert.is(await admin.get('u:string'), 'not an entry');
  assert.equal(await admin.hgetall('u:hash'), { a: 'b' });
  assert.equal(await admin.hgetall('u:missing'), { d: '5' });
  for (const key of ['u:entry', 'u:pending', 'u:missing']) {
    const ttl = await admin.pttl(key);
    assert.ok(ttl > 55_000 && ttl <= 60_000, `${key}: pttl ${ttl}`);
  }

  // A ttl of 13 digits and more, and a stale time with no ttl (the TTL removed), on every key.
  const long = 10 ** 13;
  assert.equal(await writeManyUniform(runner, ['u:entry', 'u:missing'], null, long, data.slice(0, 2)), [1, 1]);
  const ttl = await admin.pttl('u:entry');
  assert.ok(ttl > long - 5_000 && ttl <= long, `pttl ${ttl}`);
  assert.equal(await writeManyUniform(runner, ['u:entry', 'u:missing'], 1234, null, data.slice(0, 2)), [1, 1]);
  assert.equal([await admin.hgetall('u:entry'), await admin.pttl('u:entry'), await admin.pttl('u:missing')], [{ d: '1', s: '1234' }, -1, -1]);

  // A ttl of zero or less removes the entries, and still leaves foreign data alone.
  const removed = await writeManyUniform(runner, ['u:entry', 'u:string', 'u:missing'], null, 0, data.slice(0, 3));
  assert.equal([removed[0], removed[2]], [0, 0]);
  assert.match(String(removed[1]), /^FOREIGN_DATA key holds a string/);
  assert.equal([await admin.exists('u:entry'), await admin.exists('u:missing'), await admin.get('u:string')], [0, 0, 'not an entry']);

  // Arguments that do not fit are refused, nothing written.
  const wrong = await rejection(runner.run({ ...writeManyUniformScript, numberOfKeys: 2 }, ['u:entry', 'u:missing', '', '60000', 'only one']));
  assert.match(wrong.message, /BAD_ARGUMENT write_many_uniform takes a stale time, a ttl and a data per key/);
  assert.equal(await admin.exists('u:entry', 'u:missing'), 0);
});

test('a runner with a reconnect limit connects a lazy client, and leaves no listener on it', async () => {
  const client = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
  try {
    const runners = Array.from({ length: 12 }, () => new IoredisScriptRunner(client, { reconnectLimitMs: 1_000 }));
    await write(runners[0]!, 'lazy', Buffer.from('x'), null, 60_000, null);
    const replies = await Promise.all(runners.map((runner) => read(runner, 'lazy')));
    assert.ok(replies.every((reply) => reply?.[0].toString() === 'x'));
    assert.is(client.listenerCount('ready'), 0, 'no runner keeps a ready listener once nothing waits');
  } finally {
    client.disconnect();
  }
});

test.run();
