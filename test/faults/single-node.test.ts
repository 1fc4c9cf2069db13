// @drivers ioredis node-redis
/**
 * Faults against real redis-server processes: a crash and restart under load, a slow server, a network that
 * delays, blackholes or cuts connections (through a TCP fault proxy), a full server, and leaks. In every
 * case the caller gets a typed error in bounded time, the process sees no unhandled error, and the backend
 * recovers by itself.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import {
  BackendError,
  CacheKey,
  CacheValue,
  ConnectionError,
  ConnectionMode,
  type RedisBackend,
  ScriptError,
  TimeoutError,
} from '../../src/index.js';
import { builder } from '../helpers/driver.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { freePort, infoField, startRedis, type RedisUnderTest } from '../helpers/redis.js';
import { eventually, timed } from '../helpers/settle.js';

const test = suite('faults');
const unhandled: unknown[] = [];
const onUnhandled = (error: unknown): void => void unhandled.push(error);
let redis: RedisUnderTest;

test.before(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  redis = await startRedis({ args: ['--enable-debug-command', 'local'] });
});

test.after(async () => {
  await redis.stop();
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
});

test.after.each(() => {
  assert.equal(unhandled, [], 'no unhandled rejection or uncaught exception anywhere in the process');
});

const key = (name: string, i = 0): CacheKey => new CacheKey('faults', 1, [{ key: name, value: String(i) }]);

/** A load of concurrent reads and writes that records every outcome until stopped. */
function load(backend: RedisBackend, workers: number) {
  const errors: unknown[] = [];
  let ok = 0;
  let slowest = 0;
  let stopped = false;
  const waiters: (() => boolean)[] = [];
  const settle = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]?.()) waiters.splice(i, 1);
  };
  const loops = Array.from({ length: workers }, async (_, worker) => {
    for (let i = 0; !stopped; i++) {
      const k = key('load', (worker * 7 + i) % 200);
      const outcome = await timed(i % 2 === 0 ? backend.set(k, new CacheValue(i)) : backend.get(k));
      slowest = Math.max(slowest, outcome.ms);
      if (outcome.error === null) ok++;
      else errors.push(outcome.error);
      settle();
      // Failing calls reject at once: let the event loop breathe so the restart can happen.
      if (outcome.error !== null) await new Promise((resolve) => setImmediate(resolve));
    }
  });
  return {
    errors,
    get ok() {
      return ok;
    },
    get slowest() {
      return slowest;
    },
    /** Resolves when `condition` holds after some call settles. */
    until(condition: () => boolean): Promise<void> {
      return new Promise((resolve) => waiters.push(() => (condition() ? (resolve(), true) : false)));
    },
    async stop(): Promise<void> {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

test('killed under load and restarted on the same port: typed errors, bounded waits, recovery', async () => {
  const server = await startRedis();
  const backend = builder().connection(ConnectionMode.single(server.url)).responseTimeout(500).build();
  const running = load(backend, 64);
  await running.until(() => running.ok >= 2_000);
  await server.kill();
  await running.until(() => running.errors.length >= 200);
  const restarted = await startRedis({ port: server.port });
  assert.is(restarted.port, server.port);
  const failed = running.errors.length;
  await running.until(() => running.ok >= 2_000 + 4_000);
  await running.stop();

  assert.ok(failed >= 200);
  const untyped = running.errors.filter((error) => !(error instanceof ConnectionError));
  assert.equal(untyped, [], 'every failure is a ConnectionError');
  assert.ok(running.slowest < 500 + 250, `slowest call took ${running.slowest} ms (response timeout 500 ms)`);
  console.log(`  crash: ${running.errors.length} calls failed with ConnectionError, slowest call ${running.slowest} ms, recovered without recreating the backend`);
  await backend.close();
  await restarted.stop();
});

test('a slow server (DEBUG SLEEP, CLIENT PAUSE): TimeoutError after the response timeout, healthy afterwards', async () => {
  const backend = builder().connection(ConnectionMode.single(redis.url)).responseTimeout(150).build();
  await backend.set(key('slow'), new CacheValue('before'));

  const sleeping = redis.admin.call('DEBUG', 'SLEEP', '0.6');
  const slept = await timed(backend.get(key('slow')));
  assert.instance(slept.error, TimeoutError);
  assert.match((slept.error as Error).message, /read|get of key _prefix=faults&_version=1&slow=0 failed: no reply within the response timeout/);
  assert.ok(slept.ms >= 140 && slept.ms < 400, `rejected after ${slept.ms} ms`);
  await sleeping;
  await eventually(() => backend.get(key('slow')));
  assert.is((await backend.get<string>(key('slow')))?.data, 'before');

  // CLIENT PAUSE WRITE holds writes but lets read-only scripts through: the read script is one. (A read
  // queued behind a held write on the same connection waits with it, so the read goes first.)
  await redis.admin.client('PAUSE', 600, 'WRITE');
  try {
    const read = await timed(backend.get(key('slow')));
    assert.is(read.error, null);
    const write = await timed(backend.set(key('slow'), new CacheValue('during')));
    assert.instance(write.error, TimeoutError);
    // The held write waited out the whole response timeout before it was given up, no less.
    assert.ok(write.ms >= 140 && write.ms < 400, `write rejected after ${write.ms} ms (response timeout 150 ms)`);
  } finally {
    await redis.admin.client('UNPAUSE');
  }
  await eventually(() => backend.set(key('slow'), new CacheValue('after')));
  assert.is((await backend.get<string>(key('slow')))?.data, 'after');
  await backend.close();
});

test('through a fault proxy: delays, a blackhole and a cut mid-reply', async () => {
  const proxy = await FaultProxy.start(redis.host, redis.port);
  const backend = builder().connection(ConnectionMode.single(proxy.url)).responseTimeout(150).build();
  const value = { text: 'x'.repeat(20_000) };
  await backend.set(key('proxy'), new CacheValue(value));

  proxy.mode = { kind: 'delay', ms: 40 };
  assert.equal((await backend.get(key('proxy')))?.data, value, 'a short delay is only slower');
  proxy.mode = { kind: 'delay', ms: 400 };
  const acceptedBeforeDelay = proxy.accepted;
  const delayed = await timed(backend.get(key('proxy')));
  assert.instance(delayed.error, TimeoutError);
  // Given up at the response timeout: not before it (the reply is only late), and long before the reply.
  assert.ok(delayed.ms >= 140 && delayed.ms < 400, `rejected after ${delayed.ms} ms (response timeout 150 ms)`);
  proxy.mode = { kind: 'pass' };
  // A reply later than two timeouts counts as silence: the timeout's probe, delayed too, gets the connection
  // replaced a window later. Once that is done, nothing of this phase can close a connection in the next.
  await eventually(async () => assert.ok(proxy.accepted > acceptedBeforeDelay, 'the slow connection was replaced'));
  await eventually(() => backend.get(key('proxy')));

  // A connection that silently died: calls time out, then the backend replaces the connection by itself.
  const connectionsBefore = proxy.accepted;
  proxy.mode = { kind: 'blackhole' };
  const lost = await Promise.all(Array.from({ length: 20 }, () => timed(backend.get(key('proxy')))));
  assert.ok(
    lost.every((call) => call.error instanceof TimeoutError && call.ms >= 140 && call.ms < 400),
    `each call times out at the 150 ms response timeout, none sooner: ${JSON.stringify(lost.map((c) => [String(c.error), c.ms]))}`,
  );
  proxy.mode = { kind: 'pass' };
  await eventually(() => backend.get(key('proxy')));
  assert.ok(proxy.accepted > connectionsBefore, 'a new connection was opened');
  assert.equal((await backend.get(key('proxy')))?.data, value);

  // Cut in the middle of a 20 kB reply: the call fails with ConnectionError, nothing half-parsed is returned.
  proxy.cutNextReply();
  const cut = await timed(backend.get(key('proxy')));
  assert.instance(cut.error, ConnectionError, String(cut.error));
  await eventually(() => backend.get(key('proxy')));
  assert.equal((await backend.get(key('proxy')))?.data, value);

  proxy.cutAll();
  await eventually(() => backend.set(key('proxy'), new CacheValue('after cuts')));
  assert.is((await backend.get(key('proxy')))?.data, 'after cuts');
  await backend.close();
  await proxy.close();
});

/**
 * A backend through a proxy that has written `entry` once; then the server becomes unreachable (the
 * connection drops, every reconnection is refused) and the backend has seen it.
 */
async function cutOff(name: string, connectionTimeoutMs: number, retries?: number) {
  const proxy = await FaultProxy.start(redis.host, redis.port);
  const configured = builder().connection(ConnectionMode.single(proxy.url)).connectionTimeout(connectionTimeoutMs);
  const backend = (retries === undefined ? configured : configured.retries(retries)).build();
  const entry = key(name);
  await backend.set(entry, new CacheValue('first'));
  proxy.mode = { kind: 'refuse' };
  proxy.cutAll();
  assert.instance((await timed(backend.get(entry))).error, ConnectionError, 'the backend has seen its connection drop');
  return { proxy, backend, entry };
}

test('a write that failed for want of a connection is never sent later: it cannot overwrite a newer entry', async () => {
  const { proxy, backend, entry } = await cutOff('never-later', 300);
  const failed = await timed(backend.set(entry, new CacheValue('old')));
  assert.instance(failed.error, ConnectionError, String(failed.error));
  assert.match(String(failed.error), /nothing was sent/);
  assert.ok(failed.ms < 1_000, `rejected after ${failed.ms} ms`);

  // Meanwhile another client writes a newer entry; then the backend gets its connection back.
  const newer = builder().connection(ConnectionMode.single(redis.url)).build();
  await newer.set(entry, new CacheValue('newer'));
  proxy.mode = { kind: 'pass' };
  await eventually(() => backend.get(entry));
  assert.is((await backend.get<string>(entry))?.data, 'newer', 'the failed write was not sent when the connection came back');
  await Promise.all([backend.close(), newer.close()]);
  await proxy.close();
});

test('a reconnection whose handshake is never answered is dropped and tried again', async () => {
  const proxy = await FaultProxy.start(redis.host, redis.port);
  const backend = builder().connection(ConnectionMode.single(proxy.url)).connectionTimeout(300).build();
  await backend.set(key('handshake'), new CacheValue('x'));
  // New connections are accepted but nothing reaches the server: the reconnection's ready check stalls.
  proxy.mode = { kind: 'blackhole' };
  const first = proxy.accepted;
  proxy.cutAll();
  await eventually(async () => {
    if (proxy.accepted === first) throw new Error('no reconnection yet');
  });
  const stalled = proxy.accepted;
  const during = await timed(backend.get(key('handshake')));
  assert.instance(during.error, ConnectionError, String(during.error));
  await proxy.closedThrough(stalled, 2_000);
  proxy.mode = { kind: 'pass' };
  await eventually(() => backend.get(key('handshake')));
  assert.is((await backend.get<string>(key('handshake')))?.data, 'x');
  await backend.close();
  await proxy.close();
});

test('retries: a call made while the server refuses connections gives up after that many failed attempts', async () => {
  const { proxy, backend, entry } = await cutOff('retries', 5_000, 2);
  const failed = await timed(backend.set(entry, new CacheValue('never')));
  assert.instance(failed.error, ConnectionError, String(failed.error));
  assert.match(String(failed.error), /after 3 reconnection attempts .*nothing was sent/);
  assert.ok(failed.ms < 2_000, `rejected after ${failed.ms} ms, long before the 5 s connection timeout`);
  proxy.mode = { kind: 'pass' };
  await eventually(() => backend.get(entry));
  assert.is((await backend.get<string>(entry))?.data, 'first', 'the write that gave up was never sent');
  await backend.close();
  await proxy.close();
});

test('a write that waited for the connection gets the TTL left when it is sent, not when it was made', async () => {
  // Enough reconnection attempts to wait through the outage (the backoff doubles from 2 ms).
  const { proxy, backend, entry } = await cutOff('ttl-after-wait', 3_000, 50);
  const expire = Date.now() + 2_000;
  const write = timed(backend.set(entry, new CacheValue('later', new Date(expire))));
  // The outage lasts a second: the write waits for the connection all that time.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  proxy.mode = { kind: 'pass' };
  assert.is((await write).error, null);
  const leftBefore = expire - Date.now();
  const pttl = await redis.admin.pttl(String(entry));
  const leftAfter = expire - Date.now();
  // Measured when made, the TTL would still be about 2 s: at most the time left (plus the write's transit)...
  assert.ok(pttl <= leftBefore + 50, `PTTL ${pttl} ms, but the expire was ${leftBefore} ms away`);
  // ...and no less than it: the entry lives until its expire, the wait is not taken off twice.
  assert.ok(pttl >= leftAfter - 10, `PTTL ${pttl} ms, but the expire is still ${leftAfter} ms away`);
  await backend.close();
  await proxy.close();
});

test('close() settles on a silently dead connection, with no response timeout set', async () => {
  const proxy = await FaultProxy.start(redis.host, redis.port);
  const backend = builder().connection(ConnectionMode.single(proxy.url)).connectionTimeout(300).build();
  await backend.set(key('close'), new CacheValue('x'));
  proxy.mode = { kind: 'blackhole' };
  const closing = await timed(backend.close());
  assert.is(closing.error, null);
  assert.ok(closing.ms < 1_000, `close() took ${closing.ms} ms`);
  await proxy.close();
});

test('maxmemory with noeviction: writes refused clearly, reads and removes work, nothing half-written', async () => {
  const full = await startRedis({ args: ['--maxmemory-policy', 'noeviction'] });
  const backend = builder().connection(ConnectionMode.single(full.url)).build();
  try {
    const keep = Array.from({ length: 20 }, (_, i) => key('full', i));
    await Promise.all(keep.map((k, i) => backend.set(k, new CacheValue({ i, pad: 'p'.repeat(100) }))));
    const used = await infoField(full.admin, 'memory', 'used_memory');
    await full.admin.config('SET', 'maxmemory', String(used + 64 * 1024));

    let refused: unknown = null;
    let written = 0;
    for (let i = 0; refused === null && i < 10_000; i++) {
      const outcome = await timed(backend.set(key('fill', i), new CacheValue('f'.repeat(2_000))));
      if (outcome.error === null) written++;
      else refused = outcome.error;
    }
    assert.instance(refused, ScriptError, `after ${written} writes: ${String(refused)}`);
    assert.match(String(refused), /OOM .*nothing was written/);
    // The refused key does not exist, and an overwrite refused leaves the old entry whole. (Memory hovers
    // at the limit once writes are refused: a 1-byte limit makes the refusal certain.)
    assert.is(await full.admin.exists(String(key('fill', written))), 0);
    await full.admin.config('SET', 'maxmemory', '1');
    const overwrite = await timed(backend.set(keep[0] as CacheKey, new CacheValue('replacement')));
    assert.instance(overwrite.error, ScriptError, String(overwrite.error));
    assert.equal((await backend.get<{ i: number }>(keep[0] as CacheKey))?.data.i, 0);
    assert.equal(await full.admin.hkeys(String(keep[0])), ['d']);
    // Removing is how a full cache makes room: it still works.
    assert.equal(await backend.remove(keep[1] as CacheKey), { kind: 'deleted', count: 1 });
  } finally {
    await backend.close();
    await full.stop();
  }
});

test('nothing leaks: sockets, timers and listeners are back to where they started after thousands of failures', async () => {
  const resources = (): Record<string, number> => {
    const counts: Record<string, number> = {};
    for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
    return counts;
  };
  const listeners = (): number => process.eventNames().reduce((sum, name) => sum + process.listenerCount(name), 0);
  const port = await freePort();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const before = { resources: resources(), listeners: listeners() };

  let failures = 0;
  for (let round = 0; round < 5; round++) {
    const unreachable = builder().connection(ConnectionMode.single(`redis://127.0.0.1:${port}`)).build();
    const live = builder().connection(ConnectionMode.single(redis.url)).responseTimeout(100).build();
    await redis.admin.rpush(String(key('foreign', round)), 'not an entry');
    const outcomes = await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        timed(i % 2 === 0 ? unreachable.get(key('leak', i)) : live.set(key('foreign', round), new CacheValue(i))),
      ),
    );
    failures += outcomes.filter((outcome) => outcome.error instanceof BackendError).length;
    await Promise.all([unreachable.close(), live.close()]);
  }
  assert.is(failures, 2_000);
  // Closing sockets and clearing timers completes on the next turns of the event loop.
  await eventually(async () => {
    const after = resources();
    if (JSON.stringify(after) !== JSON.stringify(before.resources)) throw new Error(`resources ${JSON.stringify(after)} vs ${JSON.stringify(before.resources)}`);
  }, 3_000);
  assert.is(listeners(), before.listeners);
});

test.run();
