// @drivers ioredis node-redis
/**
 * The single-key calls of one tick merged into many-key script calls on a single node (MergingDriver):
 * counted with the server's own `INFO commandstats`, each caller still gets its own reply or its own
 * error, the calls of a tick run in the order they were made, a failure of the merged call is every
 * member's, and calls made before close() are answered.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { CacheKey, CacheValue, ConnectionMode, ForeignDataError, TimeoutError, type RedisBackend } from '../../src/index.js';
import { builder, DRIVER } from '../helpers/driver.js';
import { commandCalls, scriptsSince, startRedis, totalScripts, type RedisUnderTest } from '../helpers/redis.js';
import { rejection } from '../helpers/settle.js';

const test = suite(`merged calls [${DRIVER}]`);
let redis: RedisUnderTest;
let backend: RedisBackend;

test.before(async () => {
  redis = await startRedis();
  backend = builder().connection(ConnectionMode.single(redis.url)).build();
});

test.after(async () => {
  await backend.close();
  await redis.stop();
});

/** Neighbouring calls of one kind in a tick that make one merged call (MergingDriver merges every 32). */
const RUN = 32;
const key = (name: string, i = 0): CacheKey => new CacheKey('merged', 1, [{ key: name, value: String(i) }]);
const hour = (): Date => new Date(Date.now() + 3_600_000);

/**
 * Connected, and every script the tests count sent once on the connection (a script's first call on a
 * connection is an EVAL).
 */
async function warmUp(target: RedisBackend): Promise<void> {
  const a = key('warm-up', 1);
  await target.set(a, new CacheValue(1));
  await target.get(a);
  await target.delete(a);
  const many = Array.from({ length: RUN }, (_, i) => key('warm-up', 10 + i));
  await Promise.all([target.get(a), ...many.map((k) => target.set(k, new CacheValue(1))), ...many.map((k) => target.get(k))]);
}

/** The script calls `work` makes, by command, as the server counted them. */
async function scriptCalls(work: () => Promise<unknown>): Promise<Record<string, number>> {
  await warmUp(backend);
  const before = await commandCalls(redis.admin);
  await work();
  return scriptsSince(before, await commandCalls(redis.admin));
}

test('68 gets of one tick: the first sent at once, then two read_many calls of 32, the last 3 alone; each caller with its own entry', async () => {
  await Promise.all(Array.from({ length: 67 }, (_, i) => backend.set(key('get', i), new CacheValue(`value ${i}`, hour()))));
  let results: (CacheValue<string> | null)[] = [];
  const calls = await scriptCalls(async () => {
    // Key 67 was never written: its caller gets null, the others their own value.
    results = await Promise.all(Array.from({ length: 68 }, (_, i) => backend.get<string>(key('get', i))));
  });
  assert.equal(calls, { evalsha: 0, evalsha_ro: 6, eval: 0, eval_ro: 0 });
  assert.equal(results.slice(0, 67).map((hit) => hit?.data), Array.from({ length: 67 }, (_, i) => `value ${i}`));
  assert.is(results[67], null);
  assert.ok(results.slice(0, 67).every((hit) => hit !== null && hit.expire !== null && hit.expire.getTime() > Date.now() + 3_500_000), 'each with its own TTL');
});

test('35 untagged sets of one tick, each with its own TTL: the first at once, then one write_many call of 32, the last 2 alone; each entry has its own data, stale time and TTL', async () => {
  const now = Date.now();
  const calls = await scriptCalls(() =>
    Promise.all(Array.from({ length: 35 }, (_, i) => backend.set(key('set', i), new CacheValue(i, new Date(now + 60_000 + i * 1_000), new Date(now + 30_000))))),
  );
  assert.is(totalScripts(calls), 4);
  for (let i = 0; i < 35; i += 11) {
    const hit = await backend.get<number>(key('set', i));
    assert.is(hit?.data, i);
    assert.is(hit?.stale?.getTime(), now + 30_000);
    const ttl = await redis.admin.pttl(new CacheKey('merged', 1, [{ key: 'set', value: String(i) }]).toString());
    assert.ok(ttl > 55_000 + i * 1_000 && ttl <= 60_000 + i * 1_000, `entry ${i}: pttl ${ttl}`);
  }
});

test('writes of a tick that share stale and ttl: each stretch of 8 or more as one call, the writes between as one', async () => {
  // Stale times are exact (a ttl is measured in the millisecond each write is made): they mark the stretches.
  const now = Date.now();
  const stretches = [7, 1, 8, 16];
  const stale = stretches.flatMap((length, stretch) => Array.from({ length }, () => new Date(now + 1_000 * (stretch + 1))));
  const calls = await scriptCalls(() =>
    Promise.all([backend.get(key('stretch-first')), ...stale.map((at, i) => backend.set(key('stretch', i), new CacheValue(i, null, at)))]),
  );
  // The get alone; the 7 + 1 writes as one write_many, the stretches of 8 and 16 each as write_many_uniform.
  assert.equal(calls, { evalsha: 3, evalsha_ro: 1, eval: 0, eval_ro: 0 });
  const hits = await backend.getMany<number>(stale.map((_, i) => key('stretch', i)));
  assert.equal(hits.map((hit) => hit?.data), stale.map((_, i) => i));
  assert.equal(hits.map((hit) => hit?.stale?.getTime()), stale.map((at) => at.getTime()));
  assert.ok(hits.every((hit) => hit?.expire === null), 'no TTL');
});

