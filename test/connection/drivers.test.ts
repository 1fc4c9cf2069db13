/**
 * Choosing the driver: by name, or by the library of the client given; what is refused, and that the
 * node-redis driver's module is loaded only by backends that use it. Runs both drivers itself.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { createClient, createCluster, ErrorReply } from '@redis/client';
import { Cluster, Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { CacheKey, CacheValue, ConfigurationError, ConnectionError, ConnectionMode, ForeignDataError, RedisBackend, ScriptError, type DriverName } from '../../src/index.js';
import { toBackendError as fromIoredis } from '../../src/ioredis/errors.js';
import { toBackendError as fromNodeRedis } from '../../src/node-redis/errors.js';
import { startRedis, type RedisUnderTest } from '../helpers/redis.js';

const test = suite('drivers');
let redis: RedisUnderTest;

test.before(async () => {
  redis = await startRedis();
});

test.after(async () => {
  await redis.stop();
});

const key = (name: string): CacheKey => new CacheKey('drivers-test', 1, [{ key: 'name', value: name }]);

/** What `body` throws, or `undefined`. */
function thrown(body: () => unknown): unknown {
  try {
    body();
    return undefined;
  } catch (error) {
    return error;
  }
}

test(".driver('node-redis') with .client() of a node-redis client: used, and left open by close()", async () => {
  const client = createClient({ socket: { host: redis.host, port: redis.port } });
  client.on('error', () => undefined);
  await client.connect();
  const backend = RedisBackend.builder().driver('node-redis').client(client).build();
  assert.is(backend.driver(), 'node-redis');
  await backend.set(key('node-redis-given'), new CacheValue('via node-redis'));
  assert.is((await backend.get<string>(key('node-redis-given')))?.data, 'via node-redis');
  await backend.close();
  assert.ok(client.isReady, 'still open');
  assert.is(await client.exists(String(key('node-redis-given'))), 1);
  client.destroy();
});

test('.client() alone picks the driver of the client given: node-redis client or cluster, ioredis Redis or Cluster', () => {
  const clients: Array<[object, DriverName]> = [
    [createClient({ socket: { host: redis.host, port: redis.port } }), 'node-redis'],
    [createCluster({ rootNodes: [{ socket: { host: redis.host, port: redis.port } }] }), 'node-redis'],
    [new Redis({ host: redis.host, port: redis.port, lazyConnect: true }), 'ioredis'],
    [new Cluster([{ host: redis.host, port: redis.port }], { lazyConnect: true }), 'ioredis'],
  ];
  for (const [client, driver] of clients) assert.is(RedisBackend.builder().client(client).build().driver(), driver);
});

test(".driver('node-redis') with .client() of an ioredis client, and the reverse: ConfigurationError naming both", () => {
  const ioredis = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
  const nodeRedis = createClient({ socket: { host: redis.host, port: redis.port } });
  for (const [chosen, client, library] of [['node-redis', ioredis, 'ioredis'], ['ioredis', nodeRedis, 'node-redis']] as const) {
    const error = thrown(() => RedisBackend.builder().driver(chosen).client(client).build());
    assert.instance(error, ConfigurationError);
    assert.match((error as Error).message, `driver('${chosen}') was chosen, but the client given is a ${library} client`);
  }
});

test('an unknown driver name and a .client() of neither library are ConfigurationErrors', () => {
  const unknown = thrown(() => RedisBackend.builder().driver('redis-om' as DriverName));
  assert.instance(unknown, ConfigurationError);
  assert.match((unknown as Error).message, `unknown driver "redis-om": expected one of 'ioredis', 'node-redis'`);
  for (const neither of [{}, { sendCommand() {}, isOpen: true }, new Map()]) {
    const error = thrown(() => RedisBackend.builder().client(neither));
    assert.instance(error, ConfigurationError);
    assert.match((error as Error).message, 'client() expects an ioredis Redis or Cluster, or a node-redis client or cluster');
  }
});

test(".autoPipelining(false) is refused by name for node-redis, kept for ioredis", () => {
  const mode = ConnectionMode.single(redis.url);
  const error = thrown(() => RedisBackend.builder().driver('node-redis').connection(mode).autoPipelining(false).build());
  assert.instance(error, ConfigurationError);
  assert.match((error as Error).message, /^the node-redis driver does not support autoPipelining\(false\): node-redis always writes the calls of one event-loop turn together/);
  assert.is(RedisBackend.builder().connection(mode).autoPipelining(false).build().driver(), 'ioredis');
});

test('an ioredis backend never loads @redis/client (checked in a process of its own)', async () => {
  const child = join(import.meta.dirname, '..', 'fixtures', 'drivers', 'ioredis-only.ts');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', child, redis.url], { cwd: join(import.meta.dirname, '..', '..') });
  assert.equal(JSON.parse(stdout.trim().split('\n').at(-1) as string), { driver: 'ioredis', loaded: [] });
});

test('both drivers map the same server replies to the same typed errors', () => {
  const context = { operation: 'get' as const, key: 'k' };
  const ioredisReply = (message: string): Error => Object.assign(new Error(message), { name: 'ReplyError' });
  const cases: [string, new (...args: never[]) => Error][] = [
    ['CLUSTERDOWN The cluster is down', ConnectionError],
    ['FOREIGN_DATA key holds a list, not a cache entry', ForeignDataError],
    ['OOM command not allowed when used memory > maxmemory', ScriptError],
  ];
  for (const [message, expected] of cases) {
    const viaIoredis = fromIoredis(ioredisReply(message), context);
    const viaNodeRedis = fromNodeRedis(new ErrorReply(message), context);
    assert.instance(viaIoredis, expected, `ioredis: ${message}`);
    assert.instance(viaNodeRedis, expected, `node-redis: ${message}`);
    assert.is(viaIoredis.message, viaNodeRedis.message, message);
  }
});

test.run();
