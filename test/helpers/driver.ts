/**
 * The driver the shared suites run on: `TEST_DRIVER` (`ioredis` by default, or `node-redis`), and the
 * client of that library the tests give with `.client()`. test/run.ts runs each file that opts in
 * (`// @drivers ioredis node-redis` on its first line) once per driver.
 */
import { createClient, createCluster } from '@redis/client';
import { Cluster, Redis } from 'ioredis';

import { RedisBackend, type DriverName, type RedisBackendBuilder } from '../../src/index.js';

function driverUnderTest(): DriverName {
  const name = process.env.TEST_DRIVER ?? 'ioredis';
  if (name !== 'ioredis' && name !== 'node-redis') throw new Error(`TEST_DRIVER must be ioredis or node-redis, got ${name}`);
  return name;
}

/** The driver under test. */
export const DRIVER: DriverName = driverUnderTest();

/** A backend builder on the driver under test. */
export function builder(): RedisBackendBuilder {
  return RedisBackend.builder().driver(DRIVER);
}

/** What a test needs to reach one server or cluster with a client of its own. */
export interface ClientTarget {
  readonly host: string;
  readonly port: number;
  readonly password?: string;
  readonly db?: number;
}

/** A client the test owns, of the driver under test's library, and how to close it. */
export interface OwnedClient {
  readonly client: object;
  /** Whether it is still open (and so was not closed by the backend). */
  isOpen(): boolean;
  close(): Promise<void>;
}

/** A single-node client of the driver under test's library, connected. */
export async function singleClient(target: ClientTarget): Promise<OwnedClient> {
  if (DRIVER === 'ioredis') {
    const client = new Redis({ host: target.host, port: target.port, password: target.password, db: target.db ?? 0 });
    return { client, isOpen: () => client.status === 'ready', close: async () => client.disconnect() };
  }
  const client = createClient({ socket: { host: target.host, port: target.port }, password: target.password, database: target.db ?? 0 });
  client.on('error', () => undefined);
  await client.connect();
  return { client, isOpen: () => client.isReady, close: async () => client.destroy() };
}

/** A cluster client of the driver under test's library, reaching the cluster through `seed`. */
export async function clusterClient(seed: ClientTarget): Promise<OwnedClient> {
  if (DRIVER === 'ioredis') {
    const client = new Cluster([{ host: seed.host, port: seed.port }], { redisOptions: { password: seed.password } });
    return { client, isOpen: () => client.status === 'ready', close: async () => client.disconnect() };
  }
  const client = createCluster({ rootNodes: [{ socket: { host: seed.host, port: seed.port } }], defaults: { password: seed.password } });
  client.on('error', () => undefined);
  await client.connect();
  return { client, isOpen: () => client.isOpen, close: async () => client.destroy() };
}
