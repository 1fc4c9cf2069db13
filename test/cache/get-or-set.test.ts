// @drivers ioredis node-redis
/**
 * getOrSet in one process against a real redis-server: fresh, missing and stale entries, the lease in the
 * entry's hash (what a pending entry is to read, write and remove), failures of the factory and of the value
 * format, timeouts, close, bounded background work, and the entry it leaves; then the same core on a Redis
 * Cluster with keys on different primaries. Script calls are counted with the server's own `INFO commandstats`.
 * Cross-process behaviour (several processes on one key, a holder killed mid-factory) is another file's.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import {
  allScripts,
  type BackendError,
  CacheKey,
  CacheValue,
  ConnectionError,
  ConnectionMode,
  FactoryError,
  FactoryTimeoutError,
  type FactoryContext,
  FormatError,
  GET_OR_SET_CHANNEL,
  type GetOrSetLookupMessage,
  type GetOrSetOptions,
  InvalidOptionError,
  JsonFormat,
  MsgpackFormat,
  type RedisBackend,
} from '../../src/index.js';
import { startCluster, type ClusterUnderTest } from '../helpers/cluster.js';
import { builder, DRIVER } from '../helpers/driver.js';
import { commandCalls, infoField, scriptsSince, startRedis, type RedisUnderTest } from '../helpers/redis.js';
import { gate, openAbandonedGates, type Gate } from '../helpers/gate.js';
import { rejection, within } from '../helpers/settle.js';

// ---------------------------------------------------------------------------------------------------------
// Helpers


/** Polls `check` until it returns true; fails with `what` after `limit` ms. */
async function until(what: string, check: () => boolean | Promise<boolean>, limit = 5_000): Promise<void> {
  const deadline = Date.now() + limit;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${limit} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}


