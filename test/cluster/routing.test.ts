// @drivers ioredis node-redis
/** Cluster mode on a real 3+3 Redis Cluster: spread, script caches, replicas, options, resharding. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import {
  AuthenticationError,
  CacheKey,
  CacheKeyFormat,
  CacheValue,
  ConnectionMode,
  TimeoutError,
  type RedisBackendBuilder,
} from '../../src/index.js';
import { builder, clusterClient } from '../helpers/driver.js';
import { startCluster, type ClusterNodeUnderTest, type ClusterUnderTest } from '../helpers/cluster.js';

const test = suite('cluster');
const PASSWORD = 'cluster-secret-never-shown';
let cluster: ClusterUnderTest;

test.before(async () => {
  cluster = await startCluster({ password: PASSWORD });
});

test.after(async () => {
  await cluster.stop();
});

const clusterBuilder = (): RedisBackendBuilder => builder().connection(ConnectionMode.cluster(cluster.seedUrls)).password(PASSWORD);

const key = (prefix: string, i: number): CacheKey => new CacheKey(prefix, 1, [{ key: 'i', value: String(i) }]);

async function calls(node: ClusterNodeUnderTest): Promise<Record<string, number>> {
  const info = await node.admin.info('commandstats');
  return Object.fromEntries([...info.matchAll(/^cmdstat_([a-z_]+):calls=(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
}

/** How many MOVED replies the node has sent (INFO errorstats). */
async function movedReplies(node: ClusterNodeUnderTest): Promise<number> {
  const info = await node.admin.info('errorstats');
  return Number(/^errorstat_MOVED:count=(\d+)/m.exec(info)?.[1] ?? 0);
}

async function resetStats(): Promise<void> {
  await Promise.all(cluster.nodes.map((node) => node.admin.config('RESETSTAT')));
}

test('thousands of keys spread over every primary: write, read back, remove', async () => {
  const backend = clusterBuilder().build();
  const keys = Array.from({ length: 3000 }, (_, i) => key('spread', i));
  await Promise.all(keys.map((k, i) => backend.set(k, new CacheValue({ i }, new Date(Date.now() + 60_000)))));
  const sizes = await Promise.all((await cluster.primaries()).map((node) => node.admin.dbsize()));
  assert.is(sizes.length, 3);
  assert.ok(sizes.every((size) => size > 700), `keys per primary: ${sizes.join(', ')}`);
  assert.is(sizes.reduce((a, b) => a + b, 0), 3000);
  const values = await Promise.all(keys.map((k) => backend.get<{ i: number }>(k)));
  values.forEach((value, i) => assert.is(value?.data.i, i));
  const removed = await Promise.all(keys.map((k) => backend.remove(k)));
  assert.ok(removed.every((status) => status.kind === 'deleted'));
  await backend.close();
});

test('SCRIPT FLUSH on every node in the middle of a run: no error reaches the caller', async () => {
  const backend = clusterBuilder().build();
  const keys = Array.from({ length: 300 }, (_, i) => key('flush', i));
  for (let round = 0; round < 10; round++) {
    const work = Promise.all(keys.map((k) => backend.set(k, new CacheValue(round)).then(() => backend.get<number>(k))));
    await Promise.all(cluster.nodes.map((node) => node.admin.script('FLUSH')));
    const values = await work;
    assert.ok(values.every((value) => value?.data === round));
  }
  await backend.close();
});

