// @drivers ioredis node-redis
/**
 * The Keyv store (`redis-lua-cache/keyv`) on a real redis-server, beyond the peers' own suite: where a Keyv key
 * lands in Redis and in what layout, namespaces isolated (for clear and the iterator too, with glob characters
 * and the `a` / `a:b` ambiguity of Keyv's own prefixes), TTLs, the many-key calls as batch scripts (counted with
 * INFO commandstats), typed errors as `error` events (bad input, foreign data, a dead server, no credentials),
 * disconnect of a store's own backend and of a given one, cache-manager 7 over Keyv over the store, and that
 * the store loads nothing of keyv.
 */
import { spawnSync } from 'node:child_process';

import { createCache } from 'cache-manager';
import Keyv from 'keyv';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { KeyvRedisLua } from '../../src/adapters/keyv/index.js';
import { KeyvKeys } from '../../src/adapters/keyv/keys.js';
import {
  BackendError,
  CacheKey,
  CacheKeyFormat,
  CacheValue,
  ConfigurationError,
  ConnectionError,
  ConnectionMode,
  ForeignDataError,
  InvalidKeyError,
  InvalidValueError,
  type RedisBackend,
  TimeoutError,
} from '../../src/index.js';
import { builder, DRIVER, singleClient } from '../helpers/driver.js';
import { ExpiryWatcher } from '../helpers/expiry.js';
import { commandCalls, freePort, scriptsSince, startRedis, totalScripts, type RedisUnderTest } from '../helpers/redis.js';

const test = suite(`Keyv store, single node, ${DRIVER}`);
let redis: RedisUnderTest;
let backend: RedisBackend;
let expiries: ExpiryWatcher;

test.before(async () => {
  redis = await startRedis();
  backend = builder().connection(ConnectionMode.single(redis.url)).build();
  expiries = await ExpiryWatcher.start(redis.host, redis.port);
});
test.after(async () => {
  expiries?.stop();
  await backend?.close();
  await redis?.stop();
});
test.before.each(async () => {
  await redis.admin.flushall();
});

/** A Keyv over a store over the shared backend; errors rejected, so that a test sees them. */
function keyvOf(namespace: string | undefined): Keyv {
  return new Keyv({ store: new KeyvRedisLua(backend, { throwOnErrors: true }), namespace, throwOnErrors: true });
}

/** Every key of the server, as text, sorted. */
async function serverKeys(): Promise<string[]> {
  return (await redis.admin.keys('*')).sort();
}

/** Every `[key, value]` a Keyv's iterator yields, sorted by key. */
async function iterated(keyv: Keyv): Promise<Array<[string, unknown]>> {
  const pairs: Array<[string, unknown]> = [];
  // Keyv types its iterator as taking an argument it never passes on (it hands the store its namespace).
  for await (const pair of keyv.iterator!(undefined) as AsyncGenerator<[string, unknown]>) pairs.push(pair);
  return pairs.sort(([a], [b]) => (a < b ? -1 : 1));
}

/** The error a store emits during `call` (with no other listener, it would reject). */
async function emitted(store: KeyvRedisLua, call: () => Promise<unknown>): Promise<{ error: unknown; result: unknown }> {
  let error: unknown;
  const listener = (e: unknown): void => {
    error ??= e;
  };
  store.on('error', listener);
  try {
    const result = await call();
    return { error, result };
  } finally {
    store.off('error', listener);
  }
}

test('a Keyv key is a hash entry (field d: the serialized value as UTF-8) under _prefix=keyv&_version=1&ns=<namespace>&k=<key as Keyv gives it>', async () => {
  const keyv = keyvOf('users');
  await keyv.set('42/ä*', { name: 'Ada' });
  const redisKey = '_prefix=keyv&_version=1&ns=users&k=users%3A42%2F%C3%A4*';
  assert.equal(await serverKeys(), [redisKey]);
  assert.equal(await redis.admin.hkeys(redisKey), ['d']);
  assert.equal(JSON.parse((await redis.admin.hget(redisKey, 'd')) as string), { value: { name: 'Ada' } });
  assert.equal(await redis.admin.pttl(redisKey), -1);
  // The backend reads it as any entry of its own.
  const entry = await backend.read(new CacheKey('keyv', 1, [{ key: 'ns', value: 'users' }, { key: 'k', value: 'users:42/ä*' }]));
  assert.ok(entry !== null);
  assert.equal(await keyv.get('42/ä*'), { name: 'Ada' });
});

