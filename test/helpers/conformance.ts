/**
 * The backend conformance suite: every behaviour the backend promises, over the matrix
 * key format x value format x compressor. It takes a factory, so the same suite runs unchanged
 * against a single node and against a cluster.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Cluster, Redis } from 'ioredis';

import {
  BrotliCompressor,
  CacheKey,
  CacheKeyFormat,
  CacheValue,
  ForeignDataError,
  GzipCompressor,
  JsonFormat,
  MsgpackFormat,
  PassthroughCompressor,
  ZstdCompressor,
  type Compressor,
  type Format,
  type RedisBackend,
  type RedisBackendBuilder,
} from '../../src/index.js';

export interface Combination {
  readonly name: string;
  readonly keyFormat: CacheKeyFormat;
  readonly valueFormat: Format;
  readonly compressor: Compressor;
}

export const combinations: readonly Combination[] = (() => {
  const keyFormats = [CacheKeyFormat.UrlEncoded, CacheKeyFormat.Compact];
  const formats: Format[] = [new MsgpackFormat(), new JsonFormat()];
  const compressors: Compressor[] = [
    new PassthroughCompressor(),
    new GzipCompressor(),
    new BrotliCompressor(),
    new ZstdCompressor(),
  ];
  return keyFormats.flatMap((keyFormat) =>
    formats.flatMap((valueFormat) =>
      compressors.map((compressor) => ({
        name: `${keyFormat.name}/${valueFormat.name}/${compressor.name}`,
        keyFormat,
        valueFormat,
        compressor,
      })),
    ),
  );
})();

export interface ConformanceTarget {
  /** Suite title, e.g. `single node`. */
  readonly title: string;
  /** A builder already connected to the target (connection or client set). */
  builder(): RedisBackendBuilder;
  /** A client for the target, to inspect and tamper with keys behind the backend's back. */
  admin(): Redis | Cluster;
  /** Subscribes to expired-key events of the node owning `redisKey` and resolves when it expires. */
  awaitExpiry(redisKey: string | Buffer): Promise<void>;
  /** Stops what the target started; called once the suite is done. */
  teardown(): Promise<void>;
}

const EXPIRE_TOLERANCE_MS = 50;
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte));

let keyCounter = 0;

