import type { Cluster, Command, Redis } from 'ioredis';

import type { ScriptArgument, ScriptDefinition, ScriptRunner } from '../core/scripting.js';
import { SentScripts } from '../driver/sent-scripts.js';
import { WaitingCalls } from '../driver/waiting-calls.js';
import { nodeKeyOf, nodeKeysOfSlot, socketOf, TEXTS, type Corkable } from './internals.js';
import { ScriptCallCommand } from './script-call-command.js';

/** A client the backend can run scripts on: an ioredis `Redis` (single node) or `Cluster`. */
export type IoredisClient = Redis | Cluster;

type ScriptCommand = 'evalsha' | 'evalsha_ro' | 'eval' | 'eval_ro';

/** How an {@link IoredisScriptRunner} sends; every option is off by default. */
export interface IoredisScriptRunnerOptions {
  /**
   * The longest a call made while the client is not ready (connecting, or re-establishing a lost
   * connection) waits for it, after which it rejects with "no connection ...; nothing was sent". Such a
   * call waits in the runner, not in ioredis' offline queue, where it would have no bound on a cluster
   * and, once given up, would still be sent when the connection came back. (On a cluster this is about
   * the cluster client; a node connection that is being opened, after a MOVED or a dropped connection,
   * still queues its first calls in ioredis, within their response timeout.) Absent: the client's own
   * behaviour, for a client the application gave.
   */
  readonly reconnectLimitMs?: number;
  /** With `reconnectLimitMs`: a waiting call also gives up after this many failed reconnection attempts. */
  readonly retries?: number;
  /**
   * Batch the calls of one event-loop tick into few socket writes, per connection: on a single node the
   * first call of a tick is written at once (the server starts on it while the caller issues the others),
   * the next ones are corked and leave in writes of 8 keys' worth (a call over many keys at once), the rest when the tick ends
   * (`process.nextTick`); on a cluster each node's calls of the tick leave together when it ends. Much
   * cheaper per call than ioredis auto-pipelining, which it replaces: ignored when the client has
   * `enableAutoPipelining` on. The backend sets it for the connection it opens.
   */
  readonly batch?: boolean;
}

/**
 * Keys' worth of calls per socket write when batching on a single node: 8 did better than 16 and 32 in bench/ on 2
 * cores (reads and writes, 16 to 1024 in flight). On a cluster the nodes' servers share the work, so
 * one of them is busy while the client builds a tick: a node's calls of a tick all leave together when
 * it ends, which cost the client and the servers less per call in bench/.
 */
const BATCH_SIZE = 8;

/** A connection written to in the current tick: its socket, corked, and the calls held in it; null when it takes no corking. */
type Corked = { readonly stream: Corkable; held: number } | null;

// ioredis generates a `<command>Buffer` variant of every command at run time (bulk replies as Buffers),
// but its typings declare only a few; these are the four the runner needs.
type BufferScriptCommands = {
  [name in `${ScriptCommand}Buffer`]: (
    shaOrSource: string,
    numberOfKeys: number,
    keysAndArguments: ScriptArgument[],
  ) => Promise<unknown>;
};

const BUFFER_VARIANT = {
  evalsha: 'evalshaBuffer',
  evalsha_ro: 'evalsha_roBuffer',
  eval: 'evalBuffer',
  eval_ro: 'eval_roBuffer',
} as const satisfies Record<ScriptCommand, keyof BufferScriptCommands>;

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

// Errors of a cluster call that did not run, so sending it again is safe: a node's redirection or
// refusal, or ioredis refusing to send an auto-pipeline whose slots moved to other nodes meanwhile.
function wasNotRun(error: unknown): boolean {
  return (
    error instanceof Error &&
    (/^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /.test(error.message) || error.message.endsWith(TEXTS.slotsGroupRefused))
  );
}

