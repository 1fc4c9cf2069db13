import type { NodeRedisCluster } from './clients.js';
import { dropNodeClient, rediscover } from './internals.js';

/** Least time between two slot-map refreshes, so that a burst of failures asks once. */
const MIN_INTERVAL_MS = 100;

/**
 * Heals a cluster client after a connection failure. node-redis refreshes its slot map on MOVED only,
 * and keeps a node's client once it gave up reconnecting: a primary that died would keep its slots
 * after its replica took over, and every call to them would fail for good. So after a failure, node
 * clients that gave up are dropped (a new one is opened when the node is needed) and the slot map is
 * asked for again.
 *
 * The cluster's failover ends at a moment nothing tells the client about: a call that could not be sent
 * for want of its node's connection waits for the next refresh ({@link refreshed}) rather than failing,
 * so that calls made between the failover's end and the client learning of it are not lost to it.
 */
export class ClusterRecovery {
  readonly #cluster: NodeRedisCluster;
  /** The refresh under way. */
  #running: Promise<void> | null = null;
  /** A refresh asked for while the last one is too recent: it starts once the interval has passed. */
  #next: Promise<void> | null = null;
  #lastStart = 0;

  constructor(cluster: NodeRedisCluster) {
    this.#cluster = cluster;
  }

  /** After a call failed for want of a connection. */
  start(): void {
    const now = Date.now();
    if (this.#running !== null || now - this.#lastStart < MIN_INTERVAL_MS || !this.#cluster.isOpen) return;
    const nodes = [...this.#cluster.masters, ...this.#cluster.replicas];
    const startWith = nodes.find((node) => node.client?.isReady)?.client ?? nodes.find((node) => node.client !== undefined)?.client;
    for (const node of nodes) if (node.client !== undefined && !node.client.isOpen) dropNodeClient(node);
    if (startWith === undefined) return;
    this.#lastStart = now;
    this.#running = rediscover(this.#cluster, startWith)
      .catch(() => undefined)
      .finally(() => (this.#running = null));
  }

  /**
   * Resolves once a slot-map refresh has ended: the one under way, else one started now, or as soon as
   * the least interval since the last one allows. Never rejects; resolves at once when the cluster
   * client is closed or no refresh can start (no node has a client: the next call opens one).
   */
  refreshed(): Promise<void> {
    this.start();
    if (this.#running !== null) return this.#running;
    const wait = this.#lastStart + MIN_INTERVAL_MS - Date.now();
    if (wait <= 0 || !this.#cluster.isOpen) return Promise.resolve();
    return (this.#next ??= new Promise<void>((resolve) => {
      setTimeout(() => {
        this.#next = null;
        this.start();
        void (this.#running ?? Promise.resolve()).then(resolve);
      }, wait);
    }));
  }
}
