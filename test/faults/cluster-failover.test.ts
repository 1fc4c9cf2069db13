// @drivers ioredis node-redis
/**
 * Failovers on a real 3+3 Redis Cluster while a stream of reads and writes runs: a manual CLUSTER FAILOVER,
 * and a primary's process killed. Failures during the switch are counted and reported; once the cluster is
 * stable none may fail, and no acknowledged write may be lost.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { CacheKey, CacheValue, ConnectionError, ConnectionMode, RedisBackend } from '../../src/index.js';
import { builder } from '../helpers/driver.js';
import { startCluster, type ClusterNodeUnderTest, type ClusterUnderTest } from '../helpers/cluster.js';

const WORKERS = 16;
const KEYS = 480;

/** Reads and writes over `KEYS` keys, each key owned by one worker so that its last acknowledged value is known. */
class Stream {
  readonly acked = new Map<number, number>();
  readonly attempted = new Map<number, number>();
  readonly failures: string[] = [];
  /** Failures that are not a typed ConnectionError, which is all a failover may cause. */
  readonly untyped: unknown[] = [];
  lost = 0;
  operations = 0;
  #stopped = false;
  #workers: Promise<void>[] = [];
  #waiters: { count: number; resolve: () => void }[] = [];

  constructor(
    readonly backend: RedisBackend,
    readonly prefix: string,
  ) {}

  key(i: number): CacheKey {
    return new CacheKey(this.prefix, 1, [{ key: 'i', value: String(i) }]);
  }

  start(): void {
    let sequence = 0;
    this.#workers = Array.from({ length: WORKERS }, async (_, worker) => {
      while (!this.#stopped) {
        for (let i = worker; i < KEYS && !this.#stopped; i += WORKERS) {
          const value = ++sequence;
          this.attempted.set(i, value);
          await this.#operation(async () => {
            await this.backend.set(this.key(i), new CacheValue(value));
            this.acked.set(i, value);
          });
          await this.#operation(async () => {
            const read = await this.backend.get<number>(this.key(i));
            if ((read?.data ?? -1) < (this.acked.get(i) ?? 0)) this.lost++;
          });
        }
      }
    });
  }

  async #operation(run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      this.failures.push((error as Error).message);
      if (!(error instanceof ConnectionError)) this.untyped.push(error);
    }
    this.operations++;
    this.#waiters = this.#waiters.filter((waiter) => (this.operations >= waiter.count ? (waiter.resolve(), false) : true));
  }

  /** Resolves once `count` more operations have completed. */
  more(count: number): Promise<void> {
    return new Promise((resolve) => this.#waiters.push({ count: this.operations + count, resolve }));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#workers);
  }

  /** Every key holds its last acknowledged value, or a later attempted one whose acknowledgement was lost. */
  async assertNothingLost(): Promise<void> {
    for (let i = 0; i < KEYS; i++) {
      const stored = (await this.backend.get<number>(this.key(i)))?.data ?? 0;
      const acked = this.acked.get(i) ?? 0;
      assert.ok(stored >= acked && stored <= (this.attempted.get(i) ?? 0), `key ${i}: stored ${stored}, acknowledged ${acked}`);
    }
    assert.is(this.lost, 0, 'reads never went back behind an acknowledged write');
  }
}

async function replicaOf(cluster: ClusterUnderTest, primary: ClusterNodeUnderTest): Promise<ClusterNodeUnderTest> {
  const primaryId = await primary.nodeId();
  for (const node of await cluster.replicas()) {
    const info = await node.admin.info('replication');
    if (new RegExp(`^master_port:${primary.port}\\r?$`, 'm').test(info)) return node;
  }
  throw new Error(`no replica of ${primaryId}`);
}

async function untilPrimary(node: ClusterNodeUnderTest): Promise<void> {
  while ((await node.role()) !== 'primary') await new Promise((resolve) => setTimeout(resolve, 20));
}

function scenario(title: string, failover: (cluster: ClusterUnderTest, primary: ClusterNodeUnderTest, replica: ClusterNodeUnderTest) => Promise<void>): void {
  const test = suite(title);
  let cluster: ClusterUnderTest;
  test.before(async () => {
    cluster = await startCluster();
  });
  test.after(async () => {
    await cluster.stop();
  });

  test('the stream resumes on the promoted replica; nothing fails once stable, nothing acknowledged is lost', async () => {
    const backend = builder().connection(ConnectionMode.cluster(cluster.seedUrls)).build();
    const stream = new Stream(backend, title);
    stream.start();
    await stream.more(2_000);

    const primary = (await cluster.primaries())[0] as ClusterNodeUnderTest;
    const replica = await replicaOf(cluster, primary);
    const switchStarted = stream.operations;
    await failover(cluster, primary, replica);
    await untilPrimary(replica);
    await cluster.waitForOk();
    // Let the client notice the new topology (a MOVED or a refresh) before calling the cluster stable.
    await stream.more(2_000);
    const duringSwitch = stream.failures.length;
    const switchOperations = stream.operations - switchStarted;

    await stream.more(5_000);
    await stream.stop();
    const afterStable = stream.failures.slice(duringSwitch);
    console.log(
      `  ${title}: ${duringSwitch} of ${switchOperations} operations failed during the switch` +
        (duringSwitch > 0 ? ` (first: ${stream.failures[0]})` : '') +
        `; ${afterStable.length} of ${stream.operations - switchStarted - switchOperations} after`,
    );
    assert.equal(afterStable, [], 'no failure once the cluster is stable');
    assert.equal(stream.untyped, [], 'every failure during the switch is a ConnectionError');
    await stream.assertNothingLost();
    await backend.close();
  });

  test.run();
}

scenario('manual CLUSTER FAILOVER', async (_cluster, _primary, replica) => {
  await replica.admin.cluster('FAILOVER');
});

scenario('primary process killed', async (_cluster, primary) => {
  await primary.kill();
});