/**
 * Runs scripts over ioredis with EVALSHA, or EVALSHA_RO for read-only scripts where reads may go to
 * replicas (a single node, or a cluster client whose `scaleReads` is not `'master'`).
 *
 * On a single node, a script's first call on each connection is sent as EVAL, which caches it there: sent
 * as EVALSHA, it would be answered `NOSCRIPT` and sent again behind the calls written after it.
 * A `NOSCRIPT` reply (the server restarted, `SCRIPT FLUSH`, a node that never saw the script, a promoted
 * replica) is answered with EVAL of the same call: it runs the script on the very node that lacked it,
 * chosen by the same key, and caches it there, so later calls are EVALSHA again. With ioredis
 * auto-pipelining on, calls issued in the same tick share one write to the socket.
 *
 * # Caveats
 * - ioredis' cluster auto-pipelining computes a key's slot from its text, which is wrong for a `Buffer`
 *   key that is not valid UTF-8; calls whose first key is a `Buffer` therefore bypass auto-pipelining on
 *   a cluster client. The built-in key formats produce strings.
 * - A cluster client that reads from primaries only runs read-only scripts with EVALSHA too: when one
 *   command of an auto-pipeline is redirected with ASK during a slot migration, ioredis re-runs the whole
 *   pipeline on the importing node if every other command in it is read-only, and a read that had already
 *   succeeded on the migrating node would then answer from a node that lacks the key (a false miss).
 * - A cluster call that did not run (answered MOVED, ASK, TRYAGAIN or CLUSTERDOWN, or an auto-pipeline
 *   ioredis would not send because its slots moved meanwhile) is sent again alone, so that ioredis
 *   follows the redirection (an auto-pipeline may not).
 *
 * # Examples
 * ```ts
 * const runner = new IoredisScriptRunner(new Redis(6379), { batch: true });
 * const reply = await read(runner, 'some-key');
 * ```
 */
export class IoredisScriptRunner implements ScriptRunner {
  readonly #client: IoredisClient;
  readonly #commands: BufferScriptCommands;
  readonly #clusterAutoPipelining: boolean;
  readonly #readOnlyCommands: boolean;
  /** Calls waiting for the connection to be ready; null without a reconnect limit. */
  readonly #waiting: WaitingCalls | null;
  readonly #batch: boolean;
  /** Calls a corked socket holds before they are written. */
  readonly #batchSize: number;
  /** Whether read-only calls may go to any node of their slot, not only its primary. */
  readonly #readsAnyNode: boolean;
  /** A call was sent in the current tick (its end is scheduled). */
  #inTick = false;
  /** The connections written to in the current tick. */
  readonly #corked = new Map<Redis, Corked>();
  /** On a single node, the scripts its connection was sent (a cluster routes calls itself, and answers NOSCRIPT). */
  readonly #sentScripts: SentScripts | null;
  /** A cluster's node connections by key, as last listed. */
  readonly #nodes = new Map<string, Redis>();
  /** `#nodes` was listed in the current tick: a node key it lacks is not looked for again before the next. */
  #nodesListed = false;
  readonly #endTick = (): void => {
    this.#inTick = false;
    this.#nodesListed = false;
    for (const corked of this.#corked.values()) corked?.stream.uncork();
    this.#corked.clear();
  };

  /**
   * A runner over `client`, which the application keeps owning: the runner never connects, quits or
   * configures it.
   *
   * # Default
   * `options` is `{}`: no wait bound of its own (ioredis' offline queue applies) and no batching.
   */
  constructor(client: IoredisClient, options: IoredisScriptRunnerOptions = {}) {
    this.#client = client;
    this.#commands = client as unknown as BufferScriptCommands;
    this.#clusterAutoPipelining = client.isCluster && client.options.enableAutoPipelining === true;
    this.#readOnlyCommands = !client.isCluster || (client as Cluster).options.scaleReads !== 'master';
    this.#readsAnyNode = client.isCluster && this.#readOnlyCommands;
    this.#waiting = options.reconnectLimitMs === undefined ? null : this.#waitingCalls(options.reconnectLimitMs, options.retries ?? Number.POSITIVE_INFINITY);
    this.#batch = options.batch === true && client.options.enableAutoPipelining !== true;
    this.#batchSize = client.isCluster ? Number.POSITIVE_INFINITY : BATCH_SIZE;
    this.#sentScripts = client.isCluster ? null : new SentScripts();
  }

