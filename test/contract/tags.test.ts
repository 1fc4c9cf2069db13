// @drivers ioredis node-redis
/**
 * Tags (`set`/`write` with `{ tags }`, getOrSet's `tags` option, `invalidateTags`) on a real redis-server and on
 * a real 3-primary Redis Cluster: what a tagged entry is in Redis (a hitbox entry with one more field, t), that
 * an invalidation makes every entry written with the tag before it read as missing for every read (get, read,
 * getMany, readMany, getOrSet; this backend and another one) while other entries and later writes are
 * unaffected, getOrSet recomputing invalidated entries (and voiding a value whose tags were invalidated while
 * its factory ran), a tag key that is gone reading as invalidated, the cost in script calls (the server's own
 * `INFO commandstats`), refusals before anything is sent, foreign data in field t, and tag keys that must not
 * collide with entry keys.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import {
  allScripts,
  CacheKey,
  CacheValue,
  ConnectionMode,
  ForeignDataError,
  InvalidKeyError,
  InvalidOptionError,
  MAX_TAGS,
  type RedisBackend,
  type RedisKey,
} from '../../src/index.js';
import { keySlot } from '../../src/driver/slot.js';
import { startCluster, type ClusterNodeUnderTest, type ClusterUnderTest } from '../helpers/cluster.js';
import { builder, DRIVER } from '../helpers/driver.js';
import { commandCalls, scriptsSince, startRedis, totalScripts, type RedisUnderTest } from '../helpers/redis.js';
import { gate, openAbandonedGates } from '../helpers/gate.js';
import { rejection, within as withinMs } from '../helpers/settle.js';

// ---------------------------------------------------------------------------------------------------------
// Helpers


const within = <T>(what: string, promise: Promise<T>): Promise<T> => withinMs(what, promise, 3_000);

const total = totalScripts;

/** Script calls expected: `ro` with EVALSHA_RO (read, read_many), `rw` with EVALSHA (read_tags too: it must run on the primary); never an EVAL. */
const calls = (ro: number, rw: number): Record<string, number> => ({ evalsha: rw, evalsha_ro: ro, eval: 0, eval_ro: 0 });

/** Every command from `INFO commandstats` but the INFO the test itself sends on its admin connection. */
async function everyCommand(admin: RedisUnderTest['admin']): Promise<Record<string, number>> {
  const counts = await commandCalls(admin);
  delete counts.info;
  return counts;
}

const buf = (text: string): Buffer => Buffer.from(text);
const inAMinute = (): Date => new Date(Date.now() + 60_000);

/** The Redis key of a tag's token in the UrlEncoded key format (the default), as the README documents it. */
// The layout of a tag key (README, Tags): `_tag=` and the tag, percent-encoded.
const tagKey = (tag: string): string => `_tag=${encodeURIComponent(tag)}`;

/** Field t of a stored entry, parsed: its tags and the tokens it was written with. */
function parsedT(field: string | null | undefined): [string, string][] {
  assert.type(field, 'string', 'the entry has a field t');
  return JSON.parse(field as string) as [string, string][];
}

// ---------------------------------------------------------------------------------------------------------
// Single node

const single = suite(`tags, single node, ${DRIVER}`);
// A stray rejection must never surface as unhandled. Checked by a last test of each suite, not by an
// after.each that throws: uvu silently drops the rest of the file when after.each throws after a failed test.
const unhandled: unknown[] = [];
process.on('unhandledRejection', (error) => void unhandled.push(error));
process.on('uncaughtException', (error) => void unhandled.push(error));

/** What `promise` rejects with, or null when it resolves; never rejects, so no attempt left unawaited is ever unhandled. */
function refusal(promise: Promise<unknown>): Promise<Error | null> {
  return promise.then(
    () => null,
    (error: Error) => error,
  );
}
let redis: RedisUnderTest;
let backend: RedisBackend;
/** Another backend on the same server: another connection, as another process would have. */
let other: RedisBackend;

// The UrlEncoded key format (the default) stores a key under its string form.
const redisKey = (key: CacheKey): string => key.toString();

let counter = 0;
/** A key of its own for each use. */
const freshKey = (name: string): CacheKey => new CacheKey('tagged', 1, [{ key: name, value: String(++counter) }]);
/** A tag of its own for each use: tag keys live on in Redis from test to test. */
const freshTag = (name: string): string => `${name}-${++counter}`;

/** Script calls that `work` made, by command. */
async function countScripts(work: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await commandCalls(redis.admin);
  await work();
  return scriptsSince(before, await commandCalls(redis.admin));
}

single.before(async () => {
  redis = await startRedis();
  // Every script cached up front: one EVALSHA(_RO) per script call, never a NOSCRIPT retry.
  for (const script of allScripts) await redis.admin.script('LOAD', script.source);
  backend = builder().connection(ConnectionMode.single(redis.url)).build();
  other = builder().connection(ConnectionMode.single(redis.url)).build();
  // Both connected before anything is counted.
  await backend.read(freshKey('warm-up'));
  await other.read(freshKey('warm-up'));
});

single.after(async () => {
  await backend?.close();
  await other?.close();
  await redis?.stop();
});

single.after.each(() => {
  openAbandonedGates();
});

