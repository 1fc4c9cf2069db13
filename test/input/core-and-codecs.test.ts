/** Pure parts, no Redis: key encoding, values, formats, compressors, connection URLs, builder checks. */
import { inspect } from 'node:util';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import {
  BrotliCompressor,
  CacheKey,
  CacheKeyFormat,
  CacheValue,
  ConfigurationError,
  ConnectionMode,
  GzipCompressor,
  InvalidKeyError,
  JsonFormat,
  MissingConnectionModeError,
  MsgpackFormat,
  RedisBackend,
  ZstdCompressor,
  type KeyPart,
} from '../../src/index.js';

test('UrlEncoded produces the bytes hitbox produces', () => {
  const key = new CacheKey('api', 1, [
    { key: 'method', value: 'GET' },
    { key: 'path', value: '/users/123' },
    { key: 'flag' },
  ]);
  assert.is(CacheKeyFormat.UrlEncoded.encode(key), '_prefix=api&_version=1&method=GET&path=%2Fusers%2F123&flag=');
});

test('UrlEncoded follows form_urlencoded byte for byte', () => {
  const key = new CacheKey('p x', 4294967295, [
    { key: 'q', value: "a b!'()~*-._é✓&=+%" },
    { key: '', value: '' },
    { key: '😀' },
  ]);
  assert.is(
    String(key),
    "_prefix=p+x&_version=4294967295&q=a+b%21%27%28%29%7E*-._%C3%A9%E2%9C%93%26%3D%2B%25&=&%F0%9F%98%80=",
  );
});

test('CacheKey refuses a version that is not a u32', () => {
  for (const version of [-1, 1.5, 2 ** 32, Number.NaN]) {
    assert.throws(() => new CacheKey('p', version, []), (e: unknown) => e instanceof InvalidKeyError);
  }
});

test('CacheKey refuses a sparse parts array, as any part that is not one', () => {
  const sparse = [, { key: 'a' }] as KeyPart[];
  assert.throws(() => new CacheKey('p', 1, sparse), (e: unknown) => e instanceof InvalidKeyError && /part key must be a string/.test((e as Error).message));
});

test('CacheKey is immutable: changing the parts given to it afterwards changes neither format', () => {
  const parts = [{ key: 'path', value: '/a' }];
  const key = new CacheKey('api', 1, parts);
  const urlEncoded = String(key);
  const compact = CacheKeyFormat.Compact.encode(key);
  parts[0]!.value = '/b';
  parts.push({ key: '_prefix', value: 'other' });
  assert.is(String(key), urlEncoded);
  assert.equal(CacheKeyFormat.Compact.encode(key), compact);
  assert.equal(key.parts, [{ key: 'path', value: '/a' }]);
});

test('a lone surrogate is an InvalidKeyError in both formats', () => {
  const key = new CacheKey('p', 1, [{ key: 'bad', value: '\ud800' }]);
  for (const format of [CacheKeyFormat.UrlEncoded, CacheKeyFormat.Compact]) {
    assert.throws(() => format.encode(key), (e: unknown) => e instanceof InvalidKeyError);
  }
});

test('Compact is shorter, starts with its marker and keeps distinct keys distinct', () => {
  const keys = [
    new CacheKey('api', 1, [{ key: 'flag' }]),
    new CacheKey('api', 1, [{ key: 'flag', value: '' }]),
    new CacheKey('api', 1, [{ key: 'a', value: '1' }, { key: 'b', value: '2' }]),
    new CacheKey('api', 1, [{ key: 'b', value: '2' }, { key: 'a', value: '1' }]),
    new CacheKey('api', 1, [{ key: 'a', value: '1' }, { key: 'a', value: '1' }]),
    new CacheKey('api', 1, [{ key: 'a', value: '1' }]),
    new CacheKey('api', 2, [{ key: 'a', value: '1' }]),
    new CacheKey('ap', 1, [{ key: 'ia', value: '1' }]),
    new CacheKey('api', 1, [{ key: 'a1' }]),
    new CacheKey('api', 300, [{ key: 'é', value: 'x'.repeat(200) }]),
  ];
  const encoded = keys.map((key) => CacheKeyFormat.Compact.encode(key) as string);
  assert.is(new Set(encoded).size, keys.length);
  for (const [i, text] of encoded.entries()) {
    assert.is(text[0], '\u0001');
    assert.ok(Buffer.byteLength(text) < String(keys[i]).length);
  }
  // Pinned layout, as documented in key-format.ts: marker, version 1, 3 'api', 4 'flag', 0 (no value).
  assert.is(encoded[0], '\u0001\u0001\u0003api\u0004flag\u0000');
  // Lengths of 64 and more take more digits: 200 + 1 = 9 + 3 * 64 -> chars 64 + 9, then 3.
  assert.ok(encoded[9]?.endsWith(`\u0001é${String.fromCharCode(73, 3)}${'x'.repeat(200)}`));
});