test('without a namespace the key has no ns part; useKeyPrefix: false stores the bare key', async () => {
  const bare = new Keyv({ store: new KeyvRedisLua(backend), namespace: undefined });
  await bare.set('a', 1);
  const unprefixed = new Keyv({ store: new KeyvRedisLua(backend), namespace: 'n', useKeyPrefix: false });
  await unprefixed.set('a', 2);
  assert.equal(await serverKeys(), ['_prefix=keyv&_version=1&k=a', '_prefix=keyv&_version=1&ns=n&k=a']);
  assert.equal([await bare.get('a'), await unprefixed.get('a')], [1, 2]);
});

test('the prefix option and the Compact key format', async () => {
  const compact = builder().connection(ConnectionMode.single(redis.url)).keyFormat(CacheKeyFormat.Compact).build();
  try {
    const keyv = new Keyv({ store: new KeyvRedisLua(compact, { prefix: 'sessions', throwOnErrors: true }), namespace: 'x*', throwOnErrors: true });
    const other = new Keyv({ store: new KeyvRedisLua(compact, { prefix: 'sessions', throwOnErrors: true }), namespace: 'x', throwOnErrors: true });
    await keyv.set('k', 'v');
    await other.set('k', 'w');
    const [key] = await serverKeys();
    assert.ok(key?.startsWith('\u0001'), 'a Compact key');
    assert.ok(key?.includes('sessions'));
    assert.equal(await iterated(keyv), [['k', 'v']]);
    await keyv.clear();
    assert.equal([await keyv.get('k'), await other.get('k')], [undefined, 'w']);
  } finally {
    await compact.close();
  }
});

test('clear and the iterator keep to their namespace: glob characters, a namespace that is a prefix of another, and none', async () => {
  const namespaces = ['a', 'a:b', 'ab', 'x*', 'xy', '[ab]', 'b', 'q?', 'qq', 'back\\slash', 'backslash', '%2A', undefined];
  const stores = namespaces.map((namespace) => new KeyvRedisLua(backend, { namespace, throwOnErrors: true }));
  await Promise.all(stores.map((store, index) => store.setMany([{ key: '1', value: `${index}.1` }, { key: 'b:2', value: `${index}.2` }])));
  // Foreign keys and another prefix's entries are never touched either.
  await redis.admin.set('keyv:a:1', 'not ours');
  await backend.write(new CacheKey('keyv2', 1, [{ key: 'ns', value: 'a' }, { key: 'k', value: '1' }]), new CacheValue(Buffer.from('x')));
  const before = (await serverKeys()).length;
  for (const [index, store] of stores.entries()) {
    const pairs: Array<[string, string]> = [];
    for await (const pair of store.iterator(namespaces[index])) pairs.push(pair);
    pairs.sort(([a], [b]) => (a < b ? -1 : 1));
    assert.equal(pairs, [['1', `${index}.1`], ['b:2', `${index}.2`]], `iterator of ${String(namespaces[index])}`);
  }
  for (const [index, store] of stores.entries()) {
    await store.clear();
    assert.equal(await store.getMany(['1', 'b:2']), [undefined, undefined], `cleared ${String(namespaces[index])}`);
    for (const [later, other] of stores.entries()) {
      if (later > index) assert.equal(await other.get('1'), `${later}.1`, `clear of ${String(namespaces[index])} left ${String(namespaces[later])}`);
    }
  }
  assert.equal((await serverKeys()).length, before - 2 * namespaces.length);
  assert.equal(await redis.admin.get('keyv:a:1'), 'not ours');
});

test("a namespace's SCAN pattern matches exactly its keys on the server, in both key formats", async () => {
  const namespaces = ['a', 'a:b', 'ab', 'x*', 'xy', '[ab]', 'b', 'q?', 'qq', 'back\\slash', 'backslash', '%2A', '*', undefined];
  for (const format of [CacheKeyFormat.UrlEncoded, CacheKeyFormat.Compact]) {
    await redis.admin.flushall();
    const keys = new KeyvKeys('keyv', format);
    const written = namespaces.map((namespace) => [format.encode(keys.cacheKey(namespace, '1')), format.encode(keys.cacheKey(namespace, 'b*:2'))].map(String));
    await Promise.all(written.flat().map((key) => redis.admin.set(key, 'x')));
    for (const [index, namespace] of namespaces.entries()) {
      const matched = (await redis.admin.keys(keys.scanOf(namespace).pattern)).sort();
      assert.equal(matched, [...written[index]!].sort(), `${format.name} pattern of ${String(namespace)}`);
    }
  }
});