  run(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    if (this.#waiting === null || this.#isReady()) return this.#send(script, keysAndArguments);
    return new Promise((resolve, reject) => this.#wait(() => resolve(this.#send(script, keysAndArguments)), reject));
  }

  /**
   * `undefined` when a call made now would be sent at once; otherwise a promise that resolves once the
   * connection is ready, or rejects ("nothing was sent") at the reconnect limit. For a caller whose
   * arguments depend on when they are sent, such as a TTL measured from now.
   */
  whenReady(): Promise<void> | undefined {
    if (this.#waiting === null || this.#isReady()) return undefined;
    return new Promise((resolve, reject) => this.#wait(resolve, reject));
  }

  /** Rejects every call still waiting for the connection with `error`; they are never sent. */
  abandonWaiting(error: Error): void {
    this.#waiting?.abandon(error);
  }

  /**
   * Whether a call sent now would be written to a live connection. A single-node connection being
   * dropped (a silent one replaced, say) stays 'ready' until its socket has closed, while its socket no
   * longer takes writes: a call sent then would only be failed by the close, so it waits for the new
   * connection like the calls after it.
   */
  #isReady(): boolean {
    const client = this.#client;
    if (client.status !== 'ready') return false;
    return client.isCluster || socketOf(client as Redis)?.writable === true;
  }

  /**
   * Calls `ready` once the client is ready, synchronously in its 'ready' event so that waiting calls keep
   * their order, or `fail` when the call gives up. The client's listeners are there only while calls wait,
   * so that runners leave none behind.
   */
  #waitingCalls(limitMs: number, retries: number): WaitingCalls {
    const client = this.#client;
    const calls: WaitingCalls = new WaitingCalls(limitMs, retries, {
      isReady: () => this.#isReady(),
      isEnded: () => client.status === 'end',
      state: () => client.status,
      listen: (on) => {
        const method = on ? 'on' : 'off';
        client[method]('ready', sendAll);
        client[method]('reconnecting', countAttempt);
      },
    });
    const sendAll = (): void => calls.sendAll();
    const countAttempt = (): void => calls.countAttempt();
    return calls;
  }

  #wait(ready: () => void, fail: (error: Error) => void): void {
    // A lazy client connects on its first command; here no command reaches it until it is ready.
    if (this.#client.status === 'wait') this.#client.connect().catch(() => undefined);
    (this.#waiting as WaitingCalls).add(ready, fail);
  }

  #send(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    const readOnly = script.readOnly && this.#readOnlyCommands;
    if (this.#sentScripts !== null && this.#sentScripts.isFirst(socketOf(this.#client as Redis), script.sha1)) {
      const command = this.#command(readOnly ? 'eval_ro' : 'eval', script.source, script, keysAndArguments);
      return this.#batch ? this.#sendBatched(command, script.numberOfKeys) : (this.#client.sendCommand(command) as Promise<unknown>);
    }
    const evalsha = readOnly ? 'evalsha_ro' : 'evalsha';
    const reply = this.#batch
      ? this.#sendBatched(this.#command(evalsha, script.sha1, script, keysAndArguments), script.numberOfKeys)
      : this.#clusterAutoPipelining && script.numberOfKeys > 0 && typeof keysAndArguments[0] !== 'string'
        ? this.#sendAlone(evalsha, script.sha1, script, keysAndArguments)
        : this.#commands[BUFFER_VARIANT[evalsha]](script.sha1, script.numberOfKeys, keysAndArguments);
    return reply.catch((error: unknown) => {
      if (isNoScript(error)) return this.#evalAlone(script, keysAndArguments);
      // An auto-pipeline only retries a redirection shared by all of its commands; the others get the
      // MOVED or ASK reply itself. Sent alone, the call gets ioredis' own redirection handling.
      if (this.#client.isCluster && wasNotRun(error)) {
        return this.#sendAlone(evalsha, script.sha1, script, keysAndArguments).catch((retryError: unknown) => {
          if (isNoScript(retryError)) return this.#evalAlone(script, keysAndArguments);
          throw retryError;
        });
      }
      throw error;
    });
  }

