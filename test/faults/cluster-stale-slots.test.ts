// @drivers ioredis node-redis
/**
 * A failover the backend has not seen yet: a primary's process is killed while no call runs, its replica
 * takes over and the whole cluster agrees on it, and only then do calls come. The backend's slot map
 * still gives the dead primary's slots to it (nothing told the client otherwise: no call failed, no MOVED
 * came), and its connection to it has given up. A call to those slots is not sent on that connection
 * (there is none): it must reach the promoted replica, not fail.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { CacheKey, CacheValue, ConnectionMode } from '../../src/index.js';
import { startCluster, type ClusterNodeUnderTest, type ClusterUnderTest } from '../helpers/cluster.js';
import { builder } from '../helpers/driver.js';

const test = suite('cluster-stale-slots');
const KEYS = 96;
let cluster: ClusterUnderTest;

test.before(async () => {
  cluster = await startCluster();
});

test.after(async () => {
  await cluster.stop();
});

const key = (i: number): CacheKey => new CacheKey('stale-slots', 1, [{ key: 'i', value: String(i) }]);

async function untilPrimary(node: ClusterNodeUnderTest): Promise<void> {
  while ((await node.role()) !== 'primary') await new Promise((resolve) => setTimeout(resolve, 20));
}

test('calls made after a failover the backend has not seen reach the promoted replica, with nothing lost', async () => {
  const backend = builder().connection(ConnectionMode.cluster(cluster.seedUrls)).build();
  try {
    // Every node connection open and used: the keys spread over the three primaries.
    await Promise.all(Array.from({ length: KEYS }, (_, i) => backend.set(key(i), new CacheValue(i))));

    const primary = (await cluster.primaries())[0] as ClusterNodeUnderTest;
    const replica = await replicaOf(primary);
    await replicated(primary, replica);
    await primary.kill();
    await untilPrimary(replica);
    await cluster.waitForOk();

    // All at once: every call to the dead primary's slots finds its connection gone.
    const reads = await Promise.allSettled(Array.from({ length: KEYS }, (_, i) => backend.get<number>(key(i))));
    const failed = reads.flatMap((read, i) => (read.status === 'rejected' ? [`get ${i}: ${(read.reason as Error).message}`] : []));
    assert.equal(failed, [], 'no read fails once the cluster agrees on the promoted replica');
    reads.forEach((read, i) => assert.is(read.status === 'fulfilled' ? read.value?.data : undefined, i, `key ${i} kept its value`));

    const writes = await Promise.allSettled(Array.from({ length: KEYS }, (_, i) => backend.set(key(i), new CacheValue(i + KEYS))));
    assert.equal(
      writes.flatMap((write, i) => (write.status === 'rejected' ? [`set ${i}: ${(write.reason as Error).message}`] : [])),
      [],
      'nor any write',
    );
  } finally {
    await backend.close();
  }
});

const offset = async (node: ClusterNodeUnderTest): Promise<number> => Number(/^master_repl_offset:(\d+)/m.exec(await node.admin.info('replication'))?.[1]);

/** Until `replica` has every write `primary` took (replication is asynchronous: a failover may lose the last ones). */
async function replicated(primary: ClusterNodeUnderTest, replica: ClusterNodeUnderTest): Promise<void> {
  const target = await offset(primary);
  while ((await offset(replica)) < target) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function replicaOf(primary: ClusterNodeUnderTest): Promise<ClusterNodeUnderTest> {
  for (const node of await cluster.replicas()) {
    const info = await node.admin.info('replication');
    if (new RegExp(`^master_port:${primary.port}\\r?$`, 'm').test(info)) return node;
  }
  throw new Error(`no replica of ${primary.port}`);
}

test.run();