test('readFromReplicas: reads are served by replicas, writes and removes by primaries', async () => {
  const backend = builder()
    .connection(ConnectionMode.cluster(cluster.seedUrls).readFromReplicas())
    .password(PASSWORD)
    .build();
  const keys = Array.from({ length: 600 }, (_, i) => key('replicas', i));
  await Promise.all(keys.map((k) => backend.set(k, new CacheValue(`v${k.parts[0]?.value}`))));
  await resetStats();
  await Promise.all(keys.map((k) => backend.set(k, new CacheValue(`w${k.parts[0]?.value}`))));
  // Replication is asynchronous: let every replica catch up before reading from it.
  await Promise.all((await cluster.primaries()).map((node) => node.admin.wait(1, 5_000)));
  const values = await Promise.all(keys.map((k) => backend.get<string>(k)));
  values.forEach((value, i) => assert.is(value?.data, `w${i}`));
  await Promise.all(keys.map((k) => backend.remove(k)));

  for (const node of await cluster.primaries()) {
    const stats = await calls(node);
    assert.ok((stats.evalsha ?? 0) > 100, `primary ${node.port} ran writes: ${JSON.stringify(stats)}`);
    assert.is((stats.evalsha_ro ?? 0) + (stats.eval_ro ?? 0), 0, `primary ${node.port} ran no reads`);
  }
  for (const node of await cluster.replicas()) {
    const stats = await calls(node);
    assert.ok((stats.evalsha_ro ?? 0) + (stats.eval_ro ?? 0) > 100, `replica ${node.port} ran reads: ${JSON.stringify(stats)}`);
    assert.is((stats.evalsha ?? 0) + (stats.eval ?? 0), 0, `replica ${node.port} ran no writes`);
  }
  await backend.close();
});

test('a Cluster client given with .client() works and stays open', async () => {
  const seed = cluster.nodes[0] as ClusterNodeUnderTest;
  const given = await clusterClient({ host: seed.host, port: seed.port, password: PASSWORD });
  const backend = builder().client(given.client).keyFormat(CacheKeyFormat.Compact).build();
  await Promise.all(Array.from({ length: 100 }, (_, i) => backend.set(key('given', i), new CacheValue(i))));
  assert.is((await backend.get<number>(key('given', 42)))?.data, 42);
  await backend.close();
  assert.ok(given.isOpen(), 'the given client is still open');
  await given.close();
});

test('a custom key format producing binary (non-UTF-8) keys is routed correctly', async () => {
  const binary = { name: 'binary', encode: (k: CacheKey) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(String(k))]) };
  const backend = clusterBuilder().keyFormat(binary).build();
  const keys = Array.from({ length: 300 }, (_, i) => key('binary', i));
  // A call sent to the wrong node still succeeds (it follows the MOVED reply): only the nodes' count of
  // MOVED replies shows misrouting.
  const primaries = await cluster.primaries();
  assert.is(primaries.length, 3);
  const movedBefore = await Promise.all(primaries.map(movedReplies));
  await Promise.all(keys.map((k, i) => backend.set(k, new CacheValue(i))));
  const values = await Promise.all(keys.map((k) => backend.get<number>(k)));
  values.forEach((value, i) => assert.is(value?.data, i));
  const removed = await Promise.all(keys.map((k) => backend.remove(k)));
  assert.ok(removed.every((status) => status.kind === 'deleted'));
  const movedAfter = await Promise.all(primaries.map(movedReplies));
  assert.equal(
    movedAfter.map((count, i) => count - (movedBefore[i] as number)),
    [0, 0, 0],
    `MOVED replies per primary (${primaries.map((node) => node.port).join(', ')}) during the test`,
  );
  await backend.close();
});

test('credentials and the response timeout reach every node connection', async () => {
  const wrong = builder().connection(ConnectionMode.cluster(cluster.seedUrls)).password('not-it-123').build();
  const error = await wrong.get(key('auth', 1)).then(
    () => null,
    (e: Error) => e,
  );
  assert.instance(error, AuthenticationError);
  assert.not.match(String(error), 'not-it-123');
  await wrong.close();

  const urls = cluster.seedUrls.map((url) => url.replace('redis://', `redis://:${PASSWORD}@`));
  const backend = builder().connection(ConnectionMode.cluster(urls)).responseTimeout(200).build();
  await Promise.all(Array.from({ length: 60 }, (_, i) => backend.set(key('timeout', i), new CacheValue(i))));
  const paused = (await cluster.primaries())[0] as ClusterNodeUnderTest;
  const slotOwner = async (k: CacheKey): Promise<boolean> => {
    const slot = await paused.admin.cluster('KEYSLOT', String(k));
    return (await paused.admin.cluster('COUNTKEYSINSLOT', slot)) > 0;
  };
  let onPaused: CacheKey | undefined;
  for (let i = 0; i < 60 && onPaused === undefined; i++) if (await slotOwner(key('timeout', i))) onPaused = key('timeout', i);
  assert.ok(onPaused, 'some key lives on the paused primary');
  await paused.admin.client('PAUSE', 600, 'ALL');
  const started = Date.now();
  const timedOut = await backend.get(onPaused).then(
    () => null,
    (e: Error) => e,
  );
  assert.instance(timedOut, TimeoutError);
  assert.ok(Date.now() - started < 550, `rejected after ${Date.now() - started} ms`);
  await paused.admin.client('UNPAUSE');
  assert.is((await backend.get<number>(onPaused))?.data, Number(onPaused.parts[0]?.value));
  await backend.close();
});