  // A corked socket only holds the bytes back: ioredis has queued each command, in order, as it wrote it,
  // and a connection that is not ready is left alone (ioredis keeps such commands in its offline queue).
  #sendBatched(command: Command, weight: number): Promise<unknown> {
    if (!this.#inTick) {
      this.#inTick = true;
      process.nextTick(this.#endTick);
    }
    if (!this.#client.isCluster) {
      const reply = this.#client.sendCommand(command) as Promise<unknown>;
      this.#hold(this.#client as Redis, weight);
      return reply;
    }
    // The node's socket is corked before the call is written to it. Only the connection the cluster
    // client sends it to: the slot's primary; for a read that may go to replicas, ioredis picks a node of
    // the slot at random, so each of them.
    const keys = nodeKeysOfSlot(this.#client as Cluster, command.getSlot());
    if (keys !== undefined) {
      const last = command.name === 'evalsha_ro' && this.#readsAnyNode ? keys.length : 1;
      for (let index = 0; index < last; index++) {
        const node = this.#nodeOf(keys[index] as string);
        if (node !== undefined) this.#hold(node);
      }
    }
    return this.#client.sendCommand(command) as Promise<unknown>;
  }

  /**
   * Corks `connection`'s socket at its first call of the tick (on a single node, written just before), and
   * writes out what it holds every `#batchSize` keys after that: a call over many keys (a merged one) is
   * as much work for the server as that many calls, so it leaves at once.
   */
  #hold(connection: Redis, keys = 1): void {
    const corked = this.#corked.get(connection);
    if (corked === undefined) {
      const stream = socketOf(connection);
      const corkable = connection.status === 'ready' && stream !== undefined && stream.writable;
      if (corkable) stream.cork();
      this.#corked.set(connection, corkable ? { stream, held: 0 } : null);
    } else if (corked !== null && (corked.held += Math.max(1, keys)) >= this.#batchSize) {
      corked.stream.uncork();
      corked.stream.cork();
      corked.held = 0;
    }
  }

  /** The node connection of a cluster under `key`; the list is taken again when a node is missing or ended. */
  #nodeOf(key: string): Redis | undefined {
    const node = this.#nodes.get(key);
    if ((node !== undefined && node.status !== 'end') || this.#nodesListed) return node;
    this.#nodesListed = true;
    this.#nodes.clear();
    for (const listed of (this.#client as Cluster).nodes('all')) this.#nodes.set(nodeKeyOf(listed), listed);
    return this.#nodes.get(key);
  }

  #evalAlone(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    return this.#sendAlone(script.readOnly && this.#readOnlyCommands ? 'eval_ro' : 'eval', script.source, script, keysAndArguments);
  }

  // Outside auto-pipelining: for error paths, and for binary keys ioredis would route wrongly in one.
  #sendAlone(command: ScriptCommand, shaOrSource: string, script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    return this.#client.sendCommand(this.#command(command, shaOrSource, script, keysAndArguments)) as Promise<unknown>;
  }

  /** The command ioredis' `<command>Buffer` method would build (bulk replies as Buffers, the client's key prefix applied). */
  #command(command: ScriptCommand, shaOrSource: string, script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Command {
    return new ScriptCallCommand(command, shaOrSource, script.numberOfKeys, keysAndArguments, { replyEncoding: null, keyPrefix: this.#client.options.keyPrefix });
  }
}