single('write and set with tags: d, s and the TTL as usual plus field t (each tag and its token, once), nothing else; read returns the value', async () => {
  const [a, b] = [freshTag('a'), freshTag('b')];
  const key = freshKey('write');
  const expire = inAMinute();
  const staleAt = new Date(Date.now() + 30_000);
  await backend.write(key, new CacheValue(buf('tagged bytes'), expire, staleAt), { tags: [a, b, a] });

  const hash = await redis.admin.hgetall(redisKey(key));
  assert.equal(Object.keys(hash).sort(), ['d', 's', 't'], 'a hitbox entry (d, s) and field t, nothing else');
  assert.is(hash.d, 'tagged bytes');
  assert.is(hash.s, String(staleAt.getTime()));
  const pttl = await redis.admin.pttl(redisKey(key));
  assert.ok(pttl > 55_000 && pttl <= 60_000, `TTL as write sets it, got ${pttl}`);
  const [tokenA, tokenB] = [await redis.admin.get(tagKey(a)), await redis.admin.get(tagKey(b))];
  assert.type(tokenA, 'string', "the tag's key holds its token");
  assert.ok(tokenA !== tokenB, 'each tag a token of its own');
  assert.equal(parsedT(hash.t), [[a, tokenA], [b, tokenB]], 'each tag once (a tag given twice counts once), with its current token');

  // What a hitbox reader reads: d and s, field t ignored.
  assert.equal(await redis.admin.hmget(redisKey(key), 'd', 's'), ['tagged bytes', String(staleAt.getTime())]);
  const read = await backend.read(key);
  assert.is(read?.data.toString(), 'tagged bytes');
  assert.is(read?.stale?.getTime(), staleAt.getTime());
  assert.ok(Math.abs((read?.expire?.getTime() ?? 0) - expire.getTime()) < 1_000, 'expire is now + PTTL');
  assert.is((await other.read(key))?.data.toString(), 'tagged bytes', 'another backend reads it too');

  // A second entry with the same tag gets the same token: a token changes only on invalidation.
  const typed = freshKey('set');
  await backend.set(typed, new CacheValue({ n: 1 }), { tags: [b] });
  const typedHash = await redis.admin.hgetall(redisKey(typed));
  assert.equal(Object.keys(typedHash).sort(), ['d', 't'], 'no stale, no s; field t');
  assert.is(await redis.admin.pttl(redisKey(typed)), -1, 'no expire, no TTL');
  assert.equal(parsedT(typedHash.t), [[b, tokenB]]);
  assert.equal((await backend.get(typed))?.data, { n: 1 });

  // Rewritten without tags (write, set with no or empty tags, setMany): field t gone, no invalidation reaches it.
  const [plainWrite, emptyTags, many] = [freshKey('plain'), freshKey('empty'), freshKey('many')];
  for (const entry of [plainWrite, emptyTags, many]) await backend.write(entry, new CacheValue(buf('old'), inAMinute()), { tags: [a] });
  await backend.write(plainWrite, new CacheValue(buf('untagged')));
  await backend.set(emptyTags, new CacheValue('untagged'), { tags: [] });
  await backend.setMany([[many, new CacheValue('untagged')]]);
  for (const entry of [plainWrite, emptyTags, many]) assert.equal(Object.keys(await redis.admin.hgetall(redisKey(entry))), ['d'], `${entry.parts[0]!.key}: only d`);
  await backend.invalidateTags([a]);
  assert.is((await backend.read(plainWrite))?.data.toString(), 'untagged');
  assert.equal((await backend.getMany<string>([emptyTags, many])).map((value) => value?.data), ['untagged', 'untagged']);
  assert.is(await backend.read(key), null, 'the entry still written with the tag is invalidated');
});

single('invalidateTags: every entry written with the tag before reads as missing for get, read, getMany and readMany, from this backend and another; other and untagged entries unaffected; later writes returned', async () => {
  const [x, y, z] = [freshTag('x'), freshTag('y'), freshTag('z')];
  const onlyX = freshKey('only-x');
  const yAndX = freshKey('y-and-x');
  const onlyY = freshKey('only-y');
  const untagged = freshKey('untagged');
  const onlyZ = freshKey('only-z');
  await backend.set(onlyX, new CacheValue('only x', inAMinute()), { tags: [x] });
  await backend.write(yAndX, new CacheValue(buf('y and x')), { tags: [y, x] });
  await other.set(onlyY, new CacheValue('only y', inAMinute()), { tags: [y] });
  await backend.set(untagged, new CacheValue('untagged'));
  await backend.set(onlyZ, new CacheValue('only z'), { tags: [z] });
  const all = [onlyX, yAndX, onlyY, untagged, onlyZ];
  for (const reader of [backend, other]) {
    assert.equal((await reader.readMany(all)).map((value) => value !== null), [true, true, true, true, true], 'all there before');
    assert.equal((await reader.getMany<string>([onlyX, onlyY, untagged, onlyZ])).map((value) => value?.data ?? null), ['only x', 'only y', 'untagged', 'only z']);
  }
  const tokenBefore = await redis.admin.get(tagKey(x));

  assert.is(await backend.invalidateTags([x]), undefined);
  assert.ok((await redis.admin.get(tagKey(x))) !== tokenBefore, 'the tag has a new token');
  for (const [name, reader] of [['this backend', backend], ['another backend', other]] as const) {
    assert.is(await reader.get(onlyX), null, `${name}: get of an entry with the tag`);
    assert.is(await reader.read(onlyX), null, `${name}: read`);
    assert.is(await reader.read(yAndX), null, `${name}: read of an entry with the tag among others`);
    assert.is(await reader.get(yAndX), null, `${name}: get of it`);
    assert.equal((await reader.getMany<string>(all)).map((value) => value?.data ?? null), [null, null, 'only y', 'untagged', 'only z'], `${name}: getMany`);
    const raw = await reader.readMany([onlyZ, yAndX, onlyX, onlyY, untagged, onlyX]);
    assert.equal(
      raw.map((value) => value?.data ?? null),
      [await redis.admin.hgetBuffer(redisKey(onlyZ), 'd'), null, null, await redis.admin.hgetBuffer(redisKey(onlyY), 'd'), await redis.admin.hgetBuffer(redisKey(untagged), 'd'), null],
      `${name}: readMany`,
    );
    assert.equal((await reader.get<string>(onlyY))?.data, 'only y', `${name}: another tag, unaffected`);
    assert.equal((await reader.get<string>(untagged))?.data, 'untagged', `${name}: untagged, unaffected`);
  }
  assert.is(await redis.admin.exists(redisKey(onlyX)), 1, 'an invalidated entry stays in Redis (never returned) until it expires or is written again');

  // Written with the tag after the invalidation: returned, by both backends and every read.
  const later = freshKey('later');
  await other.set(later, new CacheValue('later', inAMinute()), { tags: [x] });
  await backend.set(onlyX, new CacheValue('rewritten'), { tags: [x] });
  for (const reader of [backend, other]) {
    assert.equal((await reader.get<string>(later))?.data, 'later');
    assert.equal((await reader.get<string>(onlyX))?.data, 'rewritten');
    assert.equal((await reader.getMany<string>([later, onlyX, yAndX])).map((value) => value?.data ?? null), ['later', 'rewritten', null]);
    assert.equal((await reader.readMany([onlyX, later])).map((value) => value !== null), [true, true]);
  }

  // Several tags in one call, from the other backend: each of them invalidated.
  await other.invalidateTags([y, z]);
  for (const reader of [backend, other]) {
    assert.equal((await reader.getMany<string>(all)).map((value) => value?.data ?? null), ['rewritten', null, null, 'untagged', null]);
    assert.is(await reader.read(onlyY), null);
    assert.is(await reader.get(onlyZ), null);
  }
  // An invalidation of a tag nobody used makes no entry missing.
  await backend.invalidateTags([freshTag('unused')]);
  assert.equal((await backend.getMany<string>([onlyX, later, untagged])).map((value) => value?.data ?? null), ['rewritten', 'later', 'untagged']);
});

