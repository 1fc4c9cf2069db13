// @drivers ioredis node-redis
/** Connection life cycle, credentials and errors of the backend, against real redis-server processes. */
import { createServer, type Socket } from 'node:net';

import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import {
  AuthenticationError,
  CacheKey,
  CacheValue,
  ConnectionError,
  ConnectionMode,
  InvalidValueError,
} from '../../src/index.js';
import { builder, singleClient } from '../helpers/driver.js';
import { freePort, infoField, startRedis, type RedisUnderTest } from '../helpers/redis.js';
import { eventually, rejection } from '../helpers/settle.js';

const test = suite('backend');
const PASSWORD = 'pa55-w0rd-never-shown';
let redis: RedisUnderTest;
let secured: RedisUnderTest;

test.before(async () => {
  [redis, secured] = await Promise.all([startRedis(), startRedis({ args: ['--requirepass', PASSWORD], adminPassword: PASSWORD })]);
});

test.after(async () => {
  await Promise.all([redis.stop(), secured.stop()]);
});

const key = (name: string): CacheKey => new CacheKey('backend-test', 1, [{ key: 'name', value: name }]);

test('build() does not connect; the first operations open one connection, shared by all', async () => {
  const before = await infoField(redis.admin, 'clients', 'connected_clients');
  const backend = builder().connection(ConnectionMode.single(redis.url)).build();
  assert.is(await infoField(redis.admin, 'clients', 'connected_clients'), before);
  await Promise.all(Array.from({ length: 200 }, (_, i) => backend.set(key(`lazy-${i}`), new CacheValue(i))));
  assert.is(await infoField(redis.admin, 'clients', 'connected_clients'), before + 1);
  await backend.close();
  // The server counts a closed connection once it has read the close: wait for that, with a deadline.
  await eventually(async () => assert.is(await infoField(redis.admin, 'clients', 'connected_clients'), before), 2_000);
});

test('an unreachable server rejects with ConnectionError, fast, and the next operation retries', async () => {
  const port = await freePort();
  const backend = builder()
    .connection(ConnectionMode.single(`redis://:${PASSWORD}@127.0.0.1:${port}`))
    .connectionTimeout(1_000)
    .build();
  const started = Date.now();
  const errors = await Promise.all([rejection(backend.get(key('a'))), rejection(backend.set(key('b'), new CacheValue(1)))]);
  assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
  for (const error of errors) {
    assert.instance(error, ConnectionError);
    assert.match(error.message, /could not connect to redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
    assert.match(error.message, /backend-test/);
    assert.not.match(error.message, PASSWORD);
  }
  // A server appears on that port: the failure was not cached.
  const late = await startRedis({ port, args: ['--requirepass', PASSWORD], adminPassword: PASSWORD });
  try {
    await backend.set(key('after'), new CacheValue('works'));
    assert.is((await backend.get<string>(key('after')))?.data, 'works');
  } finally {
    await backend.close();
    await late.stop();
  }
});

test('a server that accepts but never answers fails within the connection timeout', async () => {
  const sockets: Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as { port: number };
  const backend = builder().connection(ConnectionMode.single(`redis://127.0.0.1:${port}`)).connectionTimeout(300).build();
  const started = Date.now();
  const error = await rejection(backend.read(key('silent')));
  const elapsed = Date.now() - started;
  assert.instance(error, ConnectionError);
  assert.match(error.message, /no connection within 300 ms/);
  assert.ok(elapsed >= 290 && elapsed < 1_000, `took ${elapsed} ms`);
  await backend.close();
  sockets.forEach((socket) => socket.destroy());
  await new Promise((resolve) => silent.close(resolve));
});

test('credentials: from the URL or the builder; a wrong password is an AuthenticationError without it', async () => {
  const fromUrl = builder().connection(ConnectionMode.single(`redis://:${PASSWORD}@${secured.host}:${secured.port}`)).build();
  await fromUrl.set(key('auth'), new CacheValue('ok'));
  const fromBuilder = builder().connection(ConnectionMode.single(secured.url)).password(PASSWORD).build();
  assert.is((await fromBuilder.get<string>(key('auth')))?.data, 'ok');

  const wrong = builder().connection(ConnectionMode.single(secured.url)).password('wrong-secret-xyz').build();
  const error = await rejection(wrong.get(key('auth')));
  assert.instance(error, AuthenticationError);
  assert.ok(error instanceof ConnectionError, 'an AuthenticationError is a ConnectionError');
  assert.not.match(error.message, 'wrong-secret-xyz');
  assert.not.match(String(error.cause), 'wrong-secret-xyz');
  const none = builder().connection(ConnectionMode.single(secured.url)).build();
  assert.instance(await rejection(none.get(key('auth'))), AuthenticationError);
  await Promise.all([fromUrl.close(), fromBuilder.close(), wrong.close(), none.close()]);
});

test('the database number in the URL is used', async () => {
  const backend = builder().connection(ConnectionMode.single(`${redis.url}/3`)).build();
  await backend.set(key('db3'), new CacheValue('in db 3'));
  const db3 = new Redis({ host: redis.host, port: redis.port, db: 3 });
  assert.is(await db3.exists(String(key('db3'))), 1);
  assert.is(await redis.admin.exists(String(key('db3'))), 0);
  db3.disconnect();
  await backend.close();
});

test('a client given to the builder is used as is and left open by close()', async () => {
  const given = await singleClient(redis);
  const backend = builder().client(given.client).build();
  await backend.set(key('given'), new CacheValue('mine'));
  await backend.close();
  assert.ok(given.isOpen(), 'still open');
  assert.is(await redis.admin.exists(String(key('given'))), 1);
  await given.close();
});

test('after close(), operations reject with ConnectionError; close() twice is fine', async () => {
  const backend = builder().connection(ConnectionMode.single(redis.url)).build();
  await backend.set(key('closing'), new CacheValue(1));
  await backend.close();
  await backend.close();
  const error = await rejection(backend.get(key('closing')));
  assert.instance(error, ConnectionError);
  assert.match(error.message, /closed/);
});

test('await using closes the backend', async () => {
  const before = await infoField(redis.admin, 'clients', 'connected_clients');
  {
    await using backend = builder().connection(ConnectionMode.single(redis.url)).build();
    await backend.set(key('using'), new CacheValue(1));
    assert.is(await infoField(redis.admin, 'clients', 'connected_clients'), before + 1);
  }
  assert.is(await infoField(redis.admin, 'clients', 'connected_clients'), before);
});

test('invalid dates and non-Buffer data are refused before anything is sent', async () => {
  const backend = builder().connection(ConnectionMode.single(redis.url)).build();
  await backend.set(key('dates'), new CacheValue('kept'));
  for (const value of [
    new CacheValue('x', new Date(Number.NaN)),
    new CacheValue('x', null, new Date('not a date')),
  ]) {
    const error = await rejection(backend.set(key('dates'), value));
    assert.instance(error, InvalidValueError);
    assert.match(error.message, /set of key _prefix=backend-test&_version=1&name=dates failed: (expire|stale) is not a valid Date/);
  }
  const error = await rejection(backend.write(key('dates'), new CacheValue('text' as unknown as Buffer)));
  assert.instance(error, InvalidValueError);
  assert.is((await backend.get<string>(key('dates')))?.data, 'kept');
  await backend.close();
});

test.run();
