/**
 * Runs scripts on one node-redis client: the single-node connection the backend opened, or a client
 * the application gave.
 *
 * @module
 */
import type { ScriptArgument, ScriptDefinition, ScriptRunner } from '../core/scripting.js';
import { SentScripts } from '../driver/sent-scripts.js';
import type { WaitingCalls } from '../driver/waiting-calls.js';
import { BUFFER_REPLIES, type NodeRedisNodeClient } from './clients.js';
import { scriptCommand, sendScript, withinTimeout } from './commands.js';
import type { SilentConnectionWatch } from './silent-connections.js';

/** Where a runner sends: the current client, and whether it takes calls now. */
export interface ClientSource {
  readonly client: NodeRedisNodeClient;
  readonly isReady: boolean;
  /** An object that is new with each connection the client makes; absent: the client itself stands for it. */
  readonly connection?: object;
}

/** How a {@link NodeRedisRunner} sends; absent parts are off (a client the application gave). */
export interface RunnerOptions {
  /** Holds the calls made while the connection is not ready. Absent: node-redis' own behaviour. */
  readonly waiting?: WaitingCalls;
  readonly responseTimeout?: { readonly ms: number; readonly watch: SilentConnectionWatch };
}

/**
 * Runs scripts with EVALSHA, or EVALSHA_RO for read-only scripts; a script's first call on each
 * connection is sent as EVAL or EVAL_RO (see {@link SentScripts}), and `NOSCRIPT` is answered with EVAL or
 * EVAL_RO of the same call on the same connection. node-redis writes the calls of one event-loop turn
 * together (in its check phase), so calls issued in the same tick share socket writes.
 *
 * # Examples
 * ```ts
 * const runner = new NodeRedisRunner({ client, isReady: true });
 * const reply = await read(runner, 'some-key');
 * ```
 */
export class NodeRedisRunner implements ScriptRunner {
  readonly #source: ClientSource;
  readonly #waiting: WaitingCalls | null;
  readonly #timeoutMs: number | null;
  readonly #watch: SilentConnectionWatch | null;
  readonly #sentScripts = new SentScripts();

  constructor(source: ClientSource, options: RunnerOptions = {}) {
    this.#source = source;
    this.#waiting = options.waiting ?? null;
    this.#timeoutMs = options.responseTimeout?.ms ?? null;
    this.#watch = options.responseTimeout?.watch ?? null;
  }

  run(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    if (this.#waiting === null || this.#source.isReady) return this.#send(script, keysAndArguments);
    return new Promise((resolve, reject) => (this.#waiting as WaitingCalls).add(() => resolve(this.#send(script, keysAndArguments)), reject));
  }

  /** `undefined` when a call made now would be sent at once; else a promise that settles when it would be, or would not. */
  whenReady(): Promise<void> | undefined {
    if (this.#waiting === null || this.#source.isReady) return undefined;
    return new Promise((resolve, reject) => (this.#waiting as WaitingCalls).add(resolve, reject));
  }

  #send(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    const client = this.#source.client;
    const args = scriptCommand(script.readOnly ? 'EVALSHA_RO' : 'EVALSHA', script, keysAndArguments);
    if (this.#sentScripts.isFirst(this.#source.connection ?? client, script.sha1)) {
      args[0] = script.readOnly ? 'EVAL_RO' : 'EVAL';
      args[1] = script.source;
    }
    const reply = sendScript(client, args, script, BUFFER_REPLIES);
    if (this.#timeoutMs === null) return reply;
    (this.#watch as SilentConnectionWatch).sent(client);
    return withinTimeout(reply, this.#timeoutMs);
  }
}
