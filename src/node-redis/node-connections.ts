/**
 * The node connections of a cluster client the backend opened, held to the bounds of a single node's.
 *
 * @module
 */
import type { ClientSettings } from '../driver/settings.js';
import { WaitingCalls } from '../driver/waiting-calls.js';
import type { NodeRedisCluster, NodeRedisNodeClient } from './clients.js';
import { dropClientOf, type SlotNode } from './internals.js';

/**
 * Why a call on a cluster node was not sent: the node's client is closed (it gave up reconnecting, or was
 * dropped), so there is no connection to send it on. The call may be routed again once the slot map is
 * refreshed (`ClusterRecovery.refreshed`).
 */
export class NodeUnavailable extends Error {
  constructor(reason = 'the node connection gave up or was dropped; nothing was sent') {
    super(reason);
  }
}

/** The address node-redis names a node by in its `node-*` events. */
interface NodeAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * node-redis bounds only the TCP (and TLS) connect of a node connection, and with its offline queue off
 * fails a call to a node that is reconnecting at once ("The client is offline"). Here:
 * - a connection attempt (a node's first, or a reconnection) whose handshake is not answered within the
 *   connection timeout is dropped, so that the next call that needs the node opens a new one;
 * - a call to a node whose connection is being re-established waits for it, bounded as a single node's
 *   calls are (`.retries()`, the response or connection timeout), and is never sent once it gave up.
 */
export class NodeConnections {
  readonly #cluster: NodeRedisCluster;
  readonly #settings: ClientSettings;
  readonly #waiting = new WeakMap<NodeRedisNodeClient, WaitingCalls>();
  /** Connection attempts started per client: a timer drops only the attempt it was started for. */
  readonly #attempts = new WeakMap<NodeRedisNodeClient, number>();

  constructor(cluster: NodeRedisCluster, settings: ClientSettings) {
    this.#cluster = cluster;
    this.#settings = settings;
    cluster.on('node-connect', (address: NodeAddress) => this.#attemptStarted(address));
    cluster.on('node-reconnecting', (address: NodeAddress) => this.#attemptStarted(address));
  }

  /**
   * `undefined` when a call on `client` would be sent now; else a promise that resolves once it would be
   * sent, or rejects ("nothing was sent") when the call gives up: with {@link NodeUnavailable} when the
   * client is closed or closes meanwhile, else once `deadline` (by default the wait's bound from now) or
   * the reconnection attempts it may wait through have passed.
   */
  whenReady(client: NodeRedisNodeClient, deadline?: number): Promise<void> | undefined {
    if (client.isReady) return undefined;
    if (!client.isOpen) return Promise.reject(new NodeUnavailable());
    return new Promise((resolve, reject) => this.#waitingOn(client).add(resolve, (error) => reject(client.isOpen ? error : new NodeUnavailable()), deadline));
  }

  #waitingOn(client: NodeRedisNodeClient): WaitingCalls {
    let waiting = this.#waiting.get(client);
    if (waiting !== undefined) return waiting;
    const ready = (): void => calls.sendAll();
    const attempt = (): void => calls.countAttempt();
    // node-redis gives up reconnecting with an error and closes the client; a dropped client ends.
    const failed = (): void => {
      if (!client.isOpen) calls.abandon(new NodeUnavailable());
    };
    const calls = new WaitingCalls(this.#settings.responseTimeout ?? this.#settings.connectionTimeout, this.#settings.retries, {
      isReady: () => client.isReady,
      isEnded: () => !client.isOpen,
      state: () => (client.isOpen ? 'node reconnecting' : 'node connection closed'),
      listen: (on) => {
        const method = on ? 'on' : 'off';
        client[method]('ready', ready);
        client[method]('reconnecting', attempt);
        client[method]('error', failed);
        client[method]('end', failed);
      },
    });
    waiting = calls;
    this.#waiting.set(client, waiting);
    return waiting;
  }

  /** A connection attempt to the node at `address` started: it is dropped if not ready within the connection timeout. */
  #attemptStarted(address: NodeAddress): void {
    const node = this.#nodeAt(address);
    const client = node?.client;
    if (node === undefined || client === undefined) return;
    const attempt = (this.#attempts.get(client) ?? 0) + 1;
    this.#attempts.set(client, attempt);
    setTimeout(() => {
      if (this.#attempts.get(client) === attempt && client.isOpen && !client.isReady) dropClientOf(node, client);
    }, this.#settings.connectionTimeout).unref();
  }

  #nodeAt(address: NodeAddress): SlotNode | undefined {
    const matches = (node: SlotNode): boolean => node.host === address.host && node.port === address.port;
    return this.#cluster.masters.find(matches) ?? this.#cluster.replicas.find(matches);
  }
}
