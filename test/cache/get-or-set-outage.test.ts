// @drivers ioredis node-redis
/**
 * getOrSet when Redis is out of reach: nothing listening, a server that accepts connections and never
 * answers, and a server that dies between calls and comes back. The cache is an optimisation: the caller
 * gets the factory's value within connectionTimeout plus the factory's time, and the failure goes to the
 * error listener as a ConnectionError, never to the caller.
 */
import { createServer, type Socket } from 'node:net';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { type BackendError, CacheKey, ConnectionError, ConnectionMode, type RedisBackend } from '../../src/index.js';
import { builder, DRIVER } from '../helpers/driver.js';
import { freePort, startRedis, type RedisUnderTest } from '../helpers/redis.js';
import { eventually } from '../helpers/settle.js';

const CONNECTION_TIMEOUT_MS = 300;
const FACTORY_MS = 50;
// Scheduling and the failed connection attempt itself; far below a second connectionTimeout.
const SLACK_MS = 250;
const BOUND_MS = CONNECTION_TIMEOUT_MS + FACTORY_MS + SLACK_MS;

const test = suite(`getOrSet through an outage, ${DRIVER}`);
const unhandled: unknown[] = [];
const onUnhandled = (error: unknown): void => void unhandled.push(error);
const open: RedisBackend[] = [];
let redis: RedisUnderTest | undefined;

test.before(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  // The node-redis driver's module is imported on a backend's first call, a one-time cost (and a slow one
  // when tsx transpiles it) that the bound below is not about.
  if (DRIVER === 'node-redis') await import('../../src/node-redis/driver.js');
});

test.after(async () => {
  for (const backend of open) await backend.close();
  await redis?.stop();
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
});

test.after.each(() => {
  assert.equal(unhandled, [], 'no unhandled rejection or uncaught exception anywhere in the process');
});

/** A backend on `url` with a short connectionTimeout, and what its error listener received. */
function backendOn(url: string): { backend: RedisBackend; reported: BackendError[] } {
  const reported: BackendError[] = [];
  const backend = builder()
    .connection(ConnectionMode.single(url))
    .connectionTimeout(CONNECTION_TIMEOUT_MS)
    .onError((error) => void reported.push(error))
    .build();
  open.push(backend);
  return { backend, reported };
}

/** A factory that takes FACTORY_MS and counts its calls. */
function slowFactory(value: string) {
  const source = {
    calls: 0,
    factory: async (): Promise<string> => {
      source.calls++;
      await new Promise((resolve) => setTimeout(resolve, FACTORY_MS));
      return value;
    },
  };
  return source;
}

/** One getOrSet that must answer the factory's value within the bound, with the failure reported, not thrown. */
async function ridesOut(backend: RedisBackend, reported: BackendError[], key: CacheKey, value: string, what: string): Promise<void> {
  const source = slowFactory(value);
  const reportsBefore = reported.length;
  const started = Date.now();
  const result = await backend.getOrSet(key, source.factory, { ttl: 60_000 });
  const elapsed = Date.now() - started;
  assert.is(result, value, `${what}: the factory's value`);
  assert.is(source.calls, 1, `${what}: the factory ran once`);
  assert.ok(elapsed <= BOUND_MS, `${what}: answered in ${elapsed} ms, more than connectionTimeout + factory + ${SLACK_MS} ms`);
  assert.ok(elapsed >= FACTORY_MS - 2, `${what}: answered in ${elapsed} ms, faster than the factory`);
  const reports = reported.slice(reportsBefore);
  assert.is(reports.length, 1, `${what}: one failure reported, got ${reports.map(String).join('; ')}`);
  assert.instance(reports[0], ConnectionError, `${what}: ${reports[0]}`);
  assert.is(reports[0]?.operation, 'getOrSet');
  assert.is(reports[0]?.key, key.toString());
}

const key = (name: string): CacheKey => new CacheKey('outage', 1, [{ key: name }]);

test('nothing listening: every call answers the factory value in bounded time, the ConnectionError goes to onError', async () => {
  const { backend, reported } = backendOn(`redis://127.0.0.1:${await freePort()}`);
  for (let i = 0; i < 3; i++) await ridesOut(backend, reported, key('refused'), `value ${i}`, `call ${i + 1}`);

  // Concurrent callers still share one flight, hence one factory call, when Redis is down.
  const source = slowFactory('shared');
  const values = await Promise.all(Array.from({ length: 20 }, () => backend.getOrSet(key('refused-burst'), source.factory, { ttl: 60_000 })));
  assert.ok(values.every((value) => value === 'shared'));
  assert.is(source.calls, 1);
  assert.equal(backend.pendingWork(), { flights: 0, refreshes: 0, factories: 0 });
});

test('a server that accepts connections and never answers: bounded by connectionTimeout, reported, not thrown', async () => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const address = silent.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const { backend, reported } = backendOn(`redis://127.0.0.1:${address.port}`);
    for (let i = 0; i < 2; i++) await ridesOut(backend, reported, key('silent'), `value ${i}`, `call ${i + 1}`);
    assert.equal(backend.pendingWork(), { flights: 0, refreshes: 0, factories: 0 });
    await backend.close();
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

test('a server that dies between calls: the factory value in bounded time, reported; stored again once it is back', async () => {
  redis = await startRedis();
  const port = redis.port;
  const { backend, reported } = backendOn(redis.url);
  const cached = key('dies');
  const first = slowFactory('stored');
  assert.is(await backend.getOrSet(cached, first.factory, { ttl: 60_000 }), 'stored');
  assert.is(await backend.getOrSet(cached, first.factory, { ttl: 60_000 }), 'stored', 'a fresh hit while the server lives');
  assert.is(first.calls, 1);
  assert.equal(reported, []);

  await redis.kill();
  // The entry is out of reach with its server: each call computes the value.
  for (let i = 0; i < 3; i++) await ridesOut(backend, reported, cached, `while down ${i}`, `call ${i + 1} after the crash`);

  redis = await startRedis({ port });
  const back = key('back');
  await eventually(async () => {
    await backend.getOrSet(back, async () => 'after the restart', { ttl: 60_000 });
    if ((await redis!.admin.exists(back.toString())) !== 1) throw new Error('not stored yet');
  }, 10_000);
  const after = slowFactory('never');
  assert.is(await backend.getOrSet(back, after.factory, { ttl: 60_000 }), 'after the restart', 'served from Redis again');
  assert.is(after.calls, 0);
  assert.equal(backend.pendingWork(), { flights: 0, refreshes: 0, factories: 0 });
});

test.run();
