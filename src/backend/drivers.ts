/**
 * The drivers a backend can use, by name: which one a client belongs to, whether one is installed, and
 * creating one. The only module of the backend that names a driver.
 *
 * @module
 */
import { ConfigurationError } from '../core/errors.js';
import { ClusterConnectionMode } from '../driver/connection-mode.js';
import type { Driver, DriverName } from '../driver/driver.js';
import { isIoredisClient } from '../ioredis/detect.js';
import { IoredisDriver } from '../ioredis/driver.js';
import type { IoredisClient } from '../ioredis/runner.js';
import { isNodeRedisClient, isNodeRedisCluster, isNodeRedisInstalled, NODE_REDIS_PACKAGE, unsupportedOption } from '../node-redis/detect.js';
import type { ConnectionTarget } from './config.js';
import { DeferredDriver } from './deferred-driver.js';
import { MergingDriver } from './merging-driver.js';

const DRIVER_NAMES: readonly DriverName[] = ['ioredis', 'node-redis'];

/** `name`, checked: a known driver whose client library is installed. */
export function checkDriver(name: unknown): DriverName {
  if (!DRIVER_NAMES.includes(name as DriverName)) {
    throw new ConfigurationError(`unknown driver ${JSON.stringify(name)}: expected one of ${DRIVER_NAMES.map((known) => `'${known}'`).join(', ')}`);
  }
  if (name === 'node-redis' && !isNodeRedisInstalled()) {
    throw new ConfigurationError(`the node-redis driver needs the package ${NODE_REDIS_PACKAGE} (version 5): npm install ${NODE_REDIS_PACKAGE}@5`);
  }
  return name as DriverName;
}

/** The driver of a client the application gives, or a `ConfigurationError` when it is of neither library. */
export function driverOfClient(client: unknown): DriverName {
  if (isIoredisClient(client)) return 'ioredis';
  if (isNodeRedisClient(client)) return 'node-redis';
  throw new ConfigurationError(
    'client() expects an ioredis Redis or Cluster, or a node-redis client or cluster (createClient / createCluster of @redis/client 5)',
  );
}

/** Refuses, with a `ConfigurationError` naming the driver, an option that driver cannot honour. */
export function checkOptions(name: DriverName, target: ConnectionTarget): void {
  const refused = name === 'node-redis' && target.kind === 'mode' ? unsupportedOption(target.mode, target.settings) : undefined;
  if (refused !== undefined) throw new ConfigurationError(`the ${name} driver does not support ${refused}`);
}

/** Whether `target` is a Redis Cluster: a cluster connection mode, or a cluster client of either library. */
export function isClusterTarget(target: ConnectionTarget): boolean {
  if (target.kind === 'mode') return target.mode instanceof ClusterConnectionMode;
  return isIoredisClient(target.client) ? target.client.isCluster : isNodeRedisCluster(target.client);
}

/**
 * Creates the driver `name` for `target`, merging the calls of a tick (see {@link MergingDriver}) on a
 * single node unless batching was turned off with `autoPipelining(false)`.
 */
export function createDriver(name: DriverName, target: ConnectionTarget): Driver {
  const driver = driverFor(name, target);
  const merges = !isClusterTarget(target) && (target.kind === 'client' || target.settings.autoPipelining);
  return merges ? new MergingDriver(driver) : driver;
}

/** The driver `name` for `target`. The node-redis driver's module is imported on its first call. */
function driverFor(name: DriverName, target: ConnectionTarget): Driver {
  if (name === 'ioredis') {
    return target.kind === 'mode' ? IoredisDriver.open(target.mode, target.settings) : IoredisDriver.over(target.client as IoredisClient);
  }
  return new DeferredDriver(name, async () => {
    const { NodeRedisDriver } = await import('../node-redis/driver.js');
    return target.kind === 'mode' ? NodeRedisDriver.open(target.mode, target.settings) : NodeRedisDriver.over(target.client);
  });
}
