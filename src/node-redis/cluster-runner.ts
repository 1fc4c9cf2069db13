/**
 * Runs scripts on a node-redis cluster client: the one the backend opened, or one the application gave.
 *
 * @module
 */
import { ClientClosedError, ClientOfflineError } from '@redis/client';

import type { ScriptArgument, ScriptDefinition, ScriptRunner } from '../core/scripting.js';
import { ConnectFailure } from '../driver/failures.js';
import { BUFFER_REPLIES, type NodeRedisCluster, type NodeRedisNodeClient } from './clients.js';
import { scriptCommand, sendScript, withinTimeout, type Reroute } from './commands.js';
import { executeOnKeyNode, readyPrimaryClient, slotOf } from './internals.js';
import type { ClusterRecovery } from './cluster-recovery.js';
import { NodeUnavailable, type NodeConnections } from './node-connections.js';
import type { SilentConnectionWatch } from './silent-connections.js';

// Errors of a call that did not run on a replica, so sending it to the primary is safe: a redirection or
// refusal of the node, or a replica connection that is down.
function wasNotRun(error: unknown): boolean {
  return error instanceof NodeUnavailable || (error instanceof Error && /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) |^The client is (offline|closed)$/.test(error.message));
}

// A call on a node client that rejected it before queueing it: no connection to send it on.
function wasNotSent(error: unknown): boolean {
  return error instanceof NodeUnavailable || error instanceof ClientClosedError || error instanceof ClientOfflineError;
}

/** How long and through how many slot-map refreshes a call that could not be sent waits to be routed again. */
export interface Rerouting {
  readonly recovery: ClusterRecovery;
  readonly limitMs: number;
  readonly refreshes: number;
}

/** A call routed through node-redis' redirection loop with `rerouting`: until when it may wait, and the refreshes it waited through. */
interface Unsent {
  readonly deadline: number;
  refreshes: number;
}

/**
 * Runs scripts on the node that owns the key, with EVALSHA; with `replicaReads`, read-only scripts go to
 * the key's replicas in turn, with EVALSHA_RO. `NOSCRIPT` is answered with EVAL or EVAL_RO of the same
 * call on the same node. node-redis follows MOVED and ASK (with ASKING) itself.
 *
 * With `rerouting` (a cluster the backend opened), a call that was not sent because its node has no
 * connection (its client gave up reconnecting or was dropped, or could not connect) waits for the slot
 * map to be refreshed and is routed again, within the bounds of a call waiting for a connection: a node
 * that died keeps its slots in the map until the client asks again after its replica took over. A call
 * that may have been sent is never sent again.
 *
 * # Caveats
 * A read a replica could not run (MOVED during a slot migration, its connection down) is sent to the
 * primary instead. node-redis' own `useReplicas` routing would spread reads over the primary too.
 */
export class NodeRedisClusterRunner implements ScriptRunner {
  readonly #cluster: NodeRedisCluster;
  readonly #replicaReads: boolean;
  readonly #nodes: NodeConnections | null;
  readonly #timeoutMs: number | null;
  readonly #watch: SilentConnectionWatch | null;
  readonly #rerouting: Rerouting | null;
  // Not frozen: node-redis writes the slot number into the options of every cluster call.
  readonly #options = { ...BUFFER_REPLIES };
  #nextReplica = 0;
  /** A call its primary redirected goes through node-redis' redirection loop (the first key is `args[3]`). */
  readonly #reroute: Reroute = (args, script) => this.#routed(args[3] as string | Buffer, args, script);

  /** `nodes`, `rerouting`: absent for a cluster the application gave (its own behaviour applies). */
  constructor(
    cluster: NodeRedisCluster,
    replicaReads: boolean,
    nodes?: NodeConnections,
    responseTimeout?: { readonly ms: number; readonly watch: SilentConnectionWatch },
    rerouting?: Rerouting,
  ) {
    this.#cluster = cluster;
    this.#replicaReads = replicaReads;
    this.#nodes = nodes ?? null;
    this.#timeoutMs = responseTimeout?.ms ?? null;
    this.#watch = responseTimeout?.watch ?? null;
    this.#rerouting = rerouting ?? null;
  }

  run(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    const onReplica = script.readOnly && this.#replicaReads;
    const args = scriptCommand(onReplica ? 'EVALSHA_RO' : 'EVALSHA', script, keysAndArguments);
    const firstKey = keysAndArguments[0] as string | Buffer;
    return onReplica ? this.#onReplica(firstKey, args, script) : this.#onPrimary(firstKey, args, script);
  }

