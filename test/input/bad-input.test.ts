// @drivers ioredis node-redis
/** Bad input end to end: odd keys, odd and oversized values, odd times, and entries corrupted behind the backend's back. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import {
  CacheKey,
  CacheKeyFormat,
  CacheValue,
  CompressionError,
  ConnectionMode,
  ForeignDataError,
  FormatError,
  GzipCompressor,
  InvalidKeyError,
  InvalidValueError,
  JsonFormat,
  ZstdCompressor,
  type RedisBackend,
  type RedisBackendBuilder,
} from '../../src/index.js';
import { builder as driverBuilder } from '../helpers/driver.js';
import { commandCalls, startRedis, type RedisUnderTest } from '../helpers/redis.js';
import { rejection } from '../helpers/settle.js';

const test = suite('bad input');
let redis: RedisUnderTest;

test.before(async () => {
  redis = await startRedis({ args: ['--proto-max-bulk-len', '2mb'] });
});

test.after(async () => {
  await redis.stop();
});

const builder = (): RedisBackendBuilder => driverBuilder().connection(ConnectionMode.single(redis.url));

test('odd keys round-trip in both formats and never collide', async () => {
  const keys = [
    new CacheKey('', 0, []),
    new CacheKey('', 0, [{ key: '' }]),
    new CacheKey('', 0, [{ key: '', value: '' }]),
    new CacheKey('ünï©ødé ✓ 😀', 7, [{ key: 'ключ', value: '値 with spaces' }]),
    new CacheKey('p', 1, [{ key: 'q', value: '%&=+?#/\\\'"{}[]<>\u0000\n' }]),
    new CacheKey('p', 1, [{ key: 'q%26', value: 'x' }]),
    new CacheKey('p', 1, [{ key: 'q&', value: 'x' }]),
    new CacheKey('long', 1, [{ key: 'v', value: 'k'.repeat(100_000) }]),
  ];
  for (const format of [CacheKeyFormat.UrlEncoded, CacheKeyFormat.Compact]) {
    const backend = builder().keyFormat(format).build();
    await Promise.all(keys.map((key, i) => backend.set(key, new CacheValue({ i }))));
    const values = await Promise.all(keys.map((key) => backend.get<{ i: number }>(key)));
    const expected = keys.map((_, i) => i);
    // In UrlEncoded an absent and an empty part value are one key, as in hitbox: the later write wins.
    if (format === CacheKeyFormat.UrlEncoded) expected[1] = 2;
    assert.equal(values.map((value) => value?.data.i), expected, format.name);
    await backend.close();
  }
});

test('a part key named _prefix or _version is refused, not silently merged', () => {
  for (const reserved of ['_prefix', '_version']) {
    assert.throws(
      () => new CacheKey('api', 1, [{ key: reserved, value: 'x' }]),
      (error: unknown) => error instanceof InvalidKeyError && (error as Error).message.includes(reserved),
    );
  }
  assert.throws(() => new CacheKey('api', 1, [{ key: 42 as unknown as string }]), (e: unknown) => e instanceof InvalidKeyError);
});

test('values: several megabytes round-trip; more than maxValueBytes is refused before anything is sent', async () => {
  const backend = builder().maxValueBytes(2 * 1024 * 1024).build();
  const key = new CacheKey('values', 1, [{ key: 'big' }]);
  const big = Buffer.alloc(2 * 1024 * 1024 - 1, 7);
  await backend.write(key, new CacheValue(big));
  assert.equal((await backend.read(key))?.data.length, big.length);

  const before = await commandCalls(redis.admin);
  const error = await rejection(backend.write(key, new CacheValue(Buffer.alloc(2 * 1024 * 1024 + 1))));
  assert.instance(error, InvalidValueError);
  assert.match(error.message, /write of key _prefix=values&_version=1&big= failed: data is 2097153 bytes, more than maxValueBytes \(2097152\); nothing was sent/);
  const after = await commandCalls(redis.admin);
  assert.is(after.evalsha ?? 0, (before.evalsha ?? 0), 'no script call was sent');
  // The connection is still fine, and the old entry is whole.
  assert.equal((await backend.read(key))?.data.length, big.length);
  await backend.close();
});

test('times: a stale after the expire is kept as given; an expire at the largest Date is stored', async () => {
  const backend = builder().build();
  const key = new CacheKey('times', 1, [{ key: 'k' }]);
  const now = Date.now();
  await backend.set(key, new CacheValue('v', new Date(now + 10_000), new Date(now + 20_000)));
  const read = await backend.get(key);
  assert.is(read?.stale?.getTime(), now + 20_000);
  assert.is(read?.cacheState(new Date(now + 5_000)), 'actual');
  assert.is(read?.cacheState(new Date(now + 10_100)), 'expired');

  await backend.set(key, new CacheValue('far', new Date(8.64e15)));
  const far = await backend.get(key);
  assert.is(far?.expire?.getTime(), 8.64e15);
  assert.ok((await redis.admin.pttl(String(key))) > 8e15);
  await backend.close();
});

test('corrupted entries: bytes the format or the compressor cannot read give a typed error naming the key', async () => {
  const cases: { name: string; backend: RedisBackend; bytes: Buffer; error: new (...args: never[]) => Error }[] = [
    { name: 'msgpack', backend: builder().build(), bytes: Buffer.from([0xc1]), error: FormatError },
    { name: 'msgpack-trailing', backend: builder().build(), bytes: Buffer.from([0x01, 0x02]), error: FormatError },
    { name: 'json', backend: builder().valueFormat(new JsonFormat()).build(), bytes: Buffer.from('{"a":'), error: FormatError },
    { name: 'gzip', backend: builder().compressor(new GzipCompressor()).build(), bytes: new GzipCompressor().compress(Buffer.from('x'.repeat(1000))).subarray(0, 12), error: CompressionError },
    { name: 'zstd', backend: builder().compressor(new ZstdCompressor()).build(), bytes: new ZstdCompressor().compress(Buffer.from('y'.repeat(1000))).subarray(0, 9), error: CompressionError },
  ];
  for (const { name, backend, bytes, error } of cases) {
    const key = new CacheKey('corrupt', 1, [{ key: 'case', value: name }]);
    await redis.admin.hset(String(key), 'd', bytes);
    const failure = await rejection(backend.get(key));
    assert.instance(failure, error, `${name}: ${failure.message}`);
    assert.ok(failure.message.includes(`get of key ${key}`), failure.message);
    await backend.close();
  }

  // Field s as hitbox and this backend write it: decimal digits. What Lua's tonumber would also take
  // (fractions, hex, blanks, exponents, inf, nan) or a Date cannot hold is foreign, never a wrong stale time.
  const backend = builder().build();
  for (const stale of ['soon', '1.5', '0x10', ' 42 ', '1e3', 'inf', 'nan', '-', '8640000000000001', '99999999999999999999']) {
    const key = new CacheKey('corrupt', 1, [{ key: 'stale', value: stale }]);
    await redis.admin.hset(String(key), 'd', 'x', 's', stale);
    const failure = await rejection(backend.read(key));
    assert.instance(failure, ForeignDataError, `s = ${JSON.stringify(stale)}`);
    assert.match(failure.message, /field s of the entry is not an integer time in epoch milliseconds/);
  }
  const edge = new CacheKey('corrupt', 1, [{ key: 'stale', value: 'largest' }]);
  await redis.admin.hset(String(edge), 'd', 'x', 's', '-8640000000000000');
  assert.is((await backend.read(edge))?.stale?.getTime(), -8.64e15, 'the earliest Date is a valid stale time');
  await backend.close();
});

test.run();
