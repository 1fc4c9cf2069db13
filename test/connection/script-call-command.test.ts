/**
 * The ioredis runner writes its script calls with its own `toWritable` (src/ioredis/script-call-command.ts):
 * the bytes must be exactly those ioredis' `Command` writes, for every mix of arguments a script call has,
 * and the server must run what it gets.
 */
import { Command, Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { ScriptCallCommand } from '../../src/ioredis/script-call-command.js';
import { startRedis, type RedisUnderTest } from '../helpers/redis.js';

const test = suite('script call command');
let redis: RedisUnderTest;

test.before(async () => {
  redis = await startRedis();
});

test.after(async () => {
  await redis.stop();
});

const bytes = (writable: string | Buffer): Buffer => (typeof writable === 'string' ? Buffer.from(writable) : writable);

/** Each shape: the number of keys, then the keys and arguments. */
const shapes: [string, number, (string | number | Buffer)[]][] = [
  ['strings only', 2, ['a', 'b', 'x', '']],
  ['no keys, no arguments', 0, []],
  ['non-ASCII text', 1, ['clé:ü:€:𝄞', 'ä']],
  ['a Buffer first and last', 1, [Buffer.from([0, 255, 13, 10]), 'mid', Buffer.from('end')]],
  ['empty Buffers, neighbouring Buffers', 2, [Buffer.alloc(0), Buffer.alloc(0), Buffer.from([1]), Buffer.from([2]), '']],
  ['numbers', 1, ['k', 0, -5, 3600000, 1.5]],
  ['a many-key write', 3, ['k1', 'k2', 'k3', 0, ...[1, 2, 3].flatMap((i) => [Buffer.alloc(100, i), '', 60_000])]],
];

for (const [name, numberOfKeys, args] of shapes) {
  test(`the same arguments and bytes as ioredis' Command: ${name}`, () => {
    for (const command of ['evalsha', 'eval_ro']) {
      for (const keyPrefix of [undefined, 'app:']) {
        const options = { replyEncoding: null, keyPrefix };
        const theirs = new Command(command, ['sha', numberOfKeys, args], options);
        const ours = new ScriptCallCommand(command, 'sha', numberOfKeys, args, options);
        assert.equal(ours.args, theirs.args, `${command}, prefix ${keyPrefix}: arguments`);
        assert.equal(ours.getSlot(), theirs.getSlot(), 'the slot of the first key');
        const [oursWritten, theirsWritten] = [ours.toWritable(), theirs.toWritable({})];
        assert.is(typeof oursWritten, typeof theirsWritten, 'a string when ioredis writes a string, a Buffer otherwise');
        assert.ok(bytes(oursWritten).equals(bytes(theirsWritten)), `${bytes(oursWritten).toString('latin1')} vs ${bytes(theirsWritten).toString('latin1')}`);
      }
    }
  });
}

test('the server runs it and answers it: binary data and non-ASCII keys round-trip', async () => {
  const client = new Redis(redis.port, { lazyConnect: true });
  await client.connect();
  try {
    const data = Buffer.from([0, 1, 2, 255, 13, 10, 36, 42]);
    const script = "redis.call('SET', KEYS[1], ARGV[1]) return {KEYS[1], redis.call('GET', KEYS[1]), ARGV[2]}";
    const reply = (await client.sendCommand(new ScriptCallCommand('eval', script, 1, ['clé:€', data, 'ü'], { replyEncoding: null }))) as Buffer[];
    assert.equal(reply.map((part) => part.toString('hex')), [Buffer.from('clé:€').toString('hex'), data.toString('hex'), Buffer.from('ü').toString('hex')]);
  } finally {
    client.disconnect();
  }
});

test.run();