test("Keyv's iterator over the store yields Keyv's keys and values of its namespace only", async () => {
  const keyv = keyvOf('it');
  const other = keyvOf('it*');
  await keyv.set('k', { v: 1 });
  await other.set('k', { v: 2 });
  assert.equal(await iterated(keyv), [['k', { v: 1 }]]);
  assert.equal(await iterated(other), [['k', { v: 2 }]]);
});

test('clear and the iterator page through many keys (SCAN COUNT smaller than the namespace)', async () => {
  const store = new KeyvRedisLua(backend, { scanCount: 7, throwOnErrors: true });
  const keyv = new Keyv({ store, namespace: 'many', throwOnErrors: true });
  const other = keyvOf('other');
  await keyv.setMany(Array.from({ length: 250 }, (_, index) => ({ key: String(index), value: index })));
  await other.set('kept', true);
  const pairs = await iterated(keyv);
  assert.equal(pairs.length, 250);
  assert.equal(new Set(pairs.map(([key]) => key)).size, 250);
  const before = await commandCalls(redis.admin);
  await keyv.clear();
  const calls = scriptsSince(before, await commandCalls(redis.admin));
  assert.ok(totalScripts(calls) >= 3 && totalScripts(calls) < 250, `remove_many per SCAN page, not a remove per key: ${JSON.stringify(calls)}`);
  assert.equal(await iterated(keyv), []);
  assert.equal(await other.get('kept'), true);
});

test('TTL: milliseconds as the key expiry; none for undefined and 0; an expired entry is gone', async () => {
  const store = new KeyvRedisLua(backend, { namespace: 't', throwOnErrors: true });
  await store.set('long', 'v', 60_000);
  await store.set('none', 'v');
  await store.set('zero', 'v', 0);
  const pttl = await redis.admin.pttl('_prefix=keyv&_version=1&ns=t&k=long');
  assert.ok(pttl > 59_000 && pttl <= 60_000, `pttl ${pttl}`);
  assert.equal(await redis.admin.pttl('_prefix=keyv&_version=1&ns=t&k=none'), -1);
  assert.equal(await redis.admin.pttl('_prefix=keyv&_version=1&ns=t&k=zero'), -1);
  const gone = expiries.expiry('_prefix=keyv&_version=1&ns=t&k=short');
  await store.set('short', 'v', 30);
  await gone;
  assert.equal([await store.get('short'), await store.has('short')], [undefined, false]);
  assert.equal(await store.getMany(['short', 'none']), [undefined, 'v']);
  assert.equal(await store.hasMany(['short', 'none']), [false, true]);
});

test('getMany, setMany, deleteMany and hasMany are batch scripts: one call per 100 keys', async () => {
  const keyv = keyvOf('batch');
  const keys = Array.from({ length: 250 }, (_, index) => `k${index}`);
  const count = async (work: () => Promise<unknown>): Promise<Record<string, number>> => {
    const before = await commandCalls(redis.admin);
    await work();
    return scriptsSince(before, await commandCalls(redis.admin));
  };
  // Each script once first: its first call on a server is EVALSHA answered NOSCRIPT, then EVAL.
  await keyv.setMany([{ key: 'warm', value: 1 }]);
  await keyv.getMany(['warm']);
  await keyv.deleteMany(['warm']);
  assert.equal(totalScripts(await count(() => keyv.setMany(keys.map((key) => ({ key, value: key, ttl: 60_000 }))))), 3, 'setMany');
  let values: unknown;
  assert.equal(totalScripts(await count(async () => (values = await keyv.getMany(keys)))), 3, 'getMany');
  assert.equal(values, keys);
  let present: unknown;
  assert.equal(totalScripts(await count(async () => (present = await keyv.hasMany([...keys, 'missing'])))), 3, 'hasMany');
  assert.equal(present, [...keys.map(() => true), false]);
  let deleted: unknown;
  assert.equal(totalScripts(await count(async () => (deleted = await keyv.deleteMany(keys)))), 3, 'deleteMany');
  assert.equal(deleted, true);
  assert.equal(await keyv.deleteMany(keys), false);
  assert.equal(await serverKeys(), []);
});

