// @drivers ioredis node-redis
/**
 * Many keys at once (readMany / writeMany / removeMany and getMany / setMany / deleteMany) on a real
 * redis-server and on a real 3-primary Redis Cluster: each entry as its single-key operation treats it (order,
 * missing and pending entries, keys given twice, TTL and stale), empty batches, refusals before anything is
 * sent, foreign data named by key with nothing of its script call written, chunks of 100 on a node and one
 * call per slot group on a cluster, routed to the node that owns the slot, and keySlot against CLUSTER KEYSLOT.
 * Script calls are counted with the server's own `INFO commandstats`, per node on the cluster.
 */
import { createServer, type Server, type Socket } from 'node:net';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import {
  allScripts,
  CacheKey,
  CacheKeyFormat,
  CacheValue,
  ConnectionError,
  ConnectionMode,
  ForeignDataError,
  FormatError,
  InvalidKeyError,
  InvalidValueError,
  JsonFormat,
  type RedisBackend,
  type RedisKey,
} from '../../src/index.js';
import { keySlot } from '../../src/driver/slot.js';
import { startCluster, type ClusterNodeUnderTest, type ClusterUnderTest } from '../helpers/cluster.js';
import { builder, DRIVER } from '../helpers/driver.js';
import { commandCalls, scriptsSince, startRedis, totalScripts, type RedisUnderTest } from '../helpers/redis.js';
import { gate } from '../helpers/gate.js';
import { rejection, within as withinMs } from '../helpers/settle.js';

// ---------------------------------------------------------------------------------------------------------
// Helpers


const within = <T>(what: string, promise: Promise<T>): Promise<T> => withinMs(what, promise, 1_000);

const total = totalScripts;

/** Every command from `INFO commandstats` but those the test itself sends on its admin connection (INFO, EXISTS). */
async function everyCommand(admin: RedisUnderTest['admin']): Promise<Record<string, number>> {
  const calls = await commandCalls(admin);
  delete calls.info;
  delete calls.exists;
  return calls;
}