test('resharding: a slot holding entries migrates (there and back) while they are read and written; no error, no loss', async () => {
  // Compact keys keep `{...}` in the prefix, so these keys all hash to one slot (UrlEncoded would escape it).
  const backend = clusterBuilder().keyFormat(CacheKeyFormat.Compact).build();
  const keys = Array.from({ length: 400 }, (_, i) => new CacheKey('{reshard}', 1, [{ key: 'i', value: String(i) }]));
  const latest = new Map<number, number>();
  await Promise.all(keys.map((k, i) => backend.set(k, new CacheValue(0)).then(() => latest.set(i, 0))));

  const primaries = await cluster.primaries();
  const slot = Number(await (primaries[0] as ClusterNodeUnderTest).admin.cluster('KEYSLOT', '{reshard}'));
  let source: ClusterNodeUnderTest | undefined;
  for (const node of primaries) if ((await node.admin.cluster('COUNTKEYSINSLOT', slot)) > 0) source = node;
  assert.ok(source);
  const target = primaries.find((node) => node !== source) as ClusterNodeUnderTest;

  let stop = false;
  let operations = 0;
  const workers = Array.from({ length: 8 }, async (_, worker) => {
    for (let round = 1; !stop; round++) {
      for (let i = worker; i < keys.length; i += 8) {
        const k = keys[i] as CacheKey;
        await backend.set(k, new CacheValue(round));
        latest.set(i, round);
        assert.is((await backend.get<number>(k))?.data, round);
        operations += 2;
      }
    }
  });

  // There and back again: two full migrations while the stream runs.
  let migrated = 0;
  for (const [from, to] of [
    [source, target],
    [target, source],
  ] as const) {
    const [fromId, toId] = [await from.nodeId(), await to.nodeId()];
    await to.admin.cluster('SETSLOT', slot, 'IMPORTING', fromId);
    await from.admin.cluster('SETSLOT', slot, 'MIGRATING', toId);
    for (;;) {
      const batch = (await from.admin.cluster('GETKEYSINSLOT', slot, 5)) as string[];
      if (batch.length === 0) break;
      await from.admin.migrate(to.host, to.port, '', 0, 5_000, 'AUTH', PASSWORD, 'KEYS', ...batch);
      migrated += batch.length;
    }
    for (const node of [to, from, ...primaries.filter((n) => n !== from && n !== to)]) {
      await node.admin.cluster('SETSLOT', slot, 'NODE', toId);
    }
    assert.is(await from.admin.cluster('COUNTKEYSINSLOT', slot), 0);
    assert.is(await to.admin.cluster('COUNTKEYSINSLOT', slot), 400);
  }
  const during = operations;
  // Keep the stream going a little past the switch, then stop it and wait for every worker.
  await new Promise<void>((resolve) => {
    const check = (): void => void (operations >= during + 2_000 ? resolve() : setImmediate(check));
    check();
  });
  stop = true;
  await Promise.all(workers);

  assert.ok(migrated >= 800, `migrated ${migrated} keys`);
  const values = await Promise.all(keys.map((k) => backend.get<number>(k)));
  values.forEach((value, i) => assert.is(value?.data, latest.get(i), `entry ${i}`));
  console.log(`  resharding: ${migrated} key moves of slot ${slot} (there and back) during ${during} operations, none failed`);
  await backend.close();
});

test.run();
