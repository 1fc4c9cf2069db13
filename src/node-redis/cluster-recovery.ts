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
 */
export class ClusterRecovery {
  readonly #cluster: NodeRedisCluster;
  #running = false;
  #lastStart = 0;

  constructor(cluster: NodeRedisCluster) {
    this.#cluster = cluster;
  }

  /** After a call failed for want of a connection. */
  start(): void {
    const now = Date.now();
    if (this.#running || now - this.#lastStart < MIN_INTERVAL_MS || !this.#cluster.isOpen) return;
    const nodes = [...this.#cluster.masters, ...this.#cluster.replicas];
    const startWith = nodes.find((node) => node.client?.isReady)?.client ?? nodes.find((node) => node.client !== undefined)?.client;
    for (const node of nodes) if (node.client !== undefined && !node.client.isOpen) dropNodeClient(node);
    if (startWith === undefined) return;
    this.#running = true;
    this.#lastStart = now;
    rediscover(this.#cluster, startWith)
      .catch(() => undefined)
      .finally(() => (this.#running = false));
  }
}