/** A server that accepts connections and never answers: a call that reached it could never settle. */
async function silentServer(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const buf = (text: string): Buffer => Buffer.from(text);

/** A copy of `items` with a hole at `at` (no element there, as in `[a, , b]`). */
function sparse<T>(items: T[], at: number): T[] {
  const copy = [...items];
  delete copy[at];
  return copy;
}
const inAMinute = (): Date => new Date(Date.now() + 60_000);

// ---------------------------------------------------------------------------------------------------------
// Single node

const single = suite(`many keys, single node, ${DRIVER}`);
let redis: RedisUnderTest;
let backend: RedisBackend;

// The UrlEncoded key format (the default) stores a key under its string form.
const redisKey = (key: CacheKey): string => key.toString();

let counter = 0;
/** A key of its own for each use. */
const freshKey = (name: string): CacheKey => new CacheKey('many', 1, [{ key: name, value: String(++counter) }]);
const freshKeys = (name: string, n: number): CacheKey[] => Array.from({ length: n }, () => freshKey(name));

/** Script calls that `work` made, by command. */
async function countScripts(work: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await commandCalls(redis.admin);
  await work();
  return scriptsSince(before, await commandCalls(redis.admin));
}

/** Holds a getOrSet factory open on `key`, so that it is a pending entry (a hash with only the lease) until `release`. */
async function pendingEntry(key: CacheKey): Promise<{ release: () => Promise<unknown> }> {
  const running = gate();
  const held = gate();
  const call = backend.getOrSet(
    key,
    async () => {
      running.open();
      await held.promise;
      return 'computed';
    },
    { ttl: 60_000 },
  );
  await running.promise;
  assert.equal(Object.keys(await redis.admin.hgetall(redisKey(key))), ['l'], 'a pending entry: only the lease');
  return {
    release: () => {
      held.open();
      return call;
    },
  };
}

/** The hash and the PTTL at `key`, as the server has them. */
async function stored(key: CacheKey): Promise<{ fields: Record<string, string>; pttl: number }> {
  const [fields, pttl] = await Promise.all([redis.admin.hgetall(redisKey(key)), redis.admin.pttl(redisKey(key))]);
  return { fields, pttl };
}

single.before(async () => {
  redis = await startRedis();
  // Every script cached up front: one EVALSHA(_RO) per script call, never a NOSCRIPT retry.
  for (const script of allScripts) await redis.admin.script('LOAD', script.source);
  backend = builder().connection(ConnectionMode.single(redis.url)).build();
  // And each script sent once on the connection, whose first call of a script is an EVAL(_RO).
  const warm = [freshKey('warm-up'), freshKey('warm-up')];
  await backend.read(warm[0]!);
  await backend.writeMany(warm.map((key): [CacheKey, CacheValue<Buffer>] => [key, new CacheValue(buf('warm'))]));
  await backend.readMany(warm);
  await backend.removeMany(warm);
});

single.after(async () => {
  await backend?.close();
  await redis?.stop();
});

single('readMany and getMany: the values in the order given, null for missing and pending entries, a key given twice read twice, one script call', async () => {
  const [a, b, c, missing, pending] = [freshKey('a'), freshKey('b'), freshKey('c'), freshKey('missing'), freshKey('pending')];
  const staleAt = new Date(Date.now() + 30_000);
  await backend.write(a, new CacheValue(buf('A'), inAMinute(), staleAt));
  await backend.write(b, new CacheValue(buf('B')));
  await backend.write(c, new CacheValue(buf('C'), inAMinute()));
  const held = await pendingEntry(pending);

  let read: (CacheValue<Buffer> | null)[] = [];
  const calls = await countScripts(async () => {
    read = await backend.readMany([c, missing, a, pending, a, b]);
  });
  assert.equal(calls, { evalsha: 0, evalsha_ro: 1, eval: 0, eval_ro: 0 }, 'six keys: one read_many call');
  assert.is(read.length, 6);
  assert.equal(read.map((value) => value?.data.toString() ?? null), ['C', null, 'A', null, 'A', 'B']);
  // Each as read returns it: stale exact, expire now + PTTL, none without one.
  assert.is(read[2]?.stale?.getTime(), staleAt.getTime());
  assert.is(read[4]?.stale?.getTime(), staleAt.getTime(), 'the key given twice, read twice');
  assert.ok(read[2] !== read[4], 'two values, not one shared');
  const alone = await backend.read(a);
  assert.ok(Math.abs((read[2]?.expire?.getTime() ?? 0) - (alone?.expire?.getTime() ?? 0)) < 1_000, 'expire as read gives it');
  assert.is(read[5]?.expire, null, 'no TTL: no expire');
  assert.is(read[5]?.stale, null);
  assert.is(read[0]?.stale, null);
  assert.ok((read[0]?.expire?.getTime() ?? 0) > Date.now() + 50_000);

  // The typed layer: the same through the value format.
  const [x, y] = [freshKey('x'), freshKey('y')];
  await backend.set(x, new CacheValue({ n: 1 }, inAMinute()));
  await backend.set(y, new CacheValue([1, 'two'], null, staleAt));
  const typed = await backend.getMany<unknown>([y, pending, missing, x, y]);
  assert.equal(
    typed.map((value) => value?.data ?? null),
    [[1, 'two'], null, null, { n: 1 }, [1, 'two']],
  );
  assert.is(typed[0]?.stale?.getTime(), staleAt.getTime());
  assert.is(typed[0]?.expire, null);
  assert.ok((typed[3]?.expire?.getTime() ?? 0) > Date.now() + 50_000);

  assert.is(await held.release(), 'computed');
  assert.is((await backend.getMany<string>([missing, pending]))[1]?.data, 'computed', 'once filled, the entry is read');
});

single('writeMany and setMany: each entry exactly as write and set store it (d, s when stale is given, TTL), one script call', async () => {
  const cases: { name: string; before?: (key: CacheKey) => Promise<void>; value: () => CacheValue<Buffer> }[] = [
    { name: 'plain, no key before', value: () => new CacheValue(buf('plain')) },
    { name: 'expire and stale', value: () => new CacheValue(buf('both'), inAMinute(), new Date(Date.now() + 10_000)) },
    { name: 'expire only', value: () => new CacheValue(buf('expire'), new Date(Date.now() + 45_000)) },
    { name: 'stale in the past, no expire', value: () => new CacheValue(buf('stale'), null, new Date(Date.now() - 5_000)) },
    {
      name: 'over an entry with s, a TTL and a field of someone else',
      before: async (key) => {
        await redis.admin.hset(redisKey(key), 'd', 'old', 's', '123', 'x', 'extra');
        await redis.admin.pexpire(redisKey(key), 100_000);
      },
      value: () => new CacheValue(buf('replaced')),
    },
    {
      name: 'expire in the past over an entry: removed',
      before: async (key) => void (await redis.admin.hset(redisKey(key), 'd', 'old')),
      value: () => new CacheValue(buf('gone'), new Date(Date.now() - 1)),
    },
    { name: 'expire in the past, no key before: nothing', value: () => new CacheValue(buf('never'), new Date(Date.now() - 60_000)) },
    { name: 'empty data', value: () => new CacheValue(Buffer.alloc(0), inAMinute()) },
  ];
  // Each case on a key of the batch and on a twin written alone with write.
  const batch = cases.map((entry) => ({ ...entry, key: freshKey(`batch-${entry.name}`), twin: freshKey(`twin-${entry.name}`) }));
  for (const entry of batch) {
    await entry.before?.(entry.key);
    await entry.before?.(entry.twin);
  }
  // A pending entry in the batch is replaced, as write replaces it: no lease left.
  const pendingKey = freshKey('pending');
  const held = await pendingEntry(pendingKey);

  const calls = await countScripts(() => backend.writeMany([...batch.map((entry): [CacheKey, CacheValue<Buffer>] => [entry.key, entry.value()]), [pendingKey, new CacheValue(buf('over the lease'), inAMinute())]]));
  assert.equal(calls, { evalsha: 1, evalsha_ro: 0, eval: 0, eval_ro: 0 }, 'nine entries: one write_many call');
  for (const entry of batch) await backend.write(entry.twin, entry.value());

  for (const entry of batch) {
    const [got, want] = await Promise.all([stored(entry.key), stored(entry.twin)]);
    assert.equal(Object.keys(got.fields).sort(), Object.keys(want.fields).sort(), `${entry.name}: the fields write leaves`);
    assert.is(got.fields.d, want.fields.d, `${entry.name}: d`);
    // s is the stale time to the millisecond, each value made its own (a few ms apart).
    if (want.fields.s !== undefined) assert.ok(Math.abs(Number(got.fields.s) - Number(want.fields.s)) < 1_000, `${entry.name}: s`);
    assert.is(got.pttl < 0, want.pttl < 0, `${entry.name}: a TTL when write sets one (${got.pttl} vs ${want.pttl})`);
    if (want.pttl >= 0) assert.ok(Math.abs(got.pttl - want.pttl) < 1_000, `${entry.name}: TTL ${got.pttl} about ${want.pttl}`);
  }
  assert.equal(await stored(batch[1]!.key).then((entry) => Object.keys(entry.fields).sort()), ['d', 's']);
  assert.equal(await stored(batch[4]!.key), { fields: { d: 'replaced' }, pttl: -1 }, 'whole replacement: no old s, no foreign field, no TTL');
  assert.is(await redis.admin.exists(redisKey(batch[5]!.key)), 0, 'expire in the past removed the entry');
  assert.is(await redis.admin.exists(redisKey(batch[6]!.key)), 0);
  assert.equal(Object.keys((await stored(pendingKey)).fields), ['d'], 'the pending entry replaced, no field l');
  assert.is(await held.release(), 'computed');
  assert.equal((await backend.read(pendingKey))?.data, buf('over the lease'), 'the write wins over the late result');

  // setMany: the bytes set stores, typed back by getMany.
  const values = [{ n: 1 }, 'text', [1, 2, 3], null];
  const keys = values.map((_, i) => freshKey(`typed-${i}`));
  const twins = values.map((_, i) => freshKey(`typed-twin-${i}`));
  await backend.setMany(values.map((value, i): [CacheKey, CacheValue<unknown>] => [keys[i]!, new CacheValue(value, inAMinute())]));
  for (let i = 0; i < values.length; i++) await backend.set(twins[i]!, new CacheValue(values[i], inAMinute()));
  for (let i = 0; i < values.length; i++) {
    assert.equal(await redis.admin.hgetallBuffer(redisKey(keys[i]!)), await redis.admin.hgetallBuffer(redisKey(twins[i]!)), `setMany ${i}: the hash set stores`);
  }
  assert.equal((await backend.getMany(keys)).map((value) => value?.data), values);
});

single('writeMany: a key given twice ends with the last value, with nothing left of the first (s, TTL), in one call and across chunks', async () => {
  const key = freshKey('twice');
  await backend.writeMany([
    [key, new CacheValue(buf('first'), inAMinute(), new Date(Date.now() + 10_000))],
    [key, new CacheValue(buf('second'))],
  ]);
  assert.equal(await stored(key), { fields: { d: 'second' }, pttl: -1 }, 'no s and no TTL left from the first value');

  const staleAt = Date.now() + 20_000;
  await backend.writeMany([
    [key, new CacheValue(buf('third'))],
    [key, new CacheValue(buf('fourth'), inAMinute(), new Date(staleAt))],
  ]);
  const after = await stored(key);
  assert.equal(after.fields, { d: 'fourth', s: String(staleAt) });
  assert.ok(after.pttl > 50_000);

  // Last value removes: the entry is gone; last value stores: it is there.
  await backend.writeMany([
    [key, new CacheValue(buf('fifth'))],
    [key, new CacheValue(buf('expired'), new Date(Date.now() - 1))],
  ]);
  assert.is(await redis.admin.exists(redisKey(key)), 0);
  await backend.writeMany([
    [key, new CacheValue(buf('expired'), new Date(Date.now() - 1))],
    [key, new CacheValue(buf('sixth'))],
  ]);
  assert.equal(await stored(key), { fields: { d: 'sixth' }, pttl: -1 });

  // Three times, the middle one with stale; setMany the same.
  await backend.setMany([
    [key, new CacheValue('a', inAMinute())],
    [key, new CacheValue('b', null, new Date(staleAt))],
    [key, new CacheValue('c')],
  ]);
  assert.equal(Object.keys((await stored(key)).fields), ['d']);
  assert.is((await backend.get(key))?.data, 'c');

  // Across chunks of a single node: positions 1 and 150 are two script calls, in order.
  const keys = freshKeys('chunks', 149);
  const calls = await countScripts(() => backend.writeMany([...keys.map((k, i): [CacheKey, CacheValue<Buffer>] => [k, new CacheValue(buf(`v${i}`))]), [keys[0]!, new CacheValue(buf('last'), null, new Date(staleAt))]]));
  assert.is(calls.evalsha, 2);
  assert.equal((await stored(keys[0]!)).fields, { d: 'last', s: String(staleAt) });
  assert.is((await backend.read(keys[148]!))?.data.toString(), 'v148');
});

single('removeMany and deleteMany: entries removed counted, a key given twice counted once, pending entries removed but not counted, missing when none', async () => {
  const [a, b, c, missing, pending] = [freshKey('a'), freshKey('b'), freshKey('c'), freshKey('missing'), freshKey('pending')];
  await backend.writeMany([a, b, c].map((key): [CacheKey, CacheValue<Buffer>] => [key, new CacheValue(buf('v'), inAMinute())]));
  const held = await pendingEntry(pending);

  let status: unknown;
  const calls = await countScripts(async () => {
    status = await backend.removeMany([a, b, a, missing, pending, b]);
  });
  assert.equal(status, { kind: 'deleted', count: 2 }, 'a and b, each once; the pending entry not counted');
  assert.equal(calls, { evalsha: 1, evalsha_ro: 0, eval: 0, eval_ro: 0 });
  assert.is(await redis.admin.exists(redisKey(a), redisKey(b), redisKey(pending)), 0, 'the pending entry removed too');
  assert.is(await redis.admin.exists(redisKey(c)), 1, 'a key not given stays');
  assert.is(await held.release(), 'computed', 'the late result still goes to its caller');
  assert.is(await redis.admin.exists(redisKey(pending)), 0, 'but the voided lease does not store it');

  assert.equal(await backend.deleteMany([c, c]), { kind: 'deleted', count: 1 });
  assert.equal(await backend.removeMany([a, missing]), { kind: 'missing' });
  assert.equal(await backend.deleteMany([missing]), { kind: 'missing' });

  // Only a pending entry: removed, and missing.
  const onlyPending = freshKey('only-pending');
  const held2 = await pendingEntry(onlyPending);
  assert.equal(await backend.deleteMany([onlyPending]), { kind: 'missing' });
  assert.is(await redis.admin.exists(redisKey(onlyPending)), 0);
  await held2.release();

  // A key given twice across chunks (positions 1 and 101) is counted once.
  const keys = freshKeys('remove-chunks', 100);
  await backend.writeMany(keys.map((key): [CacheKey, CacheValue<Buffer>] => [key, new CacheValue(buf('v'))]));
  assert.equal(await backend.removeMany([...keys, keys[0]!]), { kind: 'deleted', count: 100 });
});

single('empty arrays: no round trip (commandstats unchanged; a backend on a server that never answers resolves at once, without connecting)', async () => {
  const before = await everyCommand(redis.admin);
  assert.equal(await backend.readMany([]), []);
  assert.equal(await backend.getMany([]), []);
  assert.is(await backend.writeMany([]), undefined);
  assert.is(await backend.setMany([]), undefined);
  assert.equal(await backend.removeMany([]), { kind: 'missing' });
  assert.equal(await backend.deleteMany([]), { kind: 'missing' });
  assert.equal(await everyCommand(redis.admin), before, 'no command at all');

  const silent = await silentServer();
  const unanswered = builder().connection(ConnectionMode.single(silent.url)).connectionTimeout(500).build();
  try {
    assert.equal(await within('readMany([])', unanswered.readMany([])), []);
    assert.equal(await within('getMany([])', unanswered.getMany([])), []);
    assert.is(await within('writeMany([])', unanswered.writeMany([])), undefined);
    assert.is(await within('setMany([])', unanswered.setMany([])), undefined);
    assert.equal(await within('removeMany([])', unanswered.removeMany([])), { kind: 'missing' });
    assert.equal(await within('deleteMany([])', unanswered.deleteMany([])), { kind: 'missing' });
    // What a batch of one does there: it waits for a connection that never becomes ready.
    assert.instance(await rejection(unanswered.readMany([freshKey('one')])), ConnectionError);
  } finally {
    await unanswered.close();
    await silent.close();
  }
});

single('an invalid key or value anywhere in a batch: a typed error naming its entry or key, before anything is sent', async () => {
  // A key format that refuses some keys, as a custom format may.
  const picky = {
    name: 'picky',
    encode(key: CacheKey): RedisKey {
      if (key.prefix === 'bad') throw new InvalidKeyError('prefix bad is not for this format');
      return key.toString();
    },
  };
  const silent = await silentServer();
  // The same checks against a server that never answers (a call sent would hang) and against the real one.
  const targets = [
    { name: 'real server', backend: builder().connection(ConnectionMode.single(redis.url)).keyFormat(picky).maxValueBytes(1_000).build() },
    { name: 'silent server', backend: builder().connection(ConnectionMode.single(silent.url)).keyFormat(picky).maxValueBytes(1_000).connectionTimeout(500).build() },
  ];
  const bad = new CacheKey('bad', 1, []);
  try {
    await targets[0]!.backend.read(freshKey('connect'));
    const before = await everyCommand(redis.admin);
    for (const { name, backend: target } of targets) {
      const good = freshKeys(`refused-${name}`, 4);
      const value = (): CacheValue<Buffer> => new CacheValue(buf('v'), inAMinute());
      const pairsWith = (at: number, entry: unknown): [CacheKey, CacheValue<Buffer>][] => {
        const entries: unknown[] = good.map((key) => [key, value()]);
        entries.splice(at, 0, entry);
        return entries as [CacheKey, CacheValue<Buffer>][];
      };

      // Keys: the reason starts with the position of the key, from 1.
      const keyRefusals: [string, () => Promise<unknown>, string][] = [
        ['readMany', () => target.readMany([good[0]!, good[1]!, bad]), 'entry 3: '],
        ['getMany', () => target.getMany([bad, good[0]!]), 'entry 1: '],
        ['removeMany', () => target.removeMany([good[0]!, bad]), 'entry 2: '],
        ['deleteMany', () => target.deleteMany([...good, bad]), 'entry 5: '],
        ['writeMany', () => target.writeMany(pairsWith(1, [bad, value()])), 'entry 2: '],
        ['setMany', () => target.setMany(pairsWith(4, [bad, new CacheValue('typed')])), 'entry 5: '],
        ['readMany', () => target.readMany([good[0]!, null as unknown as CacheKey]), 'entry 2: '],
      ];
      for (const [operation, call, where] of keyRefusals) {
        const error = await within(`${operation} refused at once (${name})`, rejection(call()));
        assert.instance(error, InvalidKeyError, `${operation}: ${error}`);
        const refused = error as InvalidKeyError;
        assert.is(refused.operation, operation);
        assert.ok(refused.reason.startsWith(where), `${operation} (${name}): "${refused.reason}" names ${where}`);
        assert.ok(refused.message.includes(where), refused.message);
      }

      // Values: named by their key.
      const named = good[2]!;
      const valueRefusals: [string, () => Promise<unknown>, RegExp][] = [
        ['writeMany', () => target.writeMany(pairsWith(2, [named, new CacheValue('not a buffer')])), /data must be a Buffer/],
        ['writeMany', () => target.writeMany(pairsWith(4, [named, new CacheValue(buf('v'), new Date(Number.NaN))])), /expire is not a valid Date/],
        ['writeMany', () => target.writeMany(pairsWith(0, [named, new CacheValue(buf('v'), inAMinute(), new Date('nonsense'))])), /stale is not a valid Date/],
        ['writeMany', () => target.writeMany(pairsWith(3, [named, new CacheValue(Buffer.alloc(1_001))])), /1001 bytes, more than maxValueBytes \(1000\)/],
        ['setMany', () => target.setMany(pairsWith(1, [named, new CacheValue('x'.repeat(2_000))])), /more than maxValueBytes/],
        ['setMany', () => target.setMany(pairsWith(1, [named, new CacheValue('v', new Date(Number.NaN))])), /expire is not a valid Date/],
      ];
      for (const [operation, call, reason] of valueRefusals) {
        const error = await within(`${operation} refused at once (${name})`, rejection(call()));
        assert.instance(error, InvalidValueError, `${operation}: ${error}`);
        const refused = error as InvalidValueError;
        assert.is(refused.operation, operation);
        assert.is(refused.key, named.toString(), `${operation}: names the key`);
        assert.ok(refused.message.includes(named.toString()), refused.message);
        assert.match(refused.reason, reason);
      }

      // Entries that are not [key, value] pairs: named by position.
      const shapes: [unknown, number][] = [
        [[good[0]!], 2],
        [good[0]!, 1],
        [null, 5],
        [[good[0]!, null], 3],
        [[undefined, value()], 4],
        [undefined, 2],
      ];
      for (const [entry, at] of shapes) {
        for (const operation of ['writeMany', 'setMany'] as const) {
          const entries = pairsWith(at - 1, entry);
          const error = await within(`${operation} refused at once (${name})`, rejection(operation === 'writeMany' ? target.writeMany(entries) : target.setMany(entries)));
          assert.instance(error, InvalidValueError, `${operation}: ${error}`);
          assert.is((error as InvalidValueError).reason, `entry ${at} must be a [CacheKey, CacheValue] pair`);
        }
      }
      // Not arrays at all.
      for (const call of [() => target.readMany('keys' as unknown as CacheKey[]), () => target.writeMany({} as unknown as []), () => target.removeMany(undefined as unknown as [])]) {
        assert.instance(await within(`not an array (${name})`, rejection(call())), InvalidValueError);
      }
      assert.is(await redis.admin.exists(...good.map(redisKey)), 0, `nothing of a refused batch written (${name})`);
    }
    // A bad key or value past the first chunk of 100: the first chunk is not sent either.
    const long = freshKeys('refused-long', 150);
    const onReal = targets[0]!.backend;
    const longEntries = long.map((key): [CacheKey, CacheValue<Buffer>] => [key, new CacheValue(buf('v'))]);
    longEntries[129] = [long[129]!, new CacheValue(buf('v'), new Date(Number.NaN))];
    const late = await rejection(onReal.writeMany(longEntries));
    assert.instance(late, InvalidValueError, String(late));
    assert.is((late as InvalidValueError).key, long[129]!.toString());
    const withBadKey = [...long.slice(0, 129), bad, ...long.slice(130)];
    const lateKey = await rejection(onReal.writeMany(withBadKey.map((key): [CacheKey, CacheValue<Buffer>] => [key, new CacheValue(buf('v'))])));
    assert.instance(lateKey, InvalidKeyError, String(lateKey));
    assert.ok((lateKey as InvalidKeyError).reason.startsWith('entry 130: '), (lateKey as InvalidKeyError).reason);
    assert.instance(await rejection(onReal.removeMany(withBadKey)), InvalidKeyError);
    assert.is(await redis.admin.exists(...long.map(redisKey)), 0, 'nothing of the first chunk written');
    assert.equal(await everyCommand(redis.admin), before, 'not one command sent for any refused batch');
    assert.is(silent.connections(), 0, 'the silent server never saw a connection');

    // A value the format cannot encode: FormatError naming the key, nothing sent.
    const json = builder().connection(ConnectionMode.single(redis.url)).valueFormat(new JsonFormat()).build();
    try {
      const [ok, bigint] = [freshKey('json-ok'), freshKey('json-bigint')];
      await json.read(ok);
      const jsonBefore = await everyCommand(redis.admin);
      const error = await rejection(json.setMany<unknown>([[ok, new CacheValue({ fine: true })], [bigint, new CacheValue({ id: 10n })]]));
      assert.instance(error, FormatError, String(error));
      assert.is((error as FormatError).key, bigint.toString());
      assert.is((error as FormatError).operation, 'setMany');
      assert.equal(await everyCommand(redis.admin), jsonBefore);
      assert.is(await redis.admin.exists(redisKey(ok)), 0);
    } finally {
      await json.close();
    }

    // A key the built-in Compact format cannot encode (a lone surrogate).
    const compact = builder().connection(ConnectionMode.single(silent.url)).keyFormat(CacheKeyFormat.Compact).build();
    try {
      const error = await within('Compact refusal', rejection(compact.readMany([freshKey('c'), new CacheKey('\ud800', 1, [])])));
      assert.instance(error, InvalidKeyError);
      assert.match((error as InvalidKeyError).reason, /^entry 2: key text is not well-formed UTF-16/);
    } finally {
      await compact.close();
    }
    assert.is(silent.connections(), 0);
  } finally {
    for (const target of targets) await target.backend.close();
    await silent.close();
  }
});

single('a hole in the array (`[a, , b]`) is refused as a missing key or entry, before anything is sent', async () => {
  // ioredis sends a hole as the key '' (so removeMany deletes whatever is stored there), node-redis refuses it
  // as a ConnectionError, and the entries' check throws a TypeError: see /tmp/bugs/many-1.md.
  const [a, b] = [freshKey('hole-a'), freshKey('hole-b')];
  await redis.admin.hset('', 'd', 'an entry at the empty key');
  const before = await everyCommand(redis.admin);
  const keyRefusals: [string, () => Promise<unknown>, string][] = [
    ['readMany', () => backend.readMany(sparse([a, b, a], 1)), 'entry 2: '],
    ['getMany', () => backend.getMany(sparse([a, b], 0)), 'entry 1: '],
    ['removeMany', () => backend.removeMany(sparse([a, b], 0)), 'entry 1: '],
    ['deleteMany', () => backend.deleteMany(sparse([a, b, a], 1)), 'entry 2: '],
  ];
  for (const [operation, call, where] of keyRefusals) {
    const error = await rejection(call());
    assert.instance(error, InvalidKeyError, `${operation}: ${error}`);
    assert.ok((error as InvalidKeyError).reason.startsWith(where), `${operation}: "${(error as InvalidKeyError).reason}" names ${where}`);
  }
  for (const operation of ['writeMany', 'setMany'] as const) {
    const entries = sparse([a, b, a].map((key): [CacheKey, CacheValue<Buffer>] => [key, new CacheValue(buf('v'))]), 2);
    const error = await rejection(operation === 'writeMany' ? backend.writeMany(entries) : backend.setMany(entries));
    assert.instance(error, InvalidValueError, `${operation}: ${error}`);
    assert.is((error as InvalidValueError).reason, 'entry 3 must be a [CacheKey, CacheValue] pair');
  }
  assert.equal(await everyCommand(redis.admin), before, 'nothing sent');
  assert.is(await redis.admin.hget('', 'd'), 'an entry at the empty key', 'the entry at the empty key untouched');
  await redis.admin.del('');
});

single('foreign data in a batch of 100: ForeignDataError naming that key, nothing of the batch written or removed', async () => {
  for (const [what, at, plant] of [
    ['a list', 56, (key: string) => redis.admin.rpush(key, 'mine')],
    ['a string', 0, (key: string) => redis.admin.set(key, 'mine')],
    ['a hash without d', 99, (key: string) => redis.admin.hset(key, 'f', 'mine')],
  ] as const) {
    const keys = freshKeys(`foreign-${at}`, 100);
    const foreign = keys[at]!;
    await plant(redisKey(foreign));
    const foreignBefore = await redis.admin.dumpBuffer(redisKey(foreign));

    const refused = async (operation: string, call: Promise<unknown>): Promise<void> => {
      const error = await rejection(call);
      assert.instance(error, ForeignDataError, `${operation} over ${what}: ${error}`);
      const foreignError = error as ForeignDataError;
      assert.is(foreignError.key, foreign.toString(), `${operation}: names the key holding ${what}`);
      assert.is(foreignError.operation, operation);
      assert.ok(error.message.includes(foreign.toString()), error.message);
      assert.not.match(foreignError.reason, /^entry \d/, 'the position replaced by the key');
      if (what !== 'a hash without d') assert.match(foreignError.reason, what === 'a list' ? /list/ : /string/);
    };
    await refused('writeMany', backend.writeMany(keys.map((key): [CacheKey, CacheValue<Buffer>] => [key, new CacheValue(buf('v'), inAMinute())])));
    assert.is(await redis.admin.exists(...keys.filter((key) => key !== foreign).map(redisKey)), 0, `${what}: none of the other 99 written`);
    await refused('setMany', backend.setMany(keys.map((key): [CacheKey, CacheValue<string>] => [key, new CacheValue('v')])));
    assert.is(await redis.admin.exists(...keys.filter((key) => key !== foreign).map(redisKey)), 0);
    await refused('readMany', backend.readMany(keys));
    await refused('getMany', backend.getMany(keys));

    // With the other 99 written, removeMany removes none of them.
    const others = keys.filter((key) => key !== foreign);
    await backend.writeMany(others.map((key): [CacheKey, CacheValue<Buffer>] => [key, new CacheValue(buf('v'))]));
    await refused('removeMany', backend.removeMany(keys));
    await refused('deleteMany', backend.deleteMany(keys));
    assert.is(await redis.admin.exists(...others.map(redisKey)), 99, `${what}: none of the other 99 removed`);
    assert.equal(await redis.admin.dumpBuffer(redisKey(foreign)), foreignBefore, `${what} left untouched`);
  }

  // In a batch of 250, the key at position 181 (the 81st of the second chunk) is named, and nothing of its chunk is written.
  const keys = freshKeys('foreign-chunks', 250);
  await redis.admin.rpush(redisKey(keys[180]!), 'mine');
  const error = await rejection(backend.writeMany(keys.map((key): [CacheKey, CacheValue<Buffer>] => [key, new CacheValue(buf('v'))])));
  assert.instance(error, ForeignDataError);
  assert.is((error as ForeignDataError).key, keys[180]!.toString(), 'the key, not the 81st of the batch');
  assert.is(await redis.admin.exists(...keys.slice(100, 200).filter((_, i) => i !== 80).map(redisKey)), 0, 'nothing of the second chunk written');
  for (const [operation, call] of [
    ['readMany', () => backend.readMany(keys)],
    ['removeMany', () => backend.removeMany(keys)],
  ] as const) {
    const refused = await rejection(call());
    assert.instance(refused, ForeignDataError, `${operation}: ${refused}`);
    assert.is((refused as ForeignDataError).key, keys[180]!.toString(), `${operation} names the key at position 181`);
  }
});

single('getMany: stored bytes the value format cannot decode are a FormatError naming the key', async () => {
  const [ok, broken] = [freshKey('decodes'), freshKey('broken')];
  await backend.set(ok, new CacheValue('fine'));
  // 0xc1 is the one byte MessagePack never uses.
  await backend.write(broken, new CacheValue(Buffer.from([0xc1])));
  const error = await rejection(backend.getMany([ok, broken]));
  assert.instance(error, FormatError, String(error));
  assert.is((error as FormatError).key, broken.toString());
  assert.is((error as FormatError).operation, 'getMany');
  assert.equal((await backend.readMany([ok, broken]))[1]?.data, Buffer.from([0xc1]), 'the raw layer reads the bytes');
});

single('chunks of 100: 250 keys are 3 script calls for each operation, every value right and in order', async () => {
  const keys = freshKeys('chunked', 250);
  const staleAt = Date.now() + 30_000;
  let calls = await countScripts(() => backend.writeMany(keys.map((key, i): [CacheKey, CacheValue<Buffer>] => [key, new CacheValue(buf(`value ${i}`), inAMinute(), i % 2 ? new Date(staleAt + i) : null)])));
  assert.equal(calls, { evalsha: 3, evalsha_ro: 0, eval: 0, eval_ro: 0 });
  assert.is((await redis.admin.keys('*chunked*')).length, 250);

  const shuffled = [...keys.slice(125), keys[7]!, ...keys.slice(0, 125)];
  let read: (CacheValue<Buffer> | null)[] = [];
  calls = await countScripts(async () => {
    read = await backend.readMany(shuffled);
  });
  assert.equal(calls, { evalsha: 0, evalsha_ro: 3, eval: 0, eval_ro: 0 }, '251 keys: 3 calls');
  const index = (key: CacheKey): number => keys.indexOf(key);
  assert.equal(
    read.map((value) => value?.data.toString()),
    shuffled.map((key) => `value ${index(key)}`),
  );
  assert.equal(
    read.map((value) => value?.stale?.getTime() ?? null),
    shuffled.map((key) => (index(key) % 2 ? staleAt + index(key) : null)),
  );

  calls = await countScripts(() => backend.readMany(keys.slice(0, 100)));
  assert.is(total(calls), 1, '100 keys: one call');
  calls = await countScripts(() => backend.readMany(keys.slice(0, 101)));
  assert.is(total(calls), 2, '101 keys: two calls');

  let status: unknown;
  calls = await countScripts(async () => {
    status = await backend.removeMany(keys);
  });
  assert.equal(status, { kind: 'deleted', count: 250 });
  assert.equal(calls, { evalsha: 3, evalsha_ro: 0, eval: 0, eval_ro: 0 });
  assert.is((await redis.admin.keys('*chunked*')).length, 0);
});

// ---------------------------------------------------------------------------------------------------------
// Cluster: 3 primaries

const clustered = suite(`many keys, cluster of 3 primaries, ${DRIVER}`);
let cluster: ClusterUnderTest;
let onCluster: RedisBackend;
/** The node that owns each slot, from CLUSTER SLOTS. */
const owner: ClusterNodeUnderTest[] = [];

// A key format that stores a key under its prefix, as is: the test picks the Redis keys (hash tags) itself.
const RAW = { name: 'raw', encode: (key: CacheKey): RedisKey => key.prefix };
// The same as bytes, made from a latin1 prefix: each character one byte, so any byte (not UTF-8 text) can be a key.
const RAW_BYTES = { name: 'raw-bytes', encode: (key: CacheKey): RedisKey => Buffer.from(key.prefix, 'latin1') };
const rawKey = (redisName: string): CacheKey => new CacheKey(redisName, 1, []);

/** The slot of `key` as the server computes it. */
async function serverSlot(key: RedisKey): Promise<number> {
  return Number(await cluster.nodes[0]!.admin.call('CLUSTER', 'KEYSLOT', key));
}

async function nodeScripts(node: ClusterNodeUnderTest): Promise<Record<string, number>> {
  return commandCalls(node.admin);
}

/** Script calls per primary that `work` made. */
async function perNodeScripts(work: () => Promise<unknown>): Promise<number[]> {
  const before = await Promise.all(cluster.nodes.map(nodeScripts));
  await work();
  const after = await Promise.all(cluster.nodes.map(nodeScripts));
  return cluster.nodes.map((_, i) => total(scriptsSince(before[i]!, after[i]!)));
}

/** Script calls each primary should get for `keys`: per slot it owns, one per 100 keys. */
async function expectedCalls(keys: readonly RedisKey[]): Promise<number[]> {
  const slots = await Promise.all(keys.map(serverSlot));
  const perSlot = new Map<number, number>();
  for (const slot of slots) perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1);
  const calls = cluster.nodes.map(() => 0);
  for (const [slot, count] of perSlot) calls[cluster.nodes.indexOf(owner[slot]!)]! += Math.ceil(count / 100);
  return calls;
}

