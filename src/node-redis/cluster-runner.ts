/**
 * Runs scripts on a node-redis cluster client: the one the backend opened, or one the application gave.
 *
 * @module
 */
import type { ScriptArgument, ScriptDefinition, ScriptRunner } from '../core/scripting.js';
import { BUFFER_REPLIES, type NodeRedisCluster, type NodeRedisNodeClient } from './clients.js';
import { scriptCommand, sendScript, withinTimeout, type Reroute } from './commands.js';
import { executeOnKeyNode, readyPrimaryClient, slotOf } from './internals.js';
import type { NodeConnections } from './node-connections.js';
import type { SilentConnectionWatch } from './silent-connections.js';

// Errors of a call that did not run on a replica, so sending it to the primary is safe: a redirection or
// refusal of the node, or a replica connection that is down.
function wasNotRun(error: unknown): boolean {
  return error instanceof Error && /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) |^The client is (offline|closed)$/.test(error.message);
}

/**
 * Runs scripts on the node that owns the key, with EVALSHA; with `replicaReads`, read-only scripts go to
 * the key's replicas in turn, with EVALSHA_RO. `NOSCRIPT` is answered with EVAL or EVAL_RO of the same
 * call on the same node. node-redis follows MOVED and ASK (with ASKING) itself.
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
  // Not frozen: node-redis writes the slot number into the options of every cluster call.
  readonly #options = { ...BUFFER_REPLIES };
  #nextReplica = 0;
  /** A call its primary redirected goes through node-redis' redirection loop (the first key is `args[3]`). */
  readonly #reroute: Reroute = (args, script) => this.#routed(args[3] as string | Buffer, args, script);

  /** `nodes`: absent for a cluster the application gave (its own behaviour applies). */
  constructor(cluster: NodeRedisCluster, replicaReads: boolean, nodes?: NodeConnections, responseTimeout?: { readonly ms: number; readonly watch: SilentConnectionWatch }) {
    this.#cluster = cluster;
    this.#replicaReads = replicaReads;
    this.#nodes = nodes ?? null;
    this.#timeoutMs = responseTimeout?.ms ?? null;
    this.#watch = responseTimeout?.watch ?? null;
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

  #routed(firstKey: string | Buffer, args: Array<string | Buffer>, script: ScriptDefinition): Promise<unknown> {
    return executeOnKeyNode(this.#cluster, firstKey, false, this.#options, (client, options) => this.#sendOn(client, args, script, options));
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
   * for it (outside the timeout: it gives up on its own bounds, and is then never sent).
   */
  #sendOn(client: NodeRedisNodeClient, args: Array<string | Buffer>, script: ScriptDefinition, options: object, reroute?: Reroute): Promise<unknown> {
    const waiting = client.isReady ? undefined : this.#nodes?.whenReady(client);
    if (waiting !== undefined) return waiting.then(() => this.#sendOn(client, args, script, options));
    const reply = sendScript(client, args, script, options, reroute);
    if (this.#timeoutMs === null) return reply;
    (this.#watch as SilentConnectionWatch).sent(client, reply);
    return withinTimeout(reply, this.#timeoutMs);
  }
}