single('a tag key deleted (evicted): its entries read as missing, never valid; a later write with the tag is returned', async () => {
  const [gone, kept] = [freshTag('gone'), freshTag('kept')];
  const [entry, both, keptEntry] = [freshKey('gone'), freshKey('both'), freshKey('kept')];
  await backend.set(entry, new CacheValue('gone'), { tags: [gone] });
  await backend.set(both, new CacheValue('both'), { tags: [kept, gone] });
  await backend.set(keptEntry, new CacheValue('kept'), { tags: [kept] });
  assert.is(await redis.admin.del(tagKey(gone)), 1, 'the tag key existed');

  for (const reader of [backend, other]) {
    assert.is(await reader.get(entry), null);
    assert.is(await reader.read(entry), null);
    assert.is(await reader.get(both), null, 'one of its tags gone');
    assert.equal(await reader.readMany([both, entry]), [null, null]);
    assert.equal(await reader.getMany([entry]), [null]);
  }
  assert.equal((await backend.get<string>(keptEntry))?.data, 'kept', 'an entry of another tag, read alone, unaffected');
  assert.is(await redis.admin.exists(tagKey(gone)), 0, 'reads do not give the tag a token');
  // getOrSet recomputes it (the tag gets a token again: its key is recreated by the tagged store).
  let runs = 0;
  assert.is(await within('getOrSet of the entry', other.getOrSet(entry, async () => `recomputed ${++runs}`, { ttl: 60_000, tags: [gone] })), 'recomputed 1');
  assert.is(await within('getOrSet of the entry', backend.getOrSet(entry, async () => `recomputed ${++runs}`, { ttl: 60_000, tags: [gone] })), 'recomputed 1');
  assert.is(runs, 1);
  assert.type(await redis.admin.get(tagKey(gone)), 'string', 'the tag got a token again with the next tagged write');
  // Written with the tag after its key was recreated: valid.
  const later = freshKey('after');
  await backend.set(later, new CacheValue('after'), { tags: [gone] });
  assert.equal((await other.get<string>(later))?.data, 'after');
  assert.equal((await backend.get<string>(entry))?.data, 'recomputed 1');
  assert.is(await backend.get(both), null, 'an entry written before the key was deleted stays missing');
});

single('a tag key deleted: entries of other tags read in the same getMany and readMany are unaffected', async () => {
  const [gone, kept] = [freshTag('gone'), freshTag('kept')];
  const [goneEntry, keptEntry, untagged] = [freshKey('gone'), freshKey('kept'), freshKey('untagged')];
  await backend.set(goneEntry, new CacheValue('gone'), { tags: [gone] });
  await backend.set(keptEntry, new CacheValue('kept'), { tags: [kept] });
  await backend.set(untagged, new CacheValue('untagged'));
  await redis.admin.del(tagKey(gone));
  // The entry of the deleted tag first: its tag comes first in the one read_tags call.
  assert.equal((await backend.getMany<string>([goneEntry, keptEntry, untagged])).map((value) => value?.data ?? null), [null, 'kept', 'untagged'], 'getMany, the deleted tag first');
  assert.equal((await backend.getMany<string>([keptEntry, goneEntry])).map((value) => value?.data ?? null), ['kept', null], 'getMany, the deleted tag last');
  assert.equal((await other.readMany([goneEntry, keptEntry])).map((value) => value !== null), [false, true], 'readMany from another backend');
});