/** Hash tags (by the server's own KEYSLOT) whose slots the primaries own, `perNode` of them per primary. */
async function tagsPerNode(perNode: number, seed: string): Promise<string[][]> {
  const tags: string[][] = cluster.nodes.map(() => []);
  for (let i = 0; tags.some((list) => list.length < perNode); i++) {
    const tag = `${seed}${i}`;
    const list = tags[cluster.nodes.indexOf(owner[await serverSlot(tag)]!)]!;
    if (list.length < perNode) list.push(tag);
  }
  return tags;
}

clustered.before(async () => {
  cluster = await startCluster({ primaries: 3, replicasPerPrimary: 0 });
  await Promise.all(cluster.nodes.map(async (node) => Promise.all(allScripts.map((script) => node.admin.script('LOAD', script.source)))));
  const slots = (await cluster.nodes[0]!.admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
  for (const [start, end, [, port]] of slots) {
    const node = cluster.nodes.find((candidate) => candidate.port === Number(port));
    if (node === undefined) throw new Error(`no node on port ${port}`);
    for (let slot = start; slot <= end; slot++) owner[slot] = node;
  }
  onCluster = builder().connection(ConnectionMode.cluster(cluster.seedUrls)).keyFormat(RAW).build();
  await onCluster.read(rawKey('warm-up'));
});

clustered.after(async () => {
  await onCluster?.close();
  await cluster?.stop();
});

clustered('keySlot is the slot CLUSTER KEYSLOT gives: hash tags, empty tags, unicode, Buffer keys', async () => {
  const keys: RedisKey[] = [
    '',
    'foo',
    'somekey',
    '{user1000}.following',
    '{user1000}.followers',
    '{}',
    '{}{x}',
    'foo{}{bar}',
    '{{a}}',
    'foo{{bar}}zap',
    'foo{bar}{zap}',
    'a{b',
    'a}b{c}',
    '}{',
    'ünï©ødé ✓',
    '{😀}x',
    'ключ{値}',
    '\u0000{\u0000}',
    Buffer.from([0xff, 0xfe, 0x00]),
    Buffer.from([0xff, 0x7b, 0x80, 0x7d, 0x01]),
    Buffer.from([0x7b, 0x7d, 0x7b, 0xc3, 0x28, 0x7d]),
    Buffer.from('{tag}rest'),
    Buffer.alloc(0),
  ];
  // And a few hundred of every shape: random bytes rich in braces, random unicode text.
  let seed = 7;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < 300; i++) {
    keys.push(Buffer.from(Array.from({ length: next() % 12 }, () => (next() % 4 === 0 ? [0x7b, 0x7d][next() % 2]! : next() % 256))));
    keys.push(Array.from({ length: next() % 8 }, () => String.fromCodePoint([next() % 128, 0x400 + (next() % 256), 0x1f600 + (next() % 64), 0x7b, 0x7d][next() % 5]!)).join(''));
  }
  const server = await Promise.all(keys.map(serverSlot));
  const mismatches = keys.map((key, i) => ({ key, ours: keySlot(key), server: server[i] })).filter((row) => row.ours !== row.server);
  assert.equal(mismatches, [], 'every key in the slot the server gives it');
});