test('Compact: versions up to 2^32-1 and long texts', () => {
  const key = new CacheKey('big', 4294967295, [{ key: 'v', value: 'é'.repeat(100_000) }]);
  const encoded = CacheKeyFormat.Compact.encode(key) as string;
  // 2^32-1 is 6 digits of 6 bits (the last holding 2 bits): five continuation digits of 63, then 3.
  assert.is(encoded.slice(1, 7), `${String.fromCharCode(127).repeat(5)}\u0003`);
  assert.is(encoded.length, 1 + 6 + 1 + 3 + 1 + 1 + 3 + 100_000);
});

test('CacheValue: ttl and cacheState', () => {
  const now = Date.now();
  const value = new CacheValue('x', new Date(now + 10_000), new Date(now + 5_000));
  assert.is(value.ttl(now), 10_000);
  assert.is(value.cacheState(new Date(now)), 'actual');
  assert.is(value.cacheState(new Date(now + 5_000)), 'stale');
  assert.is(value.cacheState(new Date(now + 10_000)), 'expired');
  assert.is(value.ttl(now + 20_000), 0);
  const forever = new CacheValue('x');
  assert.is(forever.ttl(), null);
  assert.is(forever.cacheState(new Date(now + 1e12)), 'actual');
});

test('MsgpackFormat keeps Buffers and Dates; JsonFormat refuses what JSON cannot hold', () => {
  const msgpack = new MsgpackFormat();
  const value = { b: Buffer.from([0, 255]), d: new Date(1_700_000_000_123), s: 'x' };
  const back = msgpack.deserialize(msgpack.serialize(value)) as typeof value;
  assert.equal(Buffer.from(back.b), value.b);
  assert.is(back.d.getTime(), value.d.getTime());
  const json = new JsonFormat();
  assert.is(json.serialize({ a: 1 }).toString(), '{"a":1}');
  assert.throws(() => json.serialize(undefined));
  assert.throws(() => json.deserialize(Buffer.from('{not json')));
});

test('MsgpackFormat decodes views of a shared chunk, as replies from a socket are, each from its own bytes only', () => {
  const msgpack = new MsgpackFormat();
  // Long strings too: msgpackr decodes those with its native extractor, which reads the memory by offset.
  const values = [{ a: 1, s: 'x'.repeat(40) }, 'second', [1, 2, 3], Buffer.from([9, 8, 7]), 42, 'é✓'.repeat(500), { long: 'long '.repeat(3000) }];
  // One chunk holding the packed values one after the other, with bytes before the first: each view
  // starts at an offset into memory that holds other values too.
  const packed = values.map((value) => msgpack.serialize(value));
  const chunk = Buffer.concat([Buffer.from([0x92, 0x01]), ...packed]);
  const views: Buffer[] = [];
  let offset = 2;
  for (const bytes of packed) {
    views.push(chunk.subarray(offset, offset + bytes.length));
    offset += bytes.length;
  }
  // Twice, out of order: the decoder's cached view of the chunk must not leak one value into another.
  for (const index of [0, 1, 2, 3, 4, 5, 6, 4, 6, 2, 0, 5, 3, 1]) {
    const back = msgpack.deserialize(views[index]!);
    assert.equal(Buffer.isBuffer(back) ? Buffer.from(back) : back, values[index], `value ${index}`);
  }
  // A view cut short fails even though the chunk holds the rest of its bytes right after it.
  const cut = views[0]!.subarray(0, views[0]!.length - 5);
  assert.throws(() => msgpack.deserialize(cut));
  // A view that ends within the chunk decodes its first value only if that value fills it exactly.
  const two = chunk.subarray(2, 2 + packed[0]!.length + packed[1]!.length);
  assert.throws(() => msgpack.deserialize(two));
  // Empty bytes at the very start of memory that holds a value are empty, not that value.
  const memory = new Uint8Array(packed[4]!).buffer;
  assert.throws(() => msgpack.deserialize(Buffer.from(memory, 0, 0)));
  assert.throws(() => msgpack.deserialize(chunk.subarray(2, 2)));
});