test('a tick that fills no run of 32 and ends with fewer than 16 of a kind sends every call by itself: at a few calls in flight nothing is merged', async () => {
  const calls = await scriptCalls(async () => {
    await Promise.all([...Array.from({ length: 16 }, (_, i) => backend.get(key('few', i))), ...Array.from({ length: 15 }, (_, i) => backend.set(key('few', i), new CacheValue(i)))]);
  });
  assert.equal(calls, { evalsha: 15, evalsha_ro: 16, eval: 0, eval_ro: 0 });
});

test('the run a tick ends with is merged from 16 calls on, the calls before it each by itself', async () => {
  await Promise.all(Array.from({ length: 16 }, (_, i) => backend.set(key('tail', i), new CacheValue(`tail ${i}`))));
  let results: (CacheValue<string> | null)[] = [];
  const calls = await scriptCalls(async () => {
    const gets = Promise.all(Array.from({ length: 31 }, (_, i) => backend.get<string>(key('tail', i % 16))));
    await Promise.all([gets, ...Array.from({ length: 16 }, (_, i) => backend.set(key('tail', 100 + i), new CacheValue(`set ${i}`)))]);
    results = await gets;
  });
  // 31 gets alone (the first at once, the next 30 are not the tick's last run), the 16 sets as one write_many.
  assert.equal(calls, { evalsha: 1, evalsha_ro: 31, eval: 0, eval_ro: 0 });
  assert.equal(results.map((hit) => hit?.data), Array.from({ length: 31 }, (_, i) => `tail ${i % 16}`));
  assert.equal((await backend.getMany<string>(Array.from({ length: 16 }, (_, i) => key('tail', 100 + i)))).map((hit) => hit?.data), Array.from({ length: 16 }, (_, i) => `set ${i}`));
  // One get and 16 more: the first at once, the 16 merged into one read_many.
  const reads = await scriptCalls(() => Promise.all(Array.from({ length: 17 }, (_, i) => backend.get(key('tail', i % 16)))));
  assert.equal(reads, { evalsha: 0, evalsha_ro: 2, eval: 0, eval_ro: 0 });
});

/**
 * Calls on `name`'s keys made in one tick, none awaiting another, in runs long enough to be merged, checked
 * against what they return when run one after the other in the order made.
 */
async function assertTickInOrder(target: RedisBackend, name: string): Promise<void> {
  const k = key(name);
  const others = Array.from({ length: RUN }, (_, i) => key(name, i + 1));
  const reads = (): Promise<CacheValue<string> | null>[] => Array.from({ length: RUN }, () => target.get<string>(k));
  const [first, afterFirst, writes, afterWrites, deleted, afterDelete] = await Promise.all([
    target.set(k, new CacheValue('a')),
    Promise.all(reads()),
    Promise.all([...others.map((other) => target.set(other, new CacheValue('c'))), target.set(k, new CacheValue('b'))]),
    Promise.all(reads()),
    target.delete(k),
    target.get<string>(k),
  ]);
  assert.is(first, undefined);
  assert.ok(afterFirst.every((hit) => hit?.data === 'a'), 'the reads after the first write see it');
  assert.is(writes.length, RUN + 1);
  assert.ok(afterWrites.every((hit) => hit?.data === 'b'), 'the reads after the merged writes see the last of them');
  assert.equal(deleted, { kind: 'deleted', count: 1 });
  assert.is(afterDelete, null);
  assert.equal((await target.getMany<string>(others)).map((hit) => hit?.data), others.map(() => 'c'));
}

test('calls of one tick run in the order they were made: only neighbours of one kind are merged', async () => {
  const calls = await scriptCalls(() => assertTickInOrder(backend, 'order'));
  // set | 32 gets | 32 sets, set | 32 gets | delete | get, then the check's getMany: eight calls for 101 (the
  // set after the merged sets is alone: the gets after it are another kind).
  assert.is(totalScripts(calls), 8);
});

test('on a server that has none of the scripts yet, the calls of a tick still run in the order they were made', async () => {
  await redis.admin.script('FLUSH');
  const fresh = builder().connection(ConnectionMode.single(redis.url)).build();
  try {
    await assertTickInOrder(fresh, 'cold');
  } finally {
    await fresh.close();
  }
});