/** A factory that counts its calls, records its contexts and answers with `body`. */
function counted<T>(body: (context: FactoryContext<T>, call: number) => Promise<T>) {
  const contexts: FactoryContext<T>[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const factory = async (context: FactoryContext<T>): Promise<T> => {
    contexts.push(context);
    running++;
    mostAtOnce = Math.max(mostAtOnce, running);
    try {
      return await body(context, contexts.length);
    } finally {
      running--;
    }
  };
  return {
    factory,
    contexts,
    get calls() {
      return contexts.length;
    },
    get mostAtOnce() {
      return mostAtOnce;
    },
  };
}

/** Script commands the server ran since `before` (from `INFO commandstats`), by command. */
async function scriptCallsSince(admin: RedisUnderTest['admin'], before: Record<string, number>): Promise<Record<string, number>> {
  return scriptsSince(before, await commandCalls(admin));
}

/**
 * Script calls expected: `reads` of the read script (the only read-only one, hence EVALSHA_RO on both
 * drivers) and `writes` of the others (read_or_lease, fill, release: EVALSHA); never an EVAL.
 */
function scriptCalls(reads: number, writes: number): Record<string, number> {
  return { evalsha: writes, evalsha_ro: reads, eval: 0, eval_ro: 0 };
}

const ZERO_WORK = { flights: 0, refreshes: 0, factories: 0 };

async function settled(backend: RedisBackend): Promise<void> {
  await until('pendingWork() back to zero', () => {
    const work = backend.pendingWork();
    return work.flights === 0 && work.refreshes === 0 && work.factories === 0;
  });
  assert.equal(backend.pendingWork(), ZERO_WORK);
}

// The UrlEncoded key format (the default) stores a key under its string form.
const redisKey = (key: CacheKey): string => key.toString();

/** An entry that turned stale a second ago and lives another minute, written with `set`. */
function staleValue<T>(data: T): CacheValue<T> {
  const now = Date.now();
  return new CacheValue(data, new Date(now + 60_000), new Date(now - 1_000));
}

// ---------------------------------------------------------------------------------------------------------
// Single node

const test = suite(`getOrSet, single node, ${DRIVER}`);
// Both suites: a background refresh or a stray rejection must never surface as unhandled.
const unhandled: unknown[] = [];
process.on('unhandledRejection', (error) => void unhandled.push(error));
process.on('uncaughtException', (error) => void unhandled.push(error));
let redis: RedisUnderTest;
let backend: RedisBackend;
/** What the main backend's error listener received, and a way to await the next one. */
const reported: BackendError[] = [];
let nextReport: Gate<BackendError> = gate(false);

test.before(async () => {
  redis = await startRedis();
  // Every script cached up front: the counts below are then one EVALSHA(_RO) per script call, never a NOSCRIPT retry.
  for (const script of allScripts) await redis.admin.script('LOAD', script.source);
  backend = builder()
    .connection(ConnectionMode.single(redis.url))
    .onError((error) => {
      reported.push(error);
      const current = nextReport;
      nextReport = gate(false);
      current.open(error);
    })
    .build();
  // Connected before anything is counted.
  await backend.get(new CacheKey('warm-up', 1, []));
});

test.after(async () => {
  await backend?.close();
  await redis?.stop();
});

test.before.each(() => {
  reported.length = 0;
});

test.after.each(() => {
  openAbandonedGates();
  assert.equal(unhandled, [], 'no unhandled rejection or uncaught exception anywhere in the process');
});

let keys = 0;
/** A key of its own for each use. */
const freshKey = (name: string): CacheKey => new CacheKey('gos', 1, [{ key: name, value: String(++keys) }]);

test('fresh entry: returned without calling the factory, one read script per call (what get costs), one per concurrent burst', async () => {
  const key = freshKey('fresh');
  const source = counted(async () => ({ n: 1 }));
  const options = { ttl: 60_000, staleAfter: 30_000 };
  assert.equal(await backend.getOrSet(key, source.factory, options), { n: 1 });
  assert.is(source.calls, 1);

  let before = await commandCalls(redis.admin);
  for (let i = 0; i < 20; i++) assert.equal(await backend.getOrSet(key, source.factory, options), { n: 1 });
  assert.is(source.calls, 1, 'a fresh entry never calls the factory');
  assert.equal(await scriptCallsSince(redis.admin, before), scriptCalls(20, 0), 'a fresh hit is one read, no lease asked for');

  // Concurrent callers in one process share one flight: one script call for all of them.
  before = await commandCalls(redis.admin);
  const values = await Promise.all(Array.from({ length: 50 }, () => backend.getOrSet(key, source.factory, options)));
  assert.ok(values.every((value) => value.n === 1));
  assert.is(source.calls, 1);
  assert.equal(await scriptCallsSince(redis.admin, before), scriptCalls(1, 0));
  await settled(backend);
});

test('missing entry, 500 concurrent callers: one factory call, three script calls, an ordinary entry left', async () => {
  const key = freshKey('stampede');
  const factoryRuns = gate();
  const source = counted(async () => {
    factoryRuns.open();
    // Held until every caller has joined, so none of them could have come late enough to find the value stored.
    await release.promise;
    return { user: 'ada', at: 7 };
  });
  const release = gate();
  const before = await commandCalls(redis.admin);
  const started = Date.now();
  const calls = Array.from({ length: 500 }, () => backend.getOrSet(key, source.factory, { ttl: 5_000, staleAfter: 2_000 }));
  await factoryRuns.promise;
  release.open();
  const values = await Promise.all(calls);
  assert.is(source.calls, 1, 'one factory call for 500 callers');
  assert.ok(values.every((value) => value === values[0]), 'every caller gets the value (the same object)');
  assert.equal(values[0], { user: 'ada', at: 7 });
  assert.equal(await scriptCallsSince(redis.admin, before), scriptCalls(1, 2), 'read, read_or_lease and fill, once each');
  assert.is(source.contexts[0]?.stale, null, 'a missing entry has no stale value');

  const hash = await redis.admin.hgetall(redisKey(key));
  assert.equal(Object.keys(hash).sort(), ['d', 's'], 'exactly d and s: no lease left');
  const staleAt = Number(hash.s);
  assert.ok(staleAt >= started + 2_000 && staleAt <= Date.now() + 2_000, `s is about now + staleAfter, got ${staleAt - started} ms after the start`);
  const pttl = await redis.admin.pttl(redisKey(key));
  assert.ok(pttl > 4_500 && pttl <= 5_000, `TTL close to ttl, got ${pttl}`);
  assert.equal((await backend.get(key))?.data, { user: 'ada', at: 7 });

  // Without staleAfter the entry never goes stale: no field s at all.
  const plain = freshKey('stampede-plain');
  await Promise.all(Array.from({ length: 10 }, () => backend.getOrSet(plain, async () => 'v', { ttl: 5_000 })));
  assert.equal(Object.keys(await redis.admin.hgetall(redisKey(plain))), ['d']);
  await settled(backend);
});

test('stale entry: every caller gets the stale value at once, one refresh with ctx.stale, the lease held meanwhile', async () => {
  const key = freshKey('stale');
  const written = staleValue({ v: 'old' });
  await backend.set(key, written);
  const release = gate<{ v: string }>();
  const source = counted(() => release.promise);
  const options = { ttl: 60_000, staleAfter: 30_000 };

  // Resolving while the factory is still held proves nobody waited for it.
  const first = await within('the stale value while the refresh runs', Promise.all(Array.from({ length: 100 }, () => backend.getOrSet(key, source.factory, options))));
  assert.ok(first.every((value) => value.v === 'old'));
  // The lease is asked for in the background, after the stale value was returned.
  await until('the refresh calling its factory', () => source.calls === 1);
  // A later wave is a new flight: it serves the stale value too, and its own background read_or_lease
  // finds the lease held; once that attempt ended, only the first refresh is left.
  const second = await within('the stale value from a later flight', Promise.all(Array.from({ length: 100 }, () => backend.getOrSet(key, source.factory, options))));
  assert.ok(second.every((value) => value.v === 'old'));
  await until("the later flight's lease attempt ended", () => backend.pendingWork().refreshes === 1 && backend.pendingWork().flights === 0);
  assert.is(source.calls, 1, 'exactly one refresh');

  const during = await redis.admin.hgetall(redisKey(key));
  assert.equal(Object.keys(during).sort(), ['d', 'l', 's'], 'the refresh holds the lease in field l');
  assert.match(during.l ?? '', /^\d+ \S+$/);

  const context = source.contexts[0]!;
  assert.equal(context.stale?.data, { v: 'old' });
  assert.is(context.stale?.stale?.getTime(), written.stale?.getTime(), 'stale time exact');
  const expireGap = Math.abs((context.stale?.expire?.getTime() ?? 0) - (written.expire?.getTime() ?? 0));
  assert.ok(expireGap < 1_000, `expire about the written one, ${expireGap} ms off`);
  assert.is(context.signal.aborted, false);

  const refreshedAt = Date.now();
  release.open({ v: 'new' });
  await until('the refreshed value stored', async () => (await backend.get<{ v: string }>(key))?.data.v === 'new');
  const after = await redis.admin.hgetall(redisKey(key));
  assert.equal(Object.keys(after).sort(), ['d', 's'], 'lease gone once the refresh stored');
  assert.ok(Number(after.s) >= refreshedAt + 30_000, 'the new entry is fresh for staleAfter from the refresh');
  assert.equal(await backend.getOrSet(key, source.factory, options), { v: 'new' });
  assert.is(source.calls, 1);
  assert.equal(reported, []);
  await settled(backend);
});

test('an entry getOrSet stored turns stale after staleAfter and is then refreshed with its old value in ctx.stale', async () => {
  const key = freshKey('turns-stale');
  const source = counted(async (_context, call) => `value ${call}`);
  const options = { ttl: 60_000, staleAfter: 150 };
  assert.is(await backend.getOrSet(key, source.factory, options), 'value 1');
  const staleAt = (await backend.read(key))?.stale?.getTime() ?? Number.NaN;
  // Fresh until s on the caller's clock: still no factory call just before.
  assert.ok(Date.now() < staleAt);
  assert.is(await backend.getOrSet(key, source.factory, options), 'value 1');
  assert.is(source.calls, 1);
  await until('the clock reaching the stale time', () => Date.now() >= staleAt);
  assert.is(await within('the stale value', backend.getOrSet(key, source.factory, options)), 'value 1', 'the stale value, at once');
  await until('the refresh stored', async () => (await backend.get(key))?.data === 'value 2');
  assert.is(source.calls, 2);
  assert.is(source.contexts[1]?.stale?.data, 'value 1');
  await settled(backend);
});

test('a stale entry removed between its read and its lease is not refreshed back: the stale value is served, nothing is stored', async () => {
  const key = freshKey('removed-before-lease');
  await backend.set(key, staleValue('old'));
  const source = counted(async () => 'new');
  // The read saw the entry stale; the delete is sent before the refresh asks for the lease, on the same
  // connection, so the server runs it first.
  const removeOnStale = (message: unknown): void => {
    if ((message as GetOrSetLookupMessage).result === 'stale') void backend.delete(key);
  };
  subscribe(GET_OR_SET_CHANNEL, removeOnStale);
  try {
    assert.is(await backend.getOrSet(key, source.factory, { ttl: 60_000 }), 'old', 'the stale value it read');
  } finally {
    unsubscribe(GET_OR_SET_CHANNEL, removeOnStale);
  }
  await settled(backend);
  assert.is(source.calls, 0, 'no refresh of an entry that is gone');
  assert.is(await redis.admin.exists(redisKey(key)), 0, 'no entry and no lease left behind');
  // The next call finds it missing and computes it, as a miss.
  assert.is(await backend.getOrSet(key, source.factory, { ttl: 60_000 }), 'new');
  assert.is(source.contexts[0]?.stale, null);
});

test('refresh failure in the stale window: stale value served, FactoryError to onError, lease kept as a backoff of lockTimeout', async () => {
  const key = freshKey('refresh-fails');
  await backend.set(key, staleValue('old'));
  const boom = new Error('source down');
  const source = counted(async (_context, call) => {
    if (call === 1) throw boom;
    return 'new';
  });
  const options = { ttl: 60_000, staleAfter: 30_000, lockTimeout: 400 };
  const report = nextReport.promise;
  const started = Date.now();
  assert.is(await backend.getOrSet(key, source.factory, options), 'old', 'nothing thrown: the stale value');
  const error = await report;
  assert.instance(error, FactoryError);
  assert.is(error.code, 'FACTORY');
  assert.is(error.operation, 'getOrSet');
  assert.is(error.key, key.toString());
  assert.is(error.cause, boom, "the factory's own error as cause");
  assert.is(reported.length, 1);

  // Within lockTimeout the kept lease holds the next refresh back.
  assert.ok(Object.keys(await redis.admin.hgetall(redisKey(key))).includes('l'), 'the lease is kept');
  assert.is(await backend.getOrSet(key, source.factory, options), 'old');
  await until('the background lease attempt ended', () => backend.pendingWork().refreshes === 0);
  assert.is(source.calls, 1, 'no second factory call within lockTimeout');
  assert.ok(Date.now() - started < options.lockTimeout, 'the check above ran within lockTimeout');

  // Once the lease is lockTimeout old, the next read refreshes again.
  await until('a second refresh', async () => {
    await backend.getOrSet(key, source.factory, options);
    return source.calls === 2;
  });
  const waited = Date.now() - started;
  assert.ok(waited >= options.lockTimeout - 10, `the next refresh came after ${waited} ms, not before lockTimeout`);
  await until('the second refresh stored', async () => (await backend.get(key))?.data === 'new');
  assert.is(reported.length, 1);
  await settled(backend);
});

test('factory error with nothing cached: rejects with that same error, nothing stored, nothing negatively cached', async () => {
  const key = freshKey('factory-fails');
  const boom = new Error('no such user');
  const source = counted(async (_context, call) => {
    if (call === 1) throw boom;
    return 'second try';
  });
  const callers = Array.from({ length: 20 }, () => backend.getOrSet(key, source.factory, { ttl: 60_000 }));
  const errors = await Promise.all(callers.map(rejection));
  assert.ok(errors.every((error) => error === boom), "every caller gets the factory's own error object");
  assert.is(await redis.admin.exists(redisKey(key)), 0, 'release removed the pending entry');
  assert.equal(reported, [], 'the release succeeded: nothing to report');
  assert.is(await backend.getOrSet(key, source.factory, { ttl: 60_000 }), 'second try', 'the next call runs the factory again');
  assert.is(source.calls, 2);
  await settled(backend);
});

test('pending entry: read and get miss it, its TTL is max(ttl, lockTimeout), write replaces it and the late result is dropped', async () => {
  const key = freshKey('pending-write');
  const running = gate();
  const release = gate();
  const source = counted(async () => {
    running.open();
    await release.promise;
    return 'late';
  });
  const call = backend.getOrSet(key, source.factory, { ttl: 5_000, lockTimeout: 20_000 });
  await running.promise;

  const pending = await redis.admin.hgetall(redisKey(key));
  assert.equal(Object.keys(pending), ['l'], 'a pending entry is a hash with only the lease');
  const pttl = await redis.admin.pttl(redisKey(key));
  assert.ok(pttl > 19_000 && pttl <= 20_000, `a pending entry outlives the lease: PTTL ${pttl}`);
  assert.is(await backend.read(key), null);
  assert.is(await backend.get(key), null);

  await backend.write(key, new CacheValue(Buffer.from('raw'), new Date(Date.now() + 60_000)));
  const written = await redis.admin.hgetall(redisKey(key));
  assert.equal(Object.keys(written), ['d'], 'write leaves exactly its own entry, no field l');
  release.open();
  assert.is(await call, 'late', 'the late result still goes to its caller');
  assert.equal((await backend.read(key))?.data, Buffer.from('raw'), 'the write wins over the late result');
  await settled(backend);
});

test('pending entry: remove and delete answer missing and void the lease, the late result is returned but not stored', async () => {
  for (const how of ['remove', 'delete'] as const) {
    const key = freshKey(`pending-${how}`);
    const running = gate();
    const release = gate();
    const source = counted(async () => {
      running.open();
      await release.promise;
      return `computed before the ${how}`;
    });
    const call = backend.getOrSet(key, source.factory, { ttl: 60_000 });
    await running.promise;
    assert.equal(await (how === 'remove' ? backend.remove(key) : backend.delete(key)), { kind: 'missing' }, `${how} of a pending entry`);
    assert.is(await redis.admin.exists(redisKey(key)), 0);
    release.open();
    assert.is(await call, `computed before the ${how}`);
    assert.is(await redis.admin.exists(redisKey(key)), 0, `a value computed before the ${how} is not stored after it`);
    assert.is(await backend.get(key), null);
    // The next caller computes anew rather than finding the voided result.
    assert.is(await backend.getOrSet(key, async () => 'recomputed', { ttl: 60_000 }), 'recomputed');
  }
  assert.equal(reported, []);
  await settled(backend);
});

test('set during the factory wins over the late result, and the entry holds no lease', async () => {
  const key = freshKey('set-wins');
  const running = gate();
  const release = gate();
  const call = backend.getOrSet(
    key,
    async () => {
      running.open();
      await release.promise;
      return { from: 'factory' };
    },
    { ttl: 60_000, staleAfter: 10_000 },
  );
  await running.promise;
  await backend.set(key, new CacheValue({ from: 'set' }, new Date(Date.now() + 60_000)));
  release.open();
  assert.equal(await call, { from: 'factory' }, 'its caller gets the late result');
  assert.equal((await backend.get(key))?.data, { from: 'set' }, "the set's value stays");
  assert.equal(Object.keys(await redis.admin.hgetall(redisKey(key))), ['d'], 'no field l, no field s from the factory');
  await settled(backend);
});

test('a value the format cannot encode rejects with FormatError and stores nothing', async () => {
  const json = builder().connection(ConnectionMode.single(redis.url)).valueFormat(new JsonFormat()).build();
  try {
    const key = freshKey('json-bigint');
    const error = await rejection(json.getOrSet(key, async () => ({ id: 10n }), { ttl: 60_000 }));
    assert.instance(error, FormatError, `json: ${error}`);
    assert.instance(error.cause, TypeError, "JSON.stringify's own error as cause");
    assert.is(await redis.admin.exists(redisKey(key)), 0, 'no pending entry left');
    await settled(json);
  } finally {
    await json.close();
  }

  // MessagePack (the default) packs a BigInt and a function, but has no encoding for a symbol.
  const key = freshKey('msgpack-symbol');
  assert.throws(() => new MsgpackFormat().serialize(Symbol('x')));
  const error = await rejection(backend.getOrSet(key, async () => Symbol('x'), { ttl: 60_000 }));
  assert.instance(error, FormatError, `msgpack: ${error}`);
  assert.is((error as FormatError).operation, 'getOrSet');
  assert.is(await redis.admin.exists(redisKey(key)), 0);

  // Refreshing a stale entry: the FormatError goes to the listener and the stale value stays.
  const stale = freshKey('msgpack-symbol-stale');
  await backend.set(stale, staleValue('old'));
  const report = nextReport.promise;
  assert.is(await backend.getOrSet<unknown>(stale, async () => Symbol('x'), { ttl: 60_000, staleAfter: 1_000 }), 'old');
  const refreshError = await report;
  assert.instance(refreshError, FormatError, `refresh: ${refreshError}`);
  assert.is((await backend.get(stale))?.data, 'old');
  await settled(backend);
});

test('bad input is refused with InvalidOptionError naming the option, before anything is sent', async () => {
  const connectionsBefore = await infoField(redis.admin, 'stats', 'total_connections_received');
  const callsBefore = await commandCalls(redis.admin);
  const untouched = builder().connection(ConnectionMode.single(redis.url)).build();
  const key = freshKey('bad-input');
  const source = counted(async () => 'never');
  const cases: Array<[name: string, options: unknown, factory?: unknown]> = [
    ['ttl', { ttl: 0 }],
    ['ttl', { ttl: -1 }],
    ['ttl', { ttl: 1.5 }],
    ['ttl', { ttl: Number.NaN }],
    ['ttl', { ttl: '10' }],
    ['ttl', { ttl: Number.POSITIVE_INFINITY }],
    ['ttl', {}],
    ['staleAfter', { ttl: 1_000, staleAfter: 0 }],
    ['staleAfter', { ttl: 1_000, staleAfter: 1_001 }],
    ['staleAfter', { ttl: 1_000, staleAfter: 1.5 }],
    ['lockTimeout', { ttl: 1_000, lockTimeout: -1 }],
    ['lockTimeout', { ttl: 1_000, lockTimeout: 1.5 }],
    ['softTimeout', { ttl: 1_000, softTimeout: -1 }],
    ['softTimeout', { ttl: 1_000, softTimeout: 1.5 }],
    ['hardTimeout', { ttl: 1_000, hardTimeout: -1 }],
    ['hardTimeout', { ttl: 1_000, hardTimeout: 1.5 }],
    ['factory', { ttl: 1_000 }, 'not a function'],
    ['factory', { ttl: 1_000 }, undefined],
    ['options', undefined],
    ['options', null],
  ];
  for (const [name, options, factory] of cases) {
    const what = `${name} in ${JSON.stringify(options)}`;
    const error = await rejection(
      untouched.getOrSet(key, (factory === undefined && name !== 'factory' ? source.factory : factory) as () => Promise<string>, options as GetOrSetOptions),
    );
    assert.instance(error, InvalidOptionError, what);
    assert.is((error as InvalidOptionError).code, 'INVALID_OPTION');
    assert.is((error as InvalidOptionError).operation, 'getOrSet');
    assert.ok((error as InvalidOptionError).reason.startsWith(`${name} `), `${what}: the message names it: ${error.message}`);
  }
  // The same refusals on a backend that is connected already.
  assert.instance(await rejection(backend.getOrSet(key, source.factory, { ttl: 1_000, staleAfter: 2_000 })), InvalidOptionError);
  assert.is(source.calls, 0);
  assert.equal(await scriptCallsSince(redis.admin, callsBefore), scriptCalls(0, 0), 'no script sent');
  assert.is(await infoField(redis.admin, 'stats', 'total_connections_received'), connectionsBefore, 'the fresh backend never even connected');
  assert.is(await redis.admin.exists(redisKey(key)), 0);
  assert.equal(untouched.pendingWork(), ZERO_WORK);
  await untouched.close();
});

test('hardTimeout: rejects with FactoryTimeoutError after about hardTimeout; the factory goes on and stores its value', async () => {
  const key = freshKey('hard-timeout');
  const release = gate();
  const source = counted(async () => {
    await release.promise;
    return 'slow value';
  });
  const started = Date.now();
  const error = await within('the hardTimeout rejection', rejection(backend.getOrSet(key, source.factory, { ttl: 60_000, hardTimeout: 150 })));
  const elapsed = Date.now() - started;
  assert.instance(error, FactoryTimeoutError);
  assert.is((error as FactoryTimeoutError).code, 'FACTORY_TIMEOUT');
  assert.ok(elapsed >= 148 && elapsed < 1_000, `rejected after ${elapsed} ms`);
  assert.is(source.calls, 1);
  assert.equal(Object.keys(await redis.admin.hgetall(redisKey(key))), ['l'], 'the factory still holds the lease');
  assert.is(backend.pendingWork().factories, 1, 'the factory was not stopped');
  release.open();
  await until('the late value stored', async () => (await backend.get(key))?.data === 'slow value');
  assert.is(await backend.getOrSet(key, source.factory, { ttl: 60_000, hardTimeout: 150 }), 'slow value');
  assert.is(source.calls, 1);
  await settled(backend);
});

test('softTimeout with a stale value: the fresh value when the factory beats it, the stale one after it when slower', async () => {
  const fast = freshKey('soft-fast');
  await backend.set(fast, staleValue('old'));
  let started = Date.now();
  assert.is(await backend.getOrSet(fast, async () => 'new', { ttl: 60_000, staleAfter: 30_000, softTimeout: 2_000 }), 'new');
  assert.ok(Date.now() - started < 2_000);

  const slow = freshKey('soft-slow');
  await backend.set(slow, staleValue('old'));
  const release = gate();
  started = Date.now();
  const slowRefresh = async (): Promise<string> => {
    await release.promise;
    return 'new';
  };
  const value = await within('the stale value after softTimeout', backend.getOrSet(slow, slowRefresh, { ttl: 60_000, staleAfter: 30_000, softTimeout: 150 }));
  const elapsed = Date.now() - started;
  assert.is(value, 'old');
  assert.ok(elapsed >= 148, `waited ${elapsed} ms for the fresh value, at least softTimeout`);
  release.open();
  await until('the slow refresh stored', async () => (await backend.get(slow))?.data === 'new');
  await settled(backend);
});

test('close(): the running factory is aborted with ConnectionError; getOrSet afterwards rejects with ConnectionError', async () => {
  const closing = builder().connection(ConnectionMode.single(redis.url)).onError(() => undefined).build();
  const key = freshKey('close');
  const running = gate<AbortSignal>();
  const call = closing.getOrSet<string>(
    key,
    ({ signal }) =>
      new Promise<string>((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason as Error));
        running.open(signal);
      }),
    { ttl: 60_000 },
  );
  // Awaited later: its rejection must have a handler from the start.
  const outcome = rejection(call);
  const signal = await running.promise;
  assert.is(signal.aborted, false);
  await closing.close();
  assert.ok(signal.aborted, 'close aborts the signal');
  assert.instance(signal.reason, ConnectionError);
  assert.is(await outcome, signal.reason, "the caller gets the factory's rejection");

  const source = counted(async () => 'never');
  assert.instance(await rejection(closing.getOrSet(freshKey('after-close'), source.factory, { ttl: 60_000 })), ConnectionError);
  assert.is(source.calls, 0);
  await settled(closing);
});