single('getOrSet with tags: an invalidated entry runs the factory once for 100 concurrent callers over two backends; the value is stored with the new token', async () => {
  const tag = freshTag('gos');
  const key = freshKey('gos');
  let runs = 0;
  const factory = async (): Promise<string> => `value ${++runs}`;
  const options = { ttl: 60_000, tags: [tag] };
  assert.is(await backend.getOrSet(key, factory, options), 'value 1');
  const stored = await redis.admin.hgetall(redisKey(key));
  assert.equal(Object.keys(stored).sort(), ['d', 't'], 'getOrSet stores field t too, no lease left');
  assert.equal(parsedT(stored.t), [[tag, await redis.admin.get(tagKey(tag))]]);
  const ttl = await redis.admin.pttl(redisKey(key));
  assert.ok(ttl > 55_000 && ttl <= 60_000, `TTL as ttl sets it, got ${ttl}`);

  // Valid: returned, factory not run, by either backend.
  assert.is(await other.getOrSet(key, factory, options), 'value 1');
  assert.is(await backend.getOrSet(key, factory, options), 'value 1');
  assert.is(runs, 1);

  await backend.invalidateTags([tag]);
  const held = gate();
  const running = gate();
  const slow = async (): Promise<string> => {
    running.open();
    await held.promise;
    return factory();
  };
  const callers = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? backend : other).getOrSet(key, slow, options));
  await within('the factory running', running.promise);
  // While it runs, the invalidated value is not served to plain reads either.
  assert.is(await other.get(key), null, 'the invalidated entry is missing while it is recomputed');
  held.open();
  const values = await within('every caller answered', Promise.all(callers));
  assert.is(runs, 2, 'one factory call for 100 callers on two backends');
  assert.ok(values.every((value) => value === 'value 2'), `every caller gets the recomputed value: ${[...new Set(values)].join(', ')}`);
  const after = await redis.admin.hgetall(redisKey(key));
  assert.equal(Object.keys(after).sort(), ['d', 't'], 'no lease left');
  assert.equal(parsedT(after.t), [[tag, await redis.admin.get(tagKey(tag))]], 'stored with the token after the invalidation');
  assert.equal((await other.get<string>(key))?.data, 'value 2');
  assert.is(await backend.getOrSet(key, factory, options), 'value 2');
  assert.is(runs, 2);

  // An entry written by set with the tag is invalidated for getOrSet too: it runs its factory, without tags now.
  const setKey = freshKey('gos-set');
  await backend.set(setKey, new CacheValue('from set'), { tags: [tag] });
  assert.is(await backend.getOrSet(setKey, async () => 'never', { ttl: 60_000 }), 'from set');
  await other.invalidateTags([tag]);
  assert.is(await within('getOrSet of the invalidated entry', backend.getOrSet(setKey, async () => 'recomputed', { ttl: 60_000 })), 'recomputed');
  assert.equal(Object.keys(await redis.admin.hgetall(redisKey(setKey))), ['d'], 'stored untagged: field t gone');
});

single('getOrSet: an invalidation while the factory runs voids its value: the caller gets it, the next get is null, the next getOrSet recomputes', async () => {
  const [tag, untouched] = [freshTag('during'), freshTag('untouched')];
  const key = freshKey('during');
  const held = gate();
  const running = gate();
  let runs = 0;
  const call = backend.getOrSet(
    key,
    async () => {
      runs++;
      running.open();
      await held.promise;
      return { v: 'computed while invalidated' };
    },
    { ttl: 60_000, tags: [untouched, tag] },
  );
  await within('the factory running', running.promise);
  await other.invalidateTags([tag]);
  held.open();
  assert.equal(await within('the caller answered', call), { v: 'computed while invalidated' }, 'the caller gets its value');
  assert.is(await redis.admin.hexists(redisKey(key), 'd'), 1, 'stored, with the tokens from before the factory ran');
  assert.is(await backend.get(key), null, 'the next get: null');
  assert.is(await other.read(key), null, 'from another backend too');
  assert.equal(await backend.getMany([key]), [null]);
  let recomputed = 0;
  assert.equal(await within('the next getOrSet', backend.getOrSet(key, async () => (recomputed++, { v: 'recomputed' }), { ttl: 60_000, tags: [untouched, tag] })), { v: 'recomputed' }, 'the next getOrSet recomputes');
  assert.is(runs, 1);
  assert.is(recomputed, 1);
  assert.equal((await other.get(key))?.data, { v: 'recomputed' }, 'recomputed and stored');
  assert.equal(await other.getOrSet(key, async () => ({ v: 'never' }), { ttl: 60_000, tags: [tag] }), { v: 'recomputed' });

  // The same with write racing: an invalidation between a tagged getOrSet's start and its store of another tag does nothing.
  const calm = freshKey('calm');
  const calmHeld = gate();
  const calmRunning = gate();
  const calmCall = backend.getOrSet(
    calm,
    async () => {
      calmRunning.open();
      await calmHeld.promise;
      return 'kept';
    },
    { ttl: 60_000, tags: [untouched] },
  );
  await within('the factory running', calmRunning.promise);
  await backend.invalidateTags([freshTag('elsewhere')]);
  calmHeld.open();
  assert.is(await calmCall, 'kept');
  assert.equal((await other.get<string>(calm))?.data, 'kept', 'an invalidation of another tag voids nothing');
});