test('on a new connection, a script not cached yet runs before the calls made after it, cached or not', async () => {
  await redis.admin.script('FLUSH');
  const fresh = builder().connection(ConnectionMode.single(redis.url)).build();
  try {
    await fresh.get(key('half-cold', 9)); // connected, and the read script cached: the write script is not
    const k = key('half-cold');
    const [, read] = await Promise.all([fresh.set(k, new CacheValue('written first')), fresh.get<string>(k)]);
    assert.is(read?.data, 'written first');
  } finally {
    await fresh.close();
  }
});

test('foreign data at one key fails its own caller only, named; the merged neighbours are served', async () => {
  await redis.admin.set(key('foreign').toString(), 'not an entry');
  await backend.set(key('foreign-next'), new CacheValue('next'));
  // The foreign key in the middle of merged runs (after a first call that leaves alone).
  const padding = (name: string): CacheKey[] => Array.from({ length: RUN / 2 }, (_, i) => key(name, i + 1));
  const before = await Promise.allSettled([backend.get(key('first')), ...padding('foreign-pad').map((k) => backend.get(k)), backend.get(key('foreign-prev')), backend.get(key('foreign')), backend.get<string>(key('foreign-next')), ...padding('foreign-pad').map((k) => backend.get(k))]);
  const reads = before.slice(RUN / 2 + 1, RUN / 2 + 4);
  assert.ok(before.filter((read) => read.status === 'rejected').length === 1, 'only the foreign key fails');
  assert.equal(reads[0], { status: 'fulfilled', value: null });
  assert.is(reads[1]?.status, 'rejected');
  const readError = (reads[1] as PromiseRejectedResult).reason as Error;
  assert.instance(readError, ForeignDataError);
  assert.match(readError.message, 'get of key _prefix=merged&_version=1&foreign=0');
  assert.is(((reads[2] as PromiseFulfilledResult<CacheValue<string> | null>).value)?.data, 'next');

  const allWrites = await Promise.allSettled([
    backend.set(key('w-first'), new CacheValue(0)),
    ...padding('w-pad').map((k) => backend.set(k, new CacheValue(0))),
    backend.set(key('w-prev'), new CacheValue(1)),
    backend.set(key('foreign'), new CacheValue(2)),
    backend.set(key('w-next'), new CacheValue(3)),
    ...padding('w-pad').map((k) => backend.set(k, new CacheValue(0))),
  ]);
  const writes = allWrites.slice(RUN / 2 + 1, RUN / 2 + 4);
  assert.ok(allWrites.filter((write) => write.status === 'rejected').length === 1, 'only the foreign key fails');
  assert.equal(writes.map((write) => write.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.instance((writes[1] as PromiseRejectedResult).reason, ForeignDataError);
  assert.match(String((writes[1] as PromiseRejectedResult).reason), 'set of key _prefix=merged&_version=1&foreign=0');
  assert.is(await redis.admin.get(key('foreign').toString()), 'not an entry', 'the foreign key is left as it was');
  assert.equal([(await backend.get(key('w-prev')))?.data, (await backend.get(key('w-next')))?.data], [1, 3]);
});

test('a merged call that times out fails every caller (and the first, alone), each error naming its own key', async () => {
  const timed = builder().connection(ConnectionMode.single(redis.url)).responseTimeout(100).build();
  try {
    await warmUp(timed);
    // CLIENT PAUSE replies once the pause is in force: every get after it is held.
    await redis.admin.client('PAUSE', '300', 'ALL');
    const errors = await Promise.all(Array.from({ length: RUN + 1 }, (_, i) => rejection(timed.get(key('paused', i)))));
    errors.forEach((error, i) => {
      assert.instance(error, TimeoutError);
      assert.match(error.message, `get of key _prefix=merged&_version=1&paused=${i} failed`);
    });
  } finally {
    await timed.close();
  }
});

test('calls made in the tick of close() are sent and answered before the connection closes', async () => {
  const closing = builder().connection(ConnectionMode.single(redis.url)).build();
  await warmUp(closing);
  const writes = [closing.set(key('closing', 1), new CacheValue('one')), closing.set(key('closing', 2), new CacheValue('two'))];
  await closing.close();
  await Promise.all(writes);
  assert.equal([(await backend.get(key('closing', 1)))?.data, (await backend.get(key('closing', 2)))?.data], ['one', 'two']);
});

if (DRIVER === 'ioredis') {
  test('autoPipelining(false) merges nothing: one script call per get', async () => {
    const unbatched = builder().connection(ConnectionMode.single(redis.url)).autoPipelining(false).build();
    try {
      await warmUp(unbatched);
      const before = await commandCalls(redis.admin);
      await Promise.all(Array.from({ length: RUN }, (_, i) => unbatched.get(key('unbatched', i))));
      assert.is(totalScripts(scriptsSince(before, await commandCalls(redis.admin))), RUN);
    } finally {
      await unbatched.close();
    }
  });
}

test.run();
