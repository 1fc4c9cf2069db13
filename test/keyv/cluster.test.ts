// @drivers ioredis node-redis
/**
 * The Keyv store on a real 3-primary Redis Cluster: `clear` and the iterator reach every primary (the keys of
 * a namespace are spread over all three, as each node's own SCAN shows) and only the store's namespace, over
 * a backend that opened its own connection and over one given a cluster client; the many-key calls split by
 * slot as the batch scripts require.
 */
import Keyv from 'keyv';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { KeyvRedisLua } from '../../src/adapters/keyv/index.js';
import { ConnectionMode, type RedisBackend } from '../../src/index.js';
import { startCluster, type ClusterUnderTest } from '../helpers/cluster.js';
import { builder, clusterClient, DRIVER, type OwnedClient } from '../helpers/driver.js';

const test = suite(`Keyv store, cluster, ${DRIVER}`);
let cluster: ClusterUnderTest;
let backend: RedisBackend;
let given: OwnedClient;
let overGiven: RedisBackend;

test.before(async () => {
  cluster = await startCluster({ primaries: 3, replicasPerPrimary: 0 });
  backend = builder().connection(ConnectionMode.cluster(cluster.seedUrls)).build();
  given = await clusterClient(cluster.nodes[0]!);
  overGiven = builder().client(given.client).build();
});
test.after(async () => {
  await overGiven?.close();
  await given?.close();
  await backend?.close();
  await cluster?.stop();
});
test.before.each(async () => {
  await Promise.all(cluster.nodes.map((node) => node.admin.flushall()));
});

/** How many keys of the namespace's UrlEncoded layout each primary holds, by its own SCAN. */
async function keysPerNode(namespace: string): Promise<number[]> {
  return Promise.all(cluster.nodes.map(async (node) => (await node.admin.keys(`_prefix=keyv&_version=1&ns=${namespace}&*`)).length));
}

for (const [name, over] of [
  ['a backend of its own', () => backend],
  ['a backend over a given cluster client', () => overGiven],
] as const) {
  test(`clear and the iterator cover every primary and only their namespace (${name})`, async () => {
    const keyv = new Keyv({ store: new KeyvRedisLua(over(), { scanCount: 50, throwOnErrors: true }), namespace: 'a', throwOnErrors: true });
    const other = new Keyv({ store: new KeyvRedisLua(over(), { throwOnErrors: true }), namespace: 'a*', throwOnErrors: true });
    const entries = Array.from({ length: 300 }, (_, index) => ({ key: `k${index}`, value: index }));
    await keyv.setMany(entries);
    await other.setMany(entries.slice(0, 30));
    const spread = await keysPerNode('a');
    assert.ok(spread.every((count) => count > 0), `keys on every primary: ${spread.join(', ')}`);
    const seen = new Map<string, unknown>();
    // Keyv types its iterator as taking an argument it never passes on (it hands the store its namespace).
    for await (const [key, value] of keyv.iterator!(undefined) as AsyncGenerator<[string, unknown]>) seen.set(key, value);
    assert.equal(seen.size, 300);
    assert.equal(seen.get('k299'), 299);
    await keyv.clear();
    assert.equal(await keysPerNode('a'), [0, 0, 0]);
    assert.equal(await other.get('k0'), 0);
    assert.equal((await other.getMany(entries.slice(0, 30).map(({ key }) => key))).filter((value) => value !== undefined).length, 30);
    await other.clear();
  });
}

test('getMany, setMany, hasMany and deleteMany across slots', async () => {
  const store = new KeyvRedisLua(backend, { namespace: 'm', throwOnErrors: true });
  const keys = Array.from({ length: 120 }, (_, index) => `k${index}`);
  assert.equal(await store.setMany(keys.map((key) => ({ key, value: key, ttl: 60_000 }))), keys.map(() => true));
  assert.equal(await store.getMany([...keys, 'missing']), [...keys, undefined]);
  assert.equal(await store.hasMany(['k1', 'missing']), [true, false]);
  assert.equal(await store.deleteMany(keys), true);
  assert.equal(await keysPerNode('m'), [0, 0, 0]);
});

test.run();