clustered('keys over 3 primaries: one script call per slot group (and per 100 keys of it), each on the node that owns the slot, results in order', async () => {
  const tags = await tagsPerNode(2, 'route');
  // Two tags per primary, 5 keys each, interleaved; one tag with 130 keys (two calls); keys without a tag.
  const names: string[] = [];
  for (let i = 0; i < 5; i++) for (const tag of tags.flat()) names.push(`{${tag}}:${i}`);
  const big = tags[1]![0]!;
  for (let i = 5; i < 135; i++) names.splice((i * 7) % names.length, 0, `{${big}}:${i}`);
  for (let i = 0; i < 6; i++) names.push(`solo:${i}`);
  names.push(names[3]!); // a key given twice
  const keys = names.map(rawKey);
  const expected = await expectedCalls(names);
  assert.ok(expected.every((calls) => calls >= 2), `every primary gets calls: ${expected.join(', ')}`);

  const value = (i: number): CacheValue<Buffer> => new CacheValue(buf(`value ${i}`), inAMinute(), i % 3 ? null : new Date(1_000_000 + i));
  const calls = await perNodeScripts(() => onCluster.writeMany(keys.map((key, i) => [key, value(i)])));
  assert.equal(calls, expected, 'writeMany: script calls per primary');
  // Each key on the node that owns its slot; the key given twice holds its last value.
  const last = new Map(names.map((name, i) => [name, i]));
  for (const [name, i] of last) {
    const node = owner[await serverSlot(name)]!;
    assert.is(await node.admin.hget(name, 'd'), `value ${i}`, `${name} on ${node.port}`);
  }

  const shuffled = [...keys].reverse();
  let read: (CacheValue<Buffer> | null)[] = [];
  assert.equal(
    await perNodeScripts(async () => {
      read = await onCluster.readMany(shuffled);
    }),
    expected,
    'readMany: script calls per primary',
  );
  assert.equal(
    read.map((entry) => entry?.data.toString()),
    shuffled.map((key) => `value ${last.get(key.prefix)}`),
    'in the order given',
  );
  assert.equal(
    read.map((entry) => entry?.stale?.getTime() ?? null),
    shuffled.map((key) => (last.get(key.prefix)! % 3 ? null : 1_000_000 + last.get(key.prefix)!)),
  );

  let status: unknown;
  assert.equal(
    await perNodeScripts(async () => {
      status = await onCluster.removeMany(keys);
    }),
    expected,
    'removeMany: script calls per primary',
  );
  assert.equal(status, { kind: 'deleted', count: last.size }, 'every key once');
  assert.equal(await onCluster.readMany(keys.slice(0, 3)), [null, null, null]);

  // Empty batches make no call on any node.
  assert.equal(
    await perNodeScripts(async () => {
      assert.equal(await onCluster.readMany([]), []);
      assert.is(await onCluster.writeMany([]), undefined);
      assert.equal(await onCluster.removeMany([]), { kind: 'missing' });
    }),
    [0, 0, 0],
  );
});