test('maxBackgroundRefreshes(2): five stale keys read at once start at most two refreshes, the others are served stale', async () => {
  const bounded = builder().connection(ConnectionMode.single(redis.url)).maxBackgroundRefreshes(2).build();
  try {
    const staleKeys = Array.from({ length: 5 }, () => freshKey('bounded'));
    for (const key of staleKeys) await bounded.set(key, staleValue('old'));
    const release = gate();
    const source = counted(async () => {
      await release.promise;
      return 'new';
    });
    const values = await within('five stale values', Promise.all(staleKeys.map((key) => bounded.getOrSet(key, source.factory, { ttl: 60_000, staleAfter: 30_000 }))));
    assert.equal(values, ['old', 'old', 'old', 'old', 'old']);
    // Two slots, and two refreshes take them: their factories start once their leases are granted.
    await until('two refreshes calling their factories', () => source.calls >= 2);
    assert.is(bounded.pendingWork().refreshes, 2, 'two refreshes held, no more');
    assert.is(source.calls, 2, `two refreshes started, got ${source.calls}`);
    const leased = [];
    for (const key of staleKeys) if ((await redis.admin.hexists(redisKey(key), 'l')) === 1) leased.push(key);
    assert.is(leased.length, 2, 'a key served without a refresh holds no lease');
    // With the bound reached, another stale read starts no refresh either.
    const extra = freshKey('bounded-extra');
    await bounded.set(extra, staleValue('old'));
    assert.is(await bounded.getOrSet(extra, source.factory, { ttl: 60_000, staleAfter: 30_000 }), 'old');
    assert.is(bounded.pendingWork().refreshes, 2, 'no third refresh');
    release.open();
    await settled(bounded);
    assert.ok(source.mostAtOnce <= 2, `at most two factories at once, saw ${source.mostAtOnce}`);
    for (const key of staleKeys) assert.is((await bounded.get(key))?.data, leased.includes(key) ? 'new' : 'old');
  } finally {
    await bounded.close();
  }
});