test('compressors write their standard frames and round-trip', () => {
  const data = Buffer.from('cache '.repeat(1000));
  const gzip = new GzipCompressor().compress(data);
  assert.equal([...gzip.subarray(0, 2)], [0x1f, 0x8b]);
  assert.ok(gzip.length < data.length / 10);
  const zstd = new ZstdCompressor();
  const frame = zstd.compress(data);
  assert.equal([...frame.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]);
  assert.equal(zstd.decompress(frame), data);
  const brotli = new BrotliCompressor();
  assert.equal(brotli.decompress(brotli.compress(data)), data);
  assert.throws(() => zstd.decompress(frame.subarray(0, frame.length - 3)));
});

test('compressors refuse an out-of-range level at construction, naming the range', () => {
  const refused: [string, () => unknown, RegExp][] = [
    ['gzip 42', () => new GzipCompressor(42), /GzipCompressor level must be an integer from -1 to 9.*got 42/],
    ['gzip -2', () => new GzipCompressor(-2), /from -1 to 9/],
    ['gzip 2.5', () => new GzipCompressor(2.5), /got 2\.5/],
    ['gzip NaN', () => new GzipCompressor(Number.NaN), /got NaN/],
    ['brotli 12', () => new BrotliCompressor(12), /BrotliCompressor quality must be an integer from 0 to 11, got 12/],
    ['brotli -1', () => new BrotliCompressor(-1), /from 0 to 11/],
    ['zstd 23', () => new ZstdCompressor(23), /ZstdCompressor level must be an integer from -131072 to 22.*got 23/],
    ['zstd -131073', () => new ZstdCompressor(-131073), /from -131072 to 22/],
  ];
  for (const [name, make, message] of refused) {
    let caught: unknown;
    try {
      make();
    } catch (error) {
      caught = error;
    }
    assert.instance(caught, ConfigurationError, `${name}: a ConfigurationError at construction`);
    assert.match((caught as Error).message, message, name);
  }
  const data = Buffer.from('edge '.repeat(100));
  for (const compressor of [new GzipCompressor(-1), new GzipCompressor(0), new GzipCompressor(9), new BrotliCompressor(0), new BrotliCompressor(11), new ZstdCompressor(-5), new ZstdCompressor(0), new ZstdCompressor(22)]) {
    assert.equal(compressor.decompress(compressor.compress(data)), data, `${compressor.name} at its bounds`);
  }
});

test('connection URLs: parsed, validated, and never shown with their password', () => {
  const mode = ConnectionMode.single('redis://alice:s3cr%40t@localhost:6380/2');
  assert.is(mode.describe(), 'redis://alice:***@localhost:6380/2');
  assert.not.ok(String(mode).includes('s3cr'));
  assert.not.ok(inspect(mode, { depth: 10, showHidden: true }).includes('s3cr'));
  assert.not.ok(inspect(ConnectionMode.cluster(['redis://:pw-123@h:1']), { depth: 10 }).includes('pw-123'));
  for (const bad of ['http://localhost', 'redis://localhost/notadb', 'not a url :pw-123@']) {
    assert.throws(
      () => ConnectionMode.single(bad),
      (e: unknown) => e instanceof ConfigurationError && !(e as Error).message.includes('pw-123'),
    );
  }
  assert.throws(() => ConnectionMode.cluster([]), (e: unknown) => e instanceof ConfigurationError);
  assert.throws(() => mode.exponentBase(0), (e: unknown) => e instanceof ConfigurationError);
});

test('builder: build() needs a connection; option values are checked', () => {
  assert.throws(() => RedisBackend.builder().build(), (e: unknown) => e instanceof MissingConnectionModeError);
  assert.throws(() => RedisBackend.builder().responseTimeout(0), (e: unknown) => e instanceof ConfigurationError);
  assert.throws(() => RedisBackend.builder().connectionTimeout(Number.NaN), (e: unknown) => e instanceof ConfigurationError);
  assert.throws(() => RedisBackend.builder().retries(-1), (e: unknown) => e instanceof ConfigurationError);
  const backend = RedisBackend.builder().connection(ConnectionMode.single('redis://localhost:1')).build();
  assert.is(backend.label(), 'redis');
  assert.is(backend.keyFormat(), CacheKeyFormat.UrlEncoded);
  assert.is(backend.valueFormat().name, 'msgpack');
  assert.is(backend.compressor().name, 'passthrough');
});

test.run();