single('cost: untagged read 1 script call, tagged read 2 (any number of tags), getMany of 10 tagged entries 2, invalidateTags of 3 tags 1, a tagged write 2', async () => {
  const tags = [freshTag('c1'), freshTag('c2'), freshTag('c3')];
  const [untagged, oneTag, threeTags] = [freshKey('untagged'), freshKey('one'), freshKey('three')];
  await backend.write(untagged, new CacheValue(buf('u')));
  assert.equal(await countScripts(() => backend.write(oneTag, new CacheValue(buf('1')), { tags: [tags[0]!] })), calls(0, 2), 'a tagged write: tag_tokens, then write');
  assert.equal(await countScripts(() => backend.set(threeTags, new CacheValue('3'), { tags })), calls(0, 2), 'three tags: still one tag_tokens');

  assert.equal(await countScripts(() => backend.read(untagged)), calls(1, 0), 'untagged read: the read script alone');
  assert.equal(await countScripts(() => backend.get(untagged)), calls(1, 0));
  assert.equal(await countScripts(() => backend.read(oneTag)), calls(1, 1), 'tagged read: read, then read_tags');
  assert.equal(await countScripts(() => backend.get(threeTags)), calls(1, 1), 'three tags: one read_tags');
  assert.equal(await countScripts(() => backend.read(freshKey('missing'))), calls(1, 0), 'missing: the read alone');
  assert.equal(await countScripts(() => backend.getOrSet(threeTags, async () => 'never', { ttl: 60_000, tags })), calls(1, 1), 'a fresh tagged getOrSet hit: what get costs');

  const ten = Array.from({ length: 10 }, (_, i) => freshKey(`ten-${i}`));
  for (const [i, key] of ten.entries()) await backend.set(key, new CacheValue(i), { tags: [tags[i % 3]!, freshTag(`own-${i}`)] });
  let got: (CacheValue<number> | null)[] = [];
  assert.equal(
    await countScripts(async () => {
      got = await backend.getMany<number>(ten);
    }),
    calls(1, 1),
    'getMany of 10 tagged entries (13 tags): read_many, then one read_tags',
  );
  assert.equal(got.map((value) => value?.data), ten.map((_, i) => i));
  assert.equal(await countScripts(() => backend.readMany([...ten, untagged])), calls(1, 1));
  assert.equal(await countScripts(() => backend.readMany([untagged, freshKey('missing')])), calls(1, 0), 'no tagged entry among them: read_many alone');

  assert.equal(await countScripts(() => backend.invalidateTags(tags)), calls(0, 1), 'invalidateTags of 3 tags: one invalidate_tags');
  assert.equal(await countScripts(() => backend.getMany(ten)), calls(1, 1), 'invalidated entries cost the same');
  assert.equal((await backend.getMany(ten)).filter((value) => value !== null), []);
  // 64 tags, the most, in one call too.
  assert.equal(await countScripts(() => backend.invalidateTags(Array.from({ length: MAX_TAGS }, (_, i) => freshTag(`max-${i}`)))), calls(0, 1));
  const before = await everyCommand(redis.admin);
  assert.is(await backend.invalidateTags([]), undefined);
  assert.equal(await everyCommand(redis.admin), before, 'invalidateTags([]) sends nothing');
});