test('hitbox compatibility: an entry getOrSet wrote reads back with read as d, s and TTL like any other', async () => {
  const key = freshKey('hitbox');
  const before = Date.now();
  await backend.getOrSet(key, async () => ({ name: 'Ada', tags: ['a', 'b'] }), { ttl: 60_000, staleAfter: 20_000 });
  const after = Date.now();
  const raw = await backend.read(key);
  assert.ok(raw !== null);
  assert.equal(raw.data, new MsgpackFormat().serialize({ name: 'Ada', tags: ['a', 'b'] }), 'd is the value format\'s bytes, uncompressed by default');
  const stale = raw.stale?.getTime() ?? Number.NaN;
  assert.ok(stale >= before + 20_000 && stale <= after + 20_000, 'stale is when the factory finished plus staleAfter');
  const expire = raw.expire?.getTime() ?? Number.NaN;
  assert.ok(expire > before + 59_000 && expire <= Date.now() + 60_000, 'expire is about now + ttl');
  assert.is(raw.cacheState(), 'actual');
  const hash = await redis.admin.hgetall(redisKey(key));
  assert.equal(Object.keys(hash).sort(), ['d', 's']);
  assert.is(hash.s, String(stale), 's is integer epoch milliseconds');
  assert.equal((await backend.get(key))?.data, { name: 'Ada', tags: ['a', 'b'] });
});