/** Registers the conformance suite for `target` and runs it. */
export function runConformance(target: ConformanceTarget): void {
  const test = suite(`conformance: ${target.title}`);
  const backends: RedisBackend[] = [];

  test.after(async () => {
    await Promise.all(backends.map((backend) => backend.close()));
    await target.teardown();
  });

  for (const combo of combinations) {
    const backend = (): RedisBackend => {
      const created = target
        .builder()
        .keyFormat(combo.keyFormat)
        .valueFormat(combo.valueFormat)
        .compressor(combo.compressor)
        .build();
      backends.push(created);
      return created;
    };
    const freshKey = (parts: { key: string; value?: string }[] = []): CacheKey =>
      new CacheKey(`conf-${combo.name}`, 1, [{ key: 'n', value: String(++keyCounter) }, ...parts]);
    const redisKey = (key: CacheKey): string | Buffer => combo.keyFormat.encode(key);

    test(`${combo.name}: raw round trip of all 256 byte values, and of zero bytes`, async () => {
      const b = backend();
      const key = freshKey([{ key: 'path', value: '/bytes ü' }, { key: 'flag' }]);
      await b.write(key, new CacheValue(ALL_BYTES));
      const read = await b.read(key);
      assert.ok(read);
      assert.equal(Buffer.compare(read.data, ALL_BYTES), 0);
      assert.is(read.expire, null);
      assert.is(read.stale, null);

      const empty = freshKey();
      await b.write(empty, new CacheValue(Buffer.alloc(0)));
      assert.equal((await b.read(empty))?.data.length, 0);
    });

    test(`${combo.name}: typed round trip through format and compressor`, async () => {
      const b = backend();
      const key = freshKey();
      const value = { text: 'héllo ✓ \u0000 end', n: 42.5, list: [1, 2, 3], nested: { none: null, yes: true }, bytes: Array.from(ALL_BYTES) };
      await b.set(key, new CacheValue(value));
      const got = await b.get<typeof value>(key);
      assert.ok(got);
      assert.equal(got.data, value);
      // What is stored is the compressor's output of the format's bytes, not the plain value.
      const stored = await target.admin().hgetBuffer(redisKey(key), 'd');
      assert.ok(stored);
      assert.equal(combo.valueFormat.deserialize(combo.compressor.decompress(stored)), value);
    });

    test(`${combo.name}: expire comes back within ${EXPIRE_TOLERANCE_MS} ms, stale exact to the millisecond`, async () => {
      const b = backend();
      const key = freshKey();
      const now = Date.now();
      const expire = new Date(now + 60_000);
      const stale = new Date(now + 30_123);
      await b.set(key, new CacheValue('v', expire, stale));
      const got = await b.get<string>(key);
      assert.ok(got?.expire);
      assert.ok(Math.abs(got.expire.getTime() - expire.getTime()) <= EXPIRE_TOLERANCE_MS, `expire off by ${got.expire.getTime() - expire.getTime()} ms`);
      assert.is(got.stale?.getTime(), stale.getTime());
      const pttl = await target.admin().pttl(redisKey(key));
      // The TTL was measured when the write was sent: what is left of it now is at least what is left
      // until expire (less a millisecond of rounding), however long the round trips took on a busy machine.
      const left = expire.getTime() - Date.now();
      assert.ok(pttl >= left - 1 && pttl <= 60_000, `PTTL ${pttl}, ${left} ms left until expire`);
    });

    test(`${combo.name}: overwrite replaces the whole entry: old stale field and old TTL are gone`, async () => {
      const b = backend();
      const admin = target.admin();
      const key = freshKey();
      const now = Date.now();
      await b.set(key, new CacheValue('first', new Date(now + 60_000), new Date(now + 1_000)));

      // Drops stale, keeps a (new, shorter) TTL.
      await b.set(key, new CacheValue('second', new Date(now + 20_000)));
      let got = await b.get<string>(key);
      assert.is(got?.data, 'second');
      assert.is(got?.stale, null);
      assert.equal((await admin.hkeys(redisKey(key))).sort(), ['d']);
      const pttl = await admin.pttl(redisKey(key));
      assert.ok(pttl > 19_000 && pttl <= 20_000, `PTTL ${pttl}`);

      // Drops the TTL: an entry without expire must not inherit the old one.
      await b.set(key, new CacheValue('third', null, new Date(now + 5_000)));
      got = await b.get<string>(key);
      assert.is(got?.data, 'third');
      assert.is(got?.expire, null);
      assert.is(got?.stale?.getTime(), now + 5_000);
      assert.is(await admin.pttl(redisKey(key)), -1);
      assert.equal((await admin.hkeys(redisKey(key))).sort(), ['d', 's']);

      // Fields no backend writes do not survive an overwrite either.
      await admin.hset(redisKey(key), 'extra', 'x');
      await b.set(key, new CacheValue('fourth'));
      assert.equal(await admin.hkeys(redisKey(key)), ['d']);
    });

    test(`${combo.name}: an expire that is not in the future stores nothing and removes the old entry`, async () => {
      const b = backend();
      const key = freshKey();
      await b.set(key, new CacheValue('present'));
      await b.set(key, new CacheValue('late', new Date(Date.now() - 1)));
      assert.is(await b.get(key), null);
      assert.is(await target.admin().exists(redisKey(key)), 0);
      await b.set(key, new CacheValue('now', new Date(Date.now())));
      assert.is(await target.admin().exists(redisKey(key)), 0);
    });

    test(`${combo.name}: an entry written with a 300 ms TTL really expires`, async () => {
      const b = backend();
      const key = freshKey();
      const written = Date.now();
      const expired = target.awaitExpiry(redisKey(key));
      await b.set(key, new CacheValue('short-lived', new Date(written + 300)));
      const before = await b.get<string>(key);
      assert.is(before?.data, 'short-lived');
      assert.ok((before?.ttl() ?? 0) > 200);
      await expired;
      assert.ok(Date.now() - written >= 290, `expired after ${Date.now() - written} ms`);
      assert.is(await b.get(key), null);
      assert.is(await b.read(key), null);
    });

    test(`${combo.name}: remove of a present and of a missing key`, async () => {
      const b = backend();
      const key = freshKey();
      await b.set(key, new CacheValue(1));
      assert.equal(await b.remove(key), { kind: 'deleted', count: 1 });
      assert.is(await b.get(key), null);
      assert.equal(await b.delete(key), { kind: 'missing' });
      assert.equal(await b.remove(freshKey()), { kind: 'missing' });
    });

    test(`${combo.name}: foreign data is refused and left untouched`, async () => {
      const b = backend();
      const admin = target.admin();
      const listKey = freshKey();
      await admin.rpush(redisKey(listKey), 'a', 'b');
      const hashKey = freshKey();
      await admin.hset(redisKey(hashKey), 'other', 'x');
      for (const key of [listKey, hashKey]) {
        for (const attempt of [() => b.get(key), () => b.set(key, new CacheValue('x')), () => b.remove(key)]) {
          const error = await attempt().then(
            () => null,
            (e: unknown) => e,
          );
          assert.instance(error, ForeignDataError);
          assert.ok((error as ForeignDataError).message.includes(key.toString()), (error as Error).message);
        }
      }
      assert.equal(await admin.lrange(redisKey(listKey), 0, -1), ['a', 'b']);
      assert.equal(await admin.hgetall(redisKey(hashKey)), { other: 'x' });
    });

    test(`${combo.name}: an overwrite of any shape leaves exactly the new fields, values and TTL`, async () => {
      const b = backend();
      const admin = target.admin();
      // What an earlier entry may hold: d, maybe s, maybe fields no backend writes, maybe a TTL.
      const olds: ({ fields: Record<string, string>; ttl: boolean } | null)[] = [null];
      for (const extra of [[], ['x'], ['x', 'y', 'z']]) {
        for (const stale of [false, true]) {
          for (const ttl of [false, true]) {
            const fields: Record<string, string> = { d: 'old data' };
            if (stale) fields.s = '1000';
            for (const name of extra) fields[name] = 'old';
            olds.push({ fields, ttl });
          }
        }
      }
      for (const old of olds) {
        for (const withStale of [false, true]) {
          for (const withExpire of [false, true]) {
            const key = freshKey();
            const at = redisKey(key);
            const shape = `${JSON.stringify(old)} <- stale ${withStale}, expire ${withExpire}`;
            if (old) {
              await admin.hset(at, old.fields);
              if (old.ttl) await admin.pexpire(at, 90_000);
            }
            const now = Date.now();
            const stale = withStale ? new Date(now + 5_000) : null;
            await b.set(key, new CacheValue(shape, withExpire ? new Date(now + 30_000) : null, stale));
            assert.equal((await admin.hkeys(at)).sort(), withStale ? ['d', 's'] : ['d'], shape);
            const got = await b.get<string>(key);
            assert.is(got?.data, shape, shape);
            assert.is(got?.stale?.getTime() ?? null, stale?.getTime() ?? null, shape);
            const pttl = await admin.pttl(at);
            if (withExpire) assert.ok(pttl > 29_000 && pttl <= 30_000, `${shape}: PTTL ${pttl}`);
            else assert.is(pttl, -1, shape);
          }
        }
      }
    });

    test(`${combo.name}: foreign data is refused untouched by every kind of write, one that removes included`, async () => {
      const b = backend();
      const admin = target.admin();
      const foreign: [string, (at: string | Buffer) => Promise<unknown>][] = [
        ['hash without field d', (at) => admin.hset(at, { s: '1000' })],
        ['hash without field d', (at) => admin.hset(at, { s: '1000', x: 'y' })],
        ['hash without field d', (at) => admin.hset(at, Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}`, 'v'])))],
        ['string', (at) => admin.set(at, 'text')],
        ['set', (at) => admin.sadd(at, 'd', 's')],
        ['zset', (at) => admin.zadd(at, 1, 'd')],
      ];
      for (const [holds, create] of foreign) {
        for (const ttl of [false, true]) {
          const key = freshKey();
          const at = redisKey(key);
          await create(at);
          if (ttl) await admin.pexpire(at, 90_000);
          // A write checks a hash by setting field d and removing it again: the hash's fields are restored
          // exactly, but not always its encoding (a large value turns a listpack into a hashtable for good).
          const contents = async () => ((await admin.type(at)) === 'hash' ? JSON.stringify(Object.entries(await admin.hgetall(at)).sort()) : (await admin.dumpBuffer(at)).toString('hex'));
          const before = { contents: await contents(), expireAt: await admin.pexpiretime(at) };
          const now = Date.now();
          const writes = [
            new CacheValue('x'),
            new CacheValue('x'.repeat(200), new Date(now + 30_000), new Date(now + 5_000)),
            new CacheValue('x', null, new Date(now + 5_000)),
            new CacheValue('x', new Date(now + 30_000)),
            new CacheValue('x', new Date(now + 30_000), new Date(now + 5_000)),
            new CacheValue('x', new Date(now - 1)),
            new CacheValue('x', new Date(now - 1), new Date(now - 2)),
          ];
          for (const attempt of [...writes.map((value) => () => b.set(key, value)), () => b.remove(key)]) {
            const error = await attempt().then(
              () => null,
              (e: unknown) => e,
            );
            assert.instance(error, ForeignDataError, `${holds}: ${String(error)}`);
            assert.ok((error as Error).message.includes(holds === 'hash without field d' ? 'a hash without field d' : `a ${holds}, not a cache entry`), (error as Error).message);
          }
          assert.is(await contents(), before.contents, `${holds}: changed`);
          assert.is(await admin.pexpiretime(at), before.expireAt, holds);
        }
      }
    });

    test(`${combo.name}: hundreds of concurrent callers share one backend`, async () => {
      const b = backend();
      const keys = Array.from({ length: 300 }, (_, i) => freshKey([{ key: 'i', value: String(i) }]));
      await Promise.all(keys.map((key, i) => b.set(key, new CacheValue({ i }, new Date(Date.now() + 60_000)))));
      const values = await Promise.all(keys.map((key) => b.get<{ i: number }>(key)));
      values.forEach((value, i) => assert.is(value?.data.i, i));
      const removed = await Promise.all(keys.map((key) => b.remove(key)));
      assert.ok(removed.every((status) => status.kind === 'deleted'));
    });
  }

  test.run();
}
