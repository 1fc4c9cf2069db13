// @drivers ioredis node-redis
import { ConnectionMode } from '../../src/index.js';
import { runConformance } from '../helpers/conformance.js';
import { builder, DRIVER } from '../helpers/driver.js';
import { ExpiryWatcher } from '../helpers/expiry.js';
import { startRedis } from '../helpers/redis.js';

const redis = await startRedis();
const watcher = await ExpiryWatcher.start(redis.host, redis.port);

runConformance({
  title: `single node, ${DRIVER}`,
  builder: () => builder().connection(ConnectionMode.single(redis.url)),
  admin: () => redis.admin,
  awaitExpiry: (key) => watcher.expiry(key),
  async teardown() {
    watcher.stop();
    await redis.stop();
  },
});