  /**
   * Sends on the key's primary as the slot map has it, when its connection is ready; else, or when the
   * primary redirects the call, through node-redis' redirection loop (which follows MOVED and ASK, and
   * opens node connections). The direct send skips that loop's two async steps per call.
   */
  #onPrimary(firstKey: string | Buffer, args: Array<string | Buffer>, script: ScriptDefinition): Promise<unknown> {
    const client = readyPrimaryClient(this.#cluster, slotOf(firstKey));
    return client === undefined ? this.#routed(firstKey, args, script) : this.#sendOn(client, args, script, this.#options, this.#reroute);
  }

  /**
   * Through node-redis' redirection loop. A call it could not send (no client for the node: it failed to
   * connect before the call was handed over, or the client is closed) is routed again after the slot
   * map is refreshed, with `rerouting`.
   */
  #routed(firstKey: string | Buffer, args: Array<string | Buffer>, script: ScriptDefinition, unsent?: Unsent): Promise<unknown> {
    if (this.#rerouting === null) {
      return executeOnKeyNode(this.#cluster, firstKey, false, this.#options, (client, options) => this.#sendOn(client, args, script, options));
    }
    const call = unsent ?? { deadline: Date.now() + this.#rerouting.limitMs, refreshes: 0 };
    let handedOver = false;
    const reply = executeOnKeyNode(this.#cluster, firstKey, false, this.#options, (client, options) => {
      handedOver = true;
      return this.#sendOn(client, args, script, options, undefined, call.deadline);
    });
    return reply.catch((error: unknown) => {
      if (handedOver && !wasNotSent(error)) throw error;
      return this.#afterRefresh(firstKey, args, script, error, call);
    });
  }

  /** Routes a call that was not sent again once the slot map is refreshed; gives up ("nothing was sent") past its bounds. */
  async #afterRefresh(firstKey: string | Buffer, args: Array<string | Buffer>, script: ScriptDefinition, error: unknown, call: Unsent): Promise<unknown> {
    const rerouting = this.#rerouting as Rerouting;
    if (++call.refreshes > rerouting.refreshes || Date.now() >= call.deadline || !this.#cluster.isOpen) {
      const why = (error instanceof Error ? error.message : String(error)).replace(/; nothing was sent$/, '');
      const after = call.refreshes === 1 ? '' : ` after ${call.refreshes - 1} slot-map refreshes`;
      throw new ConnectFailure(`no connection to the node serving the key${after} (${why}); nothing was sent`, false, { cause: error });
    }
    await rerouting.recovery.refreshed();
    return this.#routed(firstKey, args, script, call);
  }

  async #onReplica(firstKey: string | Buffer, args: Array<string | Buffer>, script: ScriptDefinition): Promise<unknown> {
    const replicas = this.#cluster.slots[slotOf(firstKey)]?.replicas;
    if (replicas === undefined || replicas.length === 0) return this.#onPrimary(firstKey, args, script);
    const replica = replicas[this.#nextReplica++ % replicas.length] as (typeof replicas)[number];
    try {
      return await this.#sendOn(await this.#cluster.nodeClient(replica), args, script, this.#options);
    } catch (error) {
      if (!wasNotRun(error)) throw error;
      return this.#onPrimary(firstKey, args, script);
    }
  }

  /**
   * Sends on one node, within the response timeout; a call to a node that is reconnecting first waits
   * for it (outside the timeout: it gives up on its own bounds, or at `deadline`, and is then never
   * sent). On a closed client (with `nodes`) the call is not sent: it rejects with `NodeUnavailable`.
   */
  #sendOn(client: NodeRedisNodeClient, args: Array<string | Buffer>, script: ScriptDefinition, options: object, reroute?: Reroute, deadline?: number): Promise<unknown> {
    const waiting = client.isReady ? undefined : this.#nodes?.whenReady(client, deadline);
    if (waiting !== undefined) return waiting.then(() => this.#sendOn(client, args, script, options, undefined, deadline));
    const reply = sendScript(client, args, script, options, reroute);
    if (this.#timeoutMs === null) return reply;
    (this.#watch as SilentConnectionWatch).sent(client);
    return withinTimeout(reply, this.#timeoutMs);
  }
}
