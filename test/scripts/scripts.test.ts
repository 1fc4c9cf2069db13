/**
 * The scripts themselves against a real server, through the ioredis runner: SHA1s, the read-only flag,
 * a replica, argument checks; and the runner over a lazy client. How a backend runs them, on each driver,
 * is in running.test.ts.
 */
import { Redis, ReplyError } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { read, readScript, remove, write, writeManyScript, writeScript, allScripts } from '../../generated/index.js';
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
  assert.equal(allScripts.map((script) => script.name).sort(), ['fill', 'invalidate_tags', 'read', 'read_many', 'read_or_lease', 'read_tags', 'release', 'remove', 'remove_many', 'tag_tokens', 'write', 'write_many']);
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