test('bad input is a typed error, emitted (the call resolves as a miss) or rejected with throwOnErrors; nothing is written', async () => {
  const store = new KeyvRedisLua(backend, { namespace: 'bad' });
  const cases: Array<[string, () => Promise<unknown>, new (...args: never[]) => BackendError, unknown]> = [
    ['an object value', () => store.set('k', { no: 'serializer' } as never), InvalidValueError, false],
    ['a negative ttl', () => store.set('k', 'v', -1), InvalidValueError, false],
    ['a NaN ttl', () => store.set('k', 'v', Number.NaN), InvalidValueError, false],
    ['a key that is not a string', () => store.get(42 as never), InvalidKeyError, undefined],
    ['a lone surrogate', () => store.set('\ud800', 'v'), InvalidKeyError, false],
    ['keys that are not an array', () => store.getMany('k' as never), InvalidKeyError, []],
    ['a bad entry of setMany', () => store.setMany([{ key: 'a', value: 'v' }, { key: 'b', value: 'v', ttl: -5 }]), InvalidValueError, [false, false]],
    ['an entry of setMany that is not an object', () => store.setMany([{ key: 'a', value: 'v' }, null as never]), InvalidValueError, [false, false]],
  ];
  for (const [what, call, type, fallback] of cases) {
    const { error, result } = await emitted(store, call);
    assert.instance(error, type, what);
    assert.equal(result, fallback, what);
  }
  assert.equal(await serverKeys(), []);
  const throwing = new KeyvRedisLua(backend, { throwOnErrors: true });
  const events: unknown[] = [];
  throwing.on('error', (error) => events.push(error));
  const rejected = await throwing.set('k', 'v', -1).then(() => null, (error: unknown) => error);
  assert.instance(rejected, InvalidValueError);
  assert.equal(events, [rejected]);
  // Like any EventEmitter, a store without an error listener throws what it would emit.
  const unheard = await new KeyvRedisLua(backend).set('k', 'v', -1).then(() => null, (error: unknown) => error);
  assert.instance(unheard, InvalidValueError);
  assert.throws(() => new KeyvRedisLua(backend, { scanCount: 0 }), (error: unknown) => error instanceof ConfigurationError && /scanCount/.test(String(error)));
  assert.throws(() => new KeyvRedisLua('http://nope'), (error: unknown) => error instanceof ConfigurationError);
  const custom = builder().connection(ConnectionMode.single(redis.url)).keyFormat({ name: 'mine', encode: (key) => key.toString() }).build();
  assert.throws(() => new KeyvRedisLua(custom), (error: unknown) => error instanceof ConfigurationError && /built-in key format/.test(String(error)));
  await custom.close();
});

test('foreign data at a key is a ForeignDataError naming it, left untouched; Keyv forwards the event', async () => {
  await redis.admin.set('_prefix=keyv&_version=1&ns=f&k=f%3Ataken', 'a string');
  const store = new KeyvRedisLua(backend);
  const keyv = new Keyv({ store, namespace: 'f' });
  const forwarded: unknown[] = [];
  keyv.on('error', (error: unknown) => forwarded.push(error));
  assert.equal(await keyv.get('taken'), undefined);
  assert.equal(await keyv.set('taken', 'mine'), false);
  assert.equal(forwarded.length, 2);
  assert.instance(forwarded[0], ForeignDataError);
  assert.match(String(forwarded[0]), /k=f%3Ataken/);
  assert.equal(await redis.admin.get('_prefix=keyv&_version=1&ns=f&k=f%3Ataken'), 'a string');
});

test('a dead server: a ConnectionError event without the password, and misses; Keyv gets undefined and false', async () => {
  const port = await freePort();
  const store = new KeyvRedisLua(`redis://cache:s3cret-pw@127.0.0.1:${port}`, { driver: DRIVER });
  assert.not.match(JSON.stringify(store.opts), /s3cret/);
  const keyv = new Keyv({ store, namespace: 'dead' });
  const errors: unknown[] = [];
  keyv.on('error', (error: unknown) => errors.push(error));
  assert.equal(await keyv.get('k'), undefined);
  assert.equal(await keyv.set('k', 'v'), false);
  assert.equal(await keyv.has('k'), false);
  assert.equal(await keyv.getMany(['a', 'b']), [undefined, undefined]);
  await keyv.clear();
  assert.equal(await iterated(keyv), []);
  assert.ok(errors.length >= 6, `errors: ${errors.length}`);
  for (const error of errors) {
    assert.instance(error, ConnectionError);
    assert.not.match(String(error), /s3cret/);
  }
  await keyv.disconnect();
});

test('a server that does not answer a SCAN within the response timeout: TimeoutError (operation scan) from clear', async () => {
  const slow = builder().connection(ConnectionMode.single(redis.url)).responseTimeout(150).build();
  try {
    const store = new KeyvRedisLua(slow, { throwOnErrors: true });
    await store.set('k', 'v');
    store.on('error', () => undefined);
    // Every client's commands wait from the moment this answers (SCAN is a read: PAUSE WRITE would let it through).
    await redis.admin.client('PAUSE', 400, 'ALL');
    const cleared = await store.clear().then(() => null, (error: unknown) => error);
    assert.instance(cleared, TimeoutError, String(cleared));
    assert.equal((cleared as TimeoutError).operation, 'scan');
    await redis.admin.ping(); // answered once the pause is over
  } finally {
    await slow.close();
  }
});