test('nothing grows: after every call above settled, no flight, refresh or factory is held', async () => {
  await settled(backend);
  assert.equal(backend.pendingWork(), ZERO_WORK);
});

test.run();

// ---------------------------------------------------------------------------------------------------------
// Cluster

const clusterTest = suite(`getOrSet, cluster of 3 primaries, ${DRIVER}`);
let cluster: ClusterUnderTest;
let clustered: RedisBackend;
/** Keys whose slots live on the three different primaries. */
let spread: CacheKey[] = [];

clusterTest.before(async () => {
  cluster = await startCluster({ primaries: 3, replicasPerPrimary: 0 });
  clustered = builder().connection(ConnectionMode.cluster(cluster.seedUrls)).build();
  const admin = cluster.nodes[0]!.admin;
  const owners = new Map<number, CacheKey>();
  for (let i = 0; owners.size < 3; i++) {
    const key = new CacheKey('gos-cluster', 1, [{ key: 'k', value: String(i) }]);
    const slot = Number(await admin.call('CLUSTER', 'KEYSLOT', redisKey(key)));
    // Slots are split evenly in order: 0..5460, 5461..10922, 10923..16383.
    const owner = Math.floor((slot * 3) / 16384);
    if (!owners.has(owner)) owners.set(owner, key);
  }
  spread = [...owners.values()];
});

