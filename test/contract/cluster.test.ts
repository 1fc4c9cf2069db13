// @drivers ioredis node-redis
/** The conformance suite of the single-node backend, unchanged, against a real 3+3 Redis Cluster. */
import { Cluster } from 'ioredis';

import { ConnectionMode } from '../../src/index.js';
import { startCluster } from '../helpers/cluster.js';
import { runConformance } from '../helpers/conformance.js';
import { builder, DRIVER } from '../helpers/driver.js';
import { ExpiryWatcher } from '../helpers/expiry.js';

const cluster = await startCluster();
const primaries = await cluster.primaries();
// Expired-key events are published on the node that held the key only: listen on every primary.
const watchers = await Promise.all(primaries.map((node) => ExpiryWatcher.start(node.host, node.port)));
const admin = new Cluster(cluster.seedUrls.map((url) => ({ host: new URL(url).hostname, port: Number(new URL(url).port) })));

runConformance({
  title: `cluster 3+3, ${DRIVER}`,
  builder: () => builder().connection(ConnectionMode.cluster(cluster.seedUrls)),
  admin: () => admin,
  awaitExpiry: (key) => Promise.race(watchers.map((watcher) => watcher.expiry(key))),
  async teardown() {
    watchers.forEach((watcher) => watcher.stop());
    admin.disconnect();
    await cluster.stop();
  },
});