clustered('Buffer keys that are not UTF-8 text: grouped and routed by their bytes', async () => {
  const bytes = builder().connection(ConnectionMode.cluster(cluster.seedUrls)).keyFormat(RAW_BYTES).build();
  try {
    // 0xff and 0xfe never occur in UTF-8: a client that routed these by their text would hash other bytes.
    const prefixes = Array.from({ length: 30 }, (_, i) => `\u00ff\u00fe${String.fromCharCode(0x80 + i)}`);
    // And a hash tag of such bytes, 10 keys in one slot.
    for (let i = 0; i < 10; i++) prefixes.push(`x{\u00ff\u00c3}${i}`);
    const keys = prefixes.map(rawKey);
    const redisKeys = prefixes.map((prefix) => Buffer.from(prefix, 'latin1'));
    const expected = await expectedCalls(redisKeys);
    const moved = async (): Promise<number> => {
      const counts = await Promise.all(cluster.nodes.map(async (node) => Number(/^errorstat_MOVED:count=(\d+)/m.exec(await node.admin.info('errorstats'))?.[1] ?? 0)));
      return counts.reduce((a, b) => a + b, 0);
    };
    const movedBefore = await moved();
    assert.equal(await perNodeScripts(() => bytes.writeMany(keys.map((key, i) => [key, new CacheValue(buf(`b${i}`))]))), expected);
    for (let i = 0; i < keys.length; i++) {
      const node = owner[await serverSlot(redisKeys[i]!)]!;
      assert.equal(await node.admin.hgetBuffer(redisKeys[i]!, 'd'), buf(`b${i}`), `key ${i} on the node that owns it`);
    }
    assert.equal(
      (await bytes.readMany(keys)).map((entry) => entry?.data.toString()),
      keys.map((_, i) => `b${i}`),
    );
    assert.equal(await bytes.removeMany(keys), { kind: 'deleted', count: keys.length });
    assert.is(await moved(), movedBefore, 'no call was sent to a node that does not own its slot');
  } finally {
    await bytes.close();
  }
});