clusterTest.after(async () => {
  await clustered?.close();
  await cluster?.stop();
});

clusterTest.after.each(() => {
  openAbandonedGates();
  assert.equal(unhandled, [], 'no unhandled rejection or uncaught exception anywhere in the process');
});

/** The primary's admin client that holds `key`. */
async function nodeOf(key: CacheKey): Promise<RedisUnderTest['admin']> {
  for (const node of cluster.nodes) {
    // The other primaries answer MOVED.
    const exists = await node.admin.exists(redisKey(key)).catch(() => 0);
    if (exists === 1) return node.admin;
  }
  throw new Error(`no node holds ${redisKey(key)}`);
}

clusterTest('miss, fresh hit, stale refresh and delete voiding on keys of three primaries', async () => {
  const options = { ttl: 60_000, staleAfter: 30_000 };
  const holders = new Set<RedisUnderTest['admin']>();
  for (const key of spread) {
    // Miss: one factory call for concurrent callers, an ordinary entry on the key's node.
    const miss = counted(async () => ({ key: key.toString() }));
    const values = await Promise.all(Array.from({ length: 20 }, () => clustered.getOrSet(key, miss.factory, options)));
    assert.ok(values.every((value) => value.key === key.toString()));
    assert.is(miss.calls, 1);
    const node = await nodeOf(key);
    holders.add(node);
    assert.equal(Object.keys(await node.hgetall(redisKey(key))).sort(), ['d', 's']);

    // Fresh hit.
    assert.equal(await clustered.getOrSet(key, miss.factory, options), { key: key.toString() });
    assert.is(miss.calls, 1);

    // Stale: served at once, refreshed once in the background.
    await clustered.set(key, staleValue({ key: 'stale' }));
    const release = gate();
    const refresh = counted(async () => {
      await release.promise;
      return { key: 'refreshed' };
    });
    assert.equal(await within('the stale value', clustered.getOrSet(key, refresh.factory, options)), { key: 'stale' });
    assert.equal(await within('the stale value again', clustered.getOrSet(key, refresh.factory, options)), { key: 'stale' });
    assert.is(refresh.calls, 1);
    assert.equal(refresh.contexts[0]?.stale?.data, { key: 'stale' });
    assert.is(await node.hexists(redisKey(key), 'l'), 1);
    release.open();
    await until('the refresh stored', async () => (await clustered.get<{ key: string }>(key))?.data.key === 'refreshed');
    assert.equal(Object.keys(await node.hgetall(redisKey(key))).sort(), ['d', 's']);

    // Delete during the factory: the late value goes to its caller and is not stored.
    assert.equal(await clustered.delete(key), { kind: 'deleted', count: 1 });
    const running = gate();
    const late = gate();
    const call = clustered.getOrSet(
      key,
      async () => {
        running.open();
        await late.promise;
        return { key: 'late' };
      },
      options,
    );
    await running.promise;
    assert.equal(Object.keys(await node.hgetall(redisKey(key))), ['l']);
    assert.equal(await clustered.delete(key), { kind: 'missing' });
    late.open();
    assert.equal(await call, { key: 'late' });
    assert.is(await node.exists(redisKey(key)), 0, 'not stored after the delete');
  }
  assert.is(holders.size, 3, 'the keys lived on three different primaries');
  await settled(clustered);
});

clusterTest.run();
