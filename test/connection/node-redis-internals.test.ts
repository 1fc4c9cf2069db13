/**
 * The node-redis driver relies on a few internals of node-redis' cluster client (src/node-redis/internals.ts).
 * They are checked when a connection opens: a node-redis without them is refused with a ConfigurationError
 * naming its version, never driven into misbehaviour. Here the checks are shown to run, by taking one away.
 */
import { createRequire } from 'node:module';

import { createCluster } from '@redis/client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { CacheKey, CacheValue, ConfigurationError, ConnectionMode, RedisBackend } from '../../src/index.js';
import { startCluster, type ClusterUnderTest } from '../helpers/cluster.js';
import { rejection } from '../helpers/settle.js';

const test = suite('node-redis internals');
const NODE_REDIS_VERSION = (createRequire(import.meta.url)('@redis/client/package.json') as { version: string }).version;
let cluster: ClusterUnderTest;
let seed: { host: string; port: number };

test.before(async () => {
  cluster = await startCluster();
  const url = new URL(cluster.seedUrls[0] as string);
  seed = { host: url.hostname, port: Number(url.port) };
});

test.after(async () => {
  await cluster.stop();
});

const key = new CacheKey('internals', 1, [{ key: 'k', value: '1' }]);

/** The prototype that defines the cluster client's `_execute` (its `_self` is the instance behind the type-mapping proxies). */
function executeOwner(): Record<string, unknown> {
  const probe = createCluster({ rootNodes: [{ socket: seed }] }) as unknown as { _self: object };
  let owner: object | null = probe._self;
  while (owner !== null && !Object.hasOwn(owner, '_execute')) owner = Object.getPrototypeOf(owner) as object | null;
  if (owner === null) throw new Error('no _execute on the cluster client: see what the driver checks instead');
  return owner as Record<string, unknown>;
}

test('the checked internals are there on the node-redis this package is tested with', async () => {
  const backend = RedisBackend.builder().driver('node-redis').connection(ConnectionMode.cluster(cluster.seedUrls)).build();
  await backend.set(key, new CacheValue('ok'));
  assert.is((await backend.get(key))?.data, 'ok');
  await backend.close();
});

test('a node-redis cluster client without _execute: the first operation rejects with ConfigurationError, and it is not kept', async () => {
  const prototype = executeOwner();
  const original = prototype._execute;
  const backend = RedisBackend.builder().driver('node-redis').connection(ConnectionMode.cluster(cluster.seedUrls)).build();
  prototype._execute = undefined;
  let error: Error;
  try {
    error = await rejection(backend.get(key));
  } finally {
    prototype._execute = original;
  }
  assert.instance(error, ConfigurationError);
  assert.match(error.message, `@redis/client ${NODE_REDIS_VERSION} lacks internals`);
  assert.match(error.message, 'RedisCluster#_execute');
  // With it back, the next operation connects: the refusal was not kept.
  await backend.set(key, new CacheValue('after'));
  assert.is((await backend.get(key))?.data, 'after');
  await backend.close();
});

test('a given node-redis cluster without _execute is refused on first use, naming what is missing', async () => {
  const given = createCluster({ rootNodes: [{ socket: seed }] });
  given.on('error', () => undefined);
  await given.connect();
  const self = (given as unknown as { _self: Record<string, unknown> })._self;
  self._execute = undefined;
  const backend = RedisBackend.builder().client(given).build();
  const error = await rejection(backend.get(key));
  delete self._execute;
  assert.instance(error, ConfigurationError);
  assert.match(error.message, 'RedisCluster#_execute');
  await backend.close();
  given.destroy();
});

test.run();