test('disconnect closes the backend the store created from a URL', async () => {
  const store = new KeyvRedisLua(redis.url, { driver: DRIVER, throwOnErrors: true });
  const keyv = new Keyv({ store, throwOnErrors: true });
  await keyv.set('k', 'v');
  const clients = Number(/connected_clients:(\d+)/.exec(await redis.admin.info('clients'))?.[1]);
  await keyv.disconnect();
  const rejected = await store.get('k').then(() => null, (error: unknown) => error);
  assert.instance(rejected, ConnectionError);
  assert.match(String(rejected), /closed/);
  const clearing = await store.clear().then(() => null, (error: unknown) => error);
  assert.instance(clearing, ConnectionError, 'clear (SCAN) after disconnect');
  let now = clients;
  for (let attempt = 0; attempt < 100 && now >= clients; attempt++) {
    now = Number(/connected_clients:(\d+)/.exec(await redis.admin.info('clients'))?.[1]);
    if (now >= clients) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(now < clients, `the store's connection closed (${clients} -> ${now})`);
});

test('disconnect of a store over a given backend leaves the backend open and the store usable', async () => {
  const store = new KeyvRedisLua(backend, { throwOnErrors: true });
  await store.set('k', 'v');
  await new Keyv({ store, namespace: undefined }).disconnect();
  assert.equal(await store.get('k'), 'v');
  assert.ok((await backend.read(new CacheKey('keyv', 1, [{ key: 'k', value: 'k' }]))) !== null);
});

test('clear and the iterator over a backend given a single-node client (its SCAN too)', async () => {
  const owned = await singleClient(redis);
  const overClient = builder().client(owned.client).build();
  try {
    const store = new KeyvRedisLua(overClient, { namespace: 'given', throwOnErrors: true });
    await store.setMany([{ key: 'a', value: '1' }, { key: 'b', value: '2' }]);
    const pairs: Array<[string, string]> = [];
    for await (const pair of store.iterator('given')) pairs.push(pair);
    assert.equal(pairs.sort(), [['a', '1'], ['b', '2']]);
    await store.clear();
    assert.equal(await serverKeys(), []);
  } finally {
    await overClient.close();
    await owned.close();
  }
});

test('cache-manager 7 over Keyv over the store: set, get, ttl, wrap, del', async () => {
  const cache = createCache({ stores: [new Keyv({ store: new KeyvRedisLua(backend, { throwOnErrors: true }), namespace: 'cm' })] });
  const started = Date.now();
  await cache.set('user', { name: 'Ada' }, 10_000);
  assert.equal(await cache.get('user'), { name: 'Ada' });
  const expires = await cache.ttl('user');
  assert.ok(expires !== undefined && expires >= started + 10_000 && expires <= Date.now() + 10_000, `ttl ${String(expires)}`);
  const pttl = await redis.admin.pttl('_prefix=keyv&_version=1&ns=cm&k=cm%3Auser');
  assert.ok(pttl > 9_000 && pttl <= 10_000, `the entry's own TTL, ${pttl}`);
  let calls = 0;
  const compute = async (): Promise<string> => `computed ${++calls}`;
  assert.equal(await cache.wrap('wrapped', compute, 10_000), 'computed 1');
  assert.equal(await cache.wrap('wrapped', compute, 10_000), 'computed 1');
  assert.equal(calls, 1);
  assert.equal(await redis.admin.exists('_prefix=keyv&_version=1&ns=cm&k=cm%3Awrapped'), 1);
  await cache.del('user');
  assert.equal(await cache.get('user'), undefined);
  assert.equal(await redis.admin.exists('_prefix=keyv&_version=1&ns=cm&k=cm%3Auser'), 0);
  await cache.disconnect();
});

test('the store loads nothing of keyv (an optional peer): importing it with keyv unresolvable works', () => {
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier === 'keyv' || specifier.startsWith('@keyv/')) throw new Error('keyv was imported: ' + specifier);
    return next(specifier, context);
  }`;
  const script = `
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
    await import('./src/index.ts');
    const { KeyvRedisLua } = await import('./src/adapters/keyv/index.ts');
    console.log(typeof KeyvRedisLua);`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.stderr.trim(), '');
  assert.equal(run.stdout.trim(), 'function');
});

test.run();