clustered('foreign data in one slot group: ForeignDataError naming the key, nothing of that group written or removed, the other groups done', async () => {
  const tags = await tagsPerNode(1, 'foreign');
  const [here, there] = [tags[0]![0]!, tags[1]![0]!];
  const mine = Array.from({ length: 10 }, (_, i) => `{${here}}:${i}`);
  const theirs = Array.from({ length: 10 }, (_, i) => `{${there}}:${i}`);
  const names = mine.flatMap((name, i) => [name, theirs[i]!]);
  const foreign = theirs[4]!;
  const foreignNode = owner[await serverSlot(foreign)]!;
  await foreignNode.admin.rpush(foreign, 'not a cache entry');
  const keys = names.map(rawKey);
  const foreignKey = keys[names.indexOf(foreign)]!;

  const refused = async (operation: string, call: Promise<unknown>): Promise<void> => {
    const error = await rejection(call);
    assert.instance(error, ForeignDataError, `${operation}: ${error}`);
    assert.is((error as ForeignDataError).key, foreignKey.toString(), `${operation} names the key`);
    assert.match((error as ForeignDataError).reason, /list/);
  };
  await refused('writeMany', onCluster.writeMany(keys.map((key) => [key, new CacheValue(buf(key.prefix))])));
  const theirNode = foreignNode.admin;
  assert.is(await theirNode.exists(...theirs.filter((name) => name !== foreign)), 0, "nothing of the foreign key's slot group written");
  // The other group's call went on its own; read through the backend, after it on the same connection.
  assert.equal(
    (await onCluster.readMany(mine.map(rawKey))).map((entry) => entry?.data.toString()),
    mine,
    'the group of the other slot is written',
  );

  await refused('readMany', onCluster.readMany(keys));
  await onCluster.writeMany(theirs.filter((name) => name !== foreign).map((name) => [rawKey(name), new CacheValue(buf(name))]));
  await refused('removeMany', onCluster.removeMany(keys));
  assert.is(await theirNode.exists(...theirs.filter((name) => name !== foreign)), 9, "nothing of the foreign key's slot group removed");
  assert.equal(await theirNode.lrange(foreign, 0, -1), ['not a cache entry'], 'the list untouched');
  assert.equal(await onCluster.removeMany(mine.map(rawKey)), { kind: 'missing' }, "the other slot's group was removed");
});

single.run();
clustered.run();