single('bad tags: InvalidOptionError naming the problem for set, write, getOrSet and invalidateTags, nothing sent; 64 tags pass, a tag given twice counts once', async () => {
  const over = Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`);
  const cases: { name: string; tags: unknown; reason: RegExp }[] = [
    { name: 'a string, not an array', tags: 'tag', reason: /^tags must be an array of strings, got string$/ },
    { name: 'null', tags: null, reason: /^tags must be an array of strings, got object$/ },
    { name: 'an object', tags: { 0: 'a', length: 1 }, reason: /^tags must be an array of strings, got object$/ },
    { name: 'an empty string', tags: ['a', ''], reason: /^tag 2 must be a non-empty string, got ""$/ },
    { name: 'a number', tags: [7], reason: /^tag 1 must be a non-empty string, got number$/ },
    { name: 'undefined in the array', tags: ['a', 'b', undefined], reason: /^tag 3 must be a non-empty string, got undefined$/ },
    { name: 'a String object', tags: [new String('a')], reason: /^tag 1 must be a non-empty string, got object$/ },
    { name: `${MAX_TAGS + 1} tags`, tags: over, reason: new RegExp(`^at most ${MAX_TAGS} tags, got ${MAX_TAGS + 1}$`) },
  ];
  const key = freshKey('refused');
  let factoryRuns = 0;
  for (const entry of cases) {
    const before = await everyCommand(redis.admin);
    const attempts: [string, Promise<Error | null>][] = [
      ['set', refusal(backend.set(key, new CacheValue('v'), { tags: entry.tags as string[] }))],
      ['write', refusal(backend.write(key, new CacheValue(buf('v')), { tags: entry.tags as string[] }))],
      ['getOrSet', refusal(backend.getOrSet(key, async () => ++factoryRuns, { ttl: 1_000, tags: entry.tags as string[] }))],
      ['invalidateTags', refusal(backend.invalidateTags(entry.tags as string[]))],
    ];
    for (const [operation, attempt] of attempts) {
      const error = await attempt;
      assert.ok(error !== null, `${entry.name}, ${operation}: refused`);
      assert.instance(error, InvalidOptionError, `${entry.name}, ${operation}: ${error.message}`);
      const refused = error as InvalidOptionError;
      assert.is(refused.code, 'INVALID_OPTION');
      assert.is(refused.operation, operation);
      assert.is(refused.key, operation === 'invalidateTags' ? undefined : key.toString(), `${entry.name}, ${operation}: the key named`);
      assert.match(refused.reason, entry.reason, `${entry.name}, ${operation}: ${refused.reason}`);
      assert.ok(refused.message.includes(refused.reason));
    }
    assert.equal(await everyCommand(redis.admin), before, `${entry.name}: nothing sent`);
  }
  assert.is(factoryRuns, 0, 'no factory ran');
  assert.is(await redis.admin.exists(redisKey(key)), 0, 'nothing written');

  // 64 tags pass, and so do 64 distinct tags given with repeats (65 in the array): each counts once.
  const max = Array.from({ length: MAX_TAGS }, (_, i) => freshTag(`max${i}`));
  const withRepeats = [...max, max[0]!, max[63]!, max[10]!];
  const maxKey = freshKey('max');
  await backend.set(maxKey, new CacheValue('64'), { tags: withRepeats });
  assert.equal(parsedT(await redis.admin.hget(redisKey(maxKey), 't')).map(([tag]) => tag), max, 'each tag once, in the order first given');
  assert.is(await backend.getOrSet(freshKey('max-gos'), async () => 'ok', { ttl: 60_000, tags: withRepeats }), 'ok');
  await backend.invalidateTags(withRepeats);
  assert.is(await backend.get(maxKey), null);
  const before = await everyCommand(redis.admin);
  const error = await rejection(backend.invalidateTags([...max, freshTag('one-more')]));
  assert.match((error as InvalidOptionError).reason, /^at most 64 tags, got 65$/);
  assert.equal(await everyCommand(redis.admin), before, 'nothing sent');
});

single('a tag that cannot be encoded as a key (a lone surrogate) is refused before anything is sent, for getOrSet too', async () => {
  const key = freshKey('surrogate');
  // Every problem of every operation gathered, so that one failure shows them all.
  const problems: string[] = [];
  for (const [operation, attempt] of [
    ['set', () => backend.set(key, new CacheValue('v'), { tags: ['bad\uD800'] })],
    ['getOrSet', () => backend.getOrSet(key, async () => 'v', { ttl: 60_000, tags: ['bad\uD800'] })],
    ['invalidateTags', () => backend.invalidateTags(['bad\uD800'])],
  ] as const) {
    const before = await commandCalls(redis.admin);
    const error = await refusal(attempt());
    const sent = Object.entries(scriptsSince(before, await commandCalls(redis.admin))).filter(([, count]) => count > 0);
    if (sent.length > 0) problems.push(`${operation}: sent ${sent.map(([name, count]) => `${count} ${name}`).join(', ')} before refusing`);
    if (!(error instanceof InvalidOptionError || error instanceof InvalidKeyError)) problems.push(`${operation}: not a typed refusal: ${String(error)}`);
    else if (error.operation !== operation) problems.push(`${operation}: the error names operation ${error.operation} ("${error.message}")`);
  }
  assert.equal(problems, []);
  assert.is(await redis.admin.exists(redisKey(key)), 0, 'no entry, no pending entry left');
});

single('tag keys never collide with entry keys: an entry whose key renders like a tag key is neither overwritten by invalidateTags nor breaks tagged writes', async () => {
  const tag = freshTag('news');
  // A key an application may well use: prefix "tags", version 0, one part "tag".
  const lookalike = new CacheKey('tags', 0, [{ key: 'tag', value: tag }]);
  await backend.set(lookalike, new CacheValue({ title: 'an application entry' }));
  const problems: string[] = [];
  const tagged = freshKey('tagged');
  const writeError = await refusal(backend.set(tagged, new CacheValue('v'), { tags: [tag] }));
  if (writeError !== null) problems.push(`a write with tag ${tag} fails: ${writeError.message}`);
  await backend.invalidateTags([tag]);
  const type = await redis.admin.type(redisKey(lookalike));
  if (type !== 'hash') problems.push(`invalidateTags([${tag}]) turned the entry at ${redisKey(lookalike)} into a ${type}`);
  const read = await backend.get<{ title: string }>(lookalike).then((value) => value?.data.title, (error: Error) => `${error.name}: ${error.message}`);
  if (read !== 'an application entry') problems.push(`the entry reads as ${String(read)}`);
  assert.equal(problems, []);
});

single('foreign field t: ForeignDataError naming the key for read, get, readMany, getMany and getOrSet; the entry left as it is', async () => {
  const garbage = [
    ['not JSON', 'garbage{'],
    ['JSON, not a list', '{"a":"b"}'],
    ['a list of non-pairs', '[["tag"]]'],
    ['a pair of non-strings', '[["tag", 5]]'],
  ] as const;
  for (const [name, field] of garbage) {
    const key = freshKey(`foreign-${name}`);
    const good = freshKey('good');
    await backend.set(good, new CacheValue('good'), { tags: [freshTag('good')] });
    await backend.set(key, new CacheValue('foreign'), { tags: [freshTag('foreign')] });
    await redis.admin.hset(redisKey(key), 't', field);
    const attempts: [string, Promise<Error | null>][] = [
      ['read', refusal(backend.read(key))],
      ['get', refusal(backend.get(key))],
      ['readMany', refusal(backend.readMany([good, key]))],
      ['getMany', refusal(other.getMany([good, key]))],
      ['getOrSet', refusal(backend.getOrSet(key, async () => 'never', { ttl: 60_000 }))],
    ];
    for (const [operation, attempt] of attempts) {
      const error = await attempt;
      assert.ok(error !== null, `${name}, ${operation}: refused`);
      assert.instance(error, ForeignDataError, `${name}, ${operation}: ${error.message}`);
      const foreign = error as ForeignDataError;
      assert.is(foreign.code, 'FOREIGN_DATA');
      assert.is(foreign.operation, operation);
      assert.is(foreign.key, key.toString(), `${name}, ${operation}: the key named`);
      assert.ok(foreign.message.includes(key.toString()));
      assert.match(foreign.reason, /field t/);
    }
    assert.is(await redis.admin.hget(redisKey(key), 't'), field, `${name}: left as it is`);
    assert.equal(Object.keys(await redis.admin.hgetall(redisKey(key))).sort(), ['d', 't'], `${name}: no lease taken`);
  }
  // Well-formed tokens that are no tag's own: invalidated, not foreign.
  const made = freshKey('made-up');
  await redis.admin.hset(redisKey(made), 'd', '"made up"', 't', JSON.stringify([[freshTag('never-used'), 'token']]));
  assert.is(await backend.get(made), null);
  assert.equal(await backend.getMany([made]), [null]);
});

single('no unhandled rejection or uncaught exception anywhere in the process (single node)', () => {
  assert.equal(unhandled.splice(0), []);
});

single.run();

// ---------------------------------------------------------------------------------------------------------
// Cluster: 3 primaries

const clustered = suite(`tags, cluster of 3 primaries, ${DRIVER}`);
let cluster: ClusterUnderTest;
let onCluster: RedisBackend;
let otherOnCluster: RedisBackend;
/** The node that owns each slot, from CLUSTER SLOTS. */
const owner: ClusterNodeUnderTest[] = [];

const nodeOf = (key: RedisKey): ClusterNodeUnderTest => owner[keySlot(key)]!;
const indexOf = (key: RedisKey): number => cluster.nodes.indexOf(nodeOf(key));

/** Script calls per primary that `work` made. */
async function perNodeScripts(work: () => Promise<unknown>): Promise<number[]> {
  const before = await Promise.all(cluster.nodes.map((node) => commandCalls(node.admin)));
  await work();
  const after = await Promise.all(cluster.nodes.map((node) => commandCalls(node.admin)));
  return cluster.nodes.map((_, i) => total(scriptsSince(before[i]!, after[i]!)));
}

/** Script calls each primary should get for one call per slot group of `keys`. */
function perSlotGroup(keys: readonly RedisKey[]): number[] {
  const counts = cluster.nodes.map(() => 0);
  for (const slot of new Set(keys.map(keySlot))) counts[cluster.nodes.indexOf(owner[slot]!)]! += 1;
  return counts;
}

const sum = (...rows: number[][]): number[] => rows[0]!.map((_, i) => rows.reduce((total, row) => total + row[i]!, 0));

let clusterCounter = 0;
/** A fresh entry key whose slot the primary `node` owns. */
function keyOn(node: number, name: string): CacheKey {
  for (;;) {
    const key = new CacheKey('ctagged', 1, [{ key: name, value: String(++clusterCounter) }]);
    if (indexOf(key.toString()) === node) return key;
  }
}
/** A fresh tag whose key's slot the primary `node` owns. */
function tagOn(node: number, name: string): string {
  for (;;) {
    const tag = `${name}-${++clusterCounter}`;
    if (indexOf(tagKey(tag)) === node) return tag;
  }
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
  onCluster = builder().connection(ConnectionMode.cluster(cluster.seedUrls)).build();
  otherOnCluster = builder().connection(ConnectionMode.cluster(cluster.seedUrls.slice().reverse())).build();
  // Connected to every node before anything is counted.
  await Promise.all([0, 1, 2].map((node) => onCluster.readMany([keyOn(node, 'warm-up')])));
  await Promise.all([0, 1, 2].map((node) => otherOnCluster.readMany([keyOn(node, 'warm-up')])));
});

clustered.after(async () => {
  await onCluster?.close();
  await otherOnCluster?.close();
  await cluster?.stop();
});

clustered.after.each(() => {
  openAbandonedGates();
});

clustered('entries on every primary, tags whose keys are on other primaries: an invalidation is seen by reads of every node, from both backends', async () => {
  // Entry i lives on primary i; its own tag on primary i+1; a shared tag on primary 0.
  const entries = [0, 1, 2].map((node) => keyOn(node, 'entry'));
  const own = [0, 1, 2].map((node) => tagOn((node + 1) % 3, 'own'));
  const shared = tagOn(0, 'shared');
  const untagged = [0, 1, 2].map((node) => keyOn(node, 'untagged'));
  for (const [i, key] of entries.entries()) await onCluster.set(key, new CacheValue(`entry ${i}`, inAMinute()), { tags: [own[i]!, shared] });
  for (const [i, key] of untagged.entries()) await otherOnCluster.set(key, new CacheValue(`untagged ${i}`));
  for (const [i, key] of entries.entries()) {
    const home = cluster.nodes[i]!;
    assert.is(indexOf(key.toString()), i);
    const t = parsedT(await home.admin.hget(key.toString(), 't'));
    assert.equal(t, [[own[i], await cluster.nodes[(i + 1) % 3]!.admin.get(tagKey(own[i]!))], [shared, await cluster.nodes[0]!.admin.get(tagKey(shared))]], `entry ${i}: the tokens of its tags, from their own nodes`);
    assert.is(await home.admin.pttl(key.toString()) > 55_000, true);
  }
  const all = [...entries, ...untagged];
  const values = async (reader: RedisBackend): Promise<(string | null)[]> => (await reader.getMany<string>(all)).map((value) => value?.data ?? null);
  assert.equal(await values(otherOnCluster), ['entry 0', 'entry 1', 'entry 2', 'untagged 0', 'untagged 1', 'untagged 2']);

  // The own tag of entry 1 (its key on primary 2).
  await otherOnCluster.invalidateTags([own[1]!]);
  for (const reader of [onCluster, otherOnCluster]) {
    assert.equal(await values(reader), ['entry 0', null, 'entry 2', 'untagged 0', 'untagged 1', 'untagged 2']);
    assert.is(await reader.get(entries[1]!), null);
    assert.is(await reader.read(entries[1]!), null);
    assert.equal((await reader.readMany([entries[1]!, entries[0]!])).map((value) => value !== null), [false, true]);
  }
  // The shared tag (on primary 0): every entry, on every node.
  await onCluster.invalidateTags([shared]);
  for (const reader of [onCluster, otherOnCluster]) {
    assert.equal(await values(reader), [null, null, null, 'untagged 0', 'untagged 1', 'untagged 2']);
    for (const key of entries) assert.is(await reader.get(key), null, `${indexOf(key.toString())}: get`);
  }
  // Written again afterwards, with the same tags: returned everywhere.
  for (const [i, key] of entries.entries()) await otherOnCluster.set(key, new CacheValue(`again ${i}`), { tags: [own[i]!, shared] });
  for (const reader of [onCluster, otherOnCluster]) {
    assert.equal((await values(reader)).slice(0, 3), ['again 0', 'again 1', 'again 2']);
  }
  // A tag key deleted on its node: its entries read as missing.
  await cluster.nodes[(2 + 1) % 3]!.admin.del(tagKey(own[2]!));
  assert.equal((await values(onCluster)).slice(0, 3), ['again 0', 'again 1', null]);

  // getOrSet on an entry of primary 1 whose tag lives on primary 2.
  const gos = keyOn(1, 'gos');
  const tag = tagOn(2, 'gos');
  let runs = 0;
  const factory = async (): Promise<number> => ++runs;
  assert.is(await onCluster.getOrSet(gos, factory, { ttl: 60_000, tags: [tag] }), 1);
  assert.is(await otherOnCluster.getOrSet(gos, factory, { ttl: 60_000, tags: [tag] }), 1);
  await otherOnCluster.invalidateTags([tag]);
  const results = await within('100 callers', Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? onCluster : otherOnCluster).getOrSet(gos, factory, { ttl: 60_000, tags: [tag] }))));
  assert.is(runs, 2, 'recomputed once');
  assert.ok(results.every((value) => value === 2));
});

clustered('cost on a cluster: one script call per slot group, each on the node that owns the slot', async () => {
  // Two tags whose keys share a slot (found by the slot function), a third on another primary.
  const bySlot = new Map<number, string>();
  let pair: [string, string] | undefined;
  for (let i = 0; pair === undefined; i++) {
    const tag = `pair-${i}-${++clusterCounter}`;
    const slot = keySlot(tagKey(tag));
    const seen = bySlot.get(slot);
    if (seen === undefined) bySlot.set(slot, tag);
    else pair = [seen, tag];
  }
  const third = tagOn((indexOf(tagKey(pair[0])) + 1) % 3, 'third');
  const tags = [pair[0], third, pair[1]];
  const tagKeys = tags.map(tagKey);
  const expectedTagCalls = perSlotGroup(tagKeys);
  assert.equal(expectedTagCalls.reduce((a, b) => a + b, 0), 2, 'three tags in two slots');

  const entry = keyOn((indexOf(tagKey(third)) + 1) % 3, 'entry');
  const entryCall = perSlotGroup([entry.toString()]);
  assert.equal(await perNodeScripts(() => onCluster.set(entry, new CacheValue('v'), { tags })), sum(expectedTagCalls, entryCall), 'a tagged write: tag_tokens per slot group, then write');
  assert.equal(await perNodeScripts(() => onCluster.get(entry)), sum(expectedTagCalls, entryCall), 'a tagged read: read, then read_tags per slot group');
  const untagged = keyOn(0, 'untagged');
  await onCluster.set(untagged, new CacheValue('u'));
  assert.equal(await perNodeScripts(() => onCluster.read(untagged)), perSlotGroup([untagged.toString()]), 'an untagged read: one call');

  // Ten entries over the three primaries, each with one of the tags.
  const ten = Array.from({ length: 10 }, (_, i) => keyOn(i % 3, `ten-${i}`));
  for (const [i, key] of ten.entries()) await onCluster.set(key, new CacheValue(i), { tags: [tags[i % 3]!] });
  let got: (CacheValue<number> | null)[] = [];
  assert.equal(
    await perNodeScripts(async () => {
      got = await otherOnCluster.getMany<number>(ten);
    }),
    sum(perSlotGroup(ten.map(String)), expectedTagCalls),
    'getMany: read_many per slot group, then read_tags per slot group of the tags',
  );
  assert.equal(got.map((value) => value?.data), ten.map((_, i) => i));

  assert.equal(await perNodeScripts(() => otherOnCluster.invalidateTags(tags)), expectedTagCalls, 'invalidateTags of 3 tags in 2 slots: 2 calls, on the owners');
  assert.equal((await onCluster.getMany(ten)).filter((value) => value !== null), [], 'all invalidated');
  assert.is(await onCluster.get(entry), null);
  assert.equal(await perNodeScripts(() => onCluster.invalidateTags([])), [0, 0, 0], 'invalidateTags([]) sends nothing');
  const refused = await perNodeScripts(async () => {
    assert.instance(await rejection(onCluster.invalidateTags([''])), InvalidOptionError);
    assert.instance(await rejection(onCluster.set(entry, new CacheValue('v'), { tags: [''] })), InvalidOptionError);
  });
  assert.equal(refused, [0, 0, 0], 'refused tags: nothing sent');
});

clustered('a tag key deleted on the cluster: entries of other tags read in the same getMany are unaffected', async () => {
  // Two tags in one slot: one read_tags call for both, as on a single node.
  const bySlot = new Map<number, string>();
  let pair: [string, string] | undefined;
  for (let i = 0; pair === undefined; i++) {
    const tag = `gone-${i}-${++clusterCounter}`;
    const slot = keySlot(tagKey(tag));
    const seen = bySlot.get(slot);
    if (seen === undefined) bySlot.set(slot, tag);
    else pair = [seen, tag];
  }
  const [gone, kept] = pair;
  const [goneEntry, keptEntry] = [keyOn(0, 'gone'), keyOn(1, 'kept')];
  await onCluster.set(goneEntry, new CacheValue('gone'), { tags: [gone] });
  await onCluster.set(keptEntry, new CacheValue('kept'), { tags: [kept] });
  await nodeOf(tagKey(gone)).admin.del(tagKey(gone));
  assert.is(await onCluster.get(goneEntry), null);
  assert.equal((await onCluster.getMany<string>([goneEntry, keptEntry])).map((value) => value?.data ?? null), [null, 'kept']);
});

clustered('no unhandled rejection or uncaught exception anywhere in the process (cluster)', () => {
  assert.equal(unhandled.splice(0), []);
});

clustered.run();
