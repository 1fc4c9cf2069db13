import type { Cluster, Redis } from 'ioredis';

import type { ScriptArgument, ScriptDefinition, ScriptRunner } from './scripting.js';

/** A client the backend can run scripts on: an ioredis `Redis` (single node) or `Cluster`. */
export type IoredisClient = Redis | Cluster;

// ioredis generates a `<command>Buffer` variant of every command at run time (bulk replies as Buffers),
// but its typings only declare a few; these are the four the runner needs.
interface BufferScriptCommands {
  evalshaBuffer(sha1: string, numberOfKeys: number, keysAndArguments: ScriptArgument[]): Promise<unknown>;
  evalsha_roBuffer(sha1: string, numberOfKeys: number, keysAndArguments: ScriptArgument[]): Promise<unknown>;
  evalBuffer(source: string, numberOfKeys: number, keysAndArguments: ScriptArgument[]): Promise<unknown>;
  eval_roBuffer(source: string, numberOfKeys: number, keysAndArguments: ScriptArgument[]): Promise<unknown>;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Runs scripts over ioredis with EVALSHA (EVALSHA_RO for read-only scripts, so that a cluster client
 * with `scaleReads` may send them to replicas).
 *
 * A `NOSCRIPT` reply (the server restarted, `SCRIPT FLUSH`, a node that never saw the script, a promoted
 * replica) is answered with EVAL of the same call: it runs the script on the very node that lacked it,
 * chosen by the same key, and caches it there, so later calls are EVALSHA again. With ioredis
 * auto-pipelining on, calls issued in the same tick share one write to the socket.
 *
 * # Examples
 * ```ts
 * const runner = new IoredisScriptRunner(new Redis(6379));
 * const reply = await read(runner, 'some-key');
 * ```
 */
export class IoredisScriptRunner implements ScriptRunner {
  readonly #commands: BufferScriptCommands;

  constructor(client: IoredisClient) {
    this.#commands = client as unknown as BufferScriptCommands;
  }

  run(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    const commands = this.#commands;
    const reply = script.readOnly
      ? commands.evalsha_roBuffer(script.sha1, script.numberOfKeys, keysAndArguments)
      : commands.evalshaBuffer(script.sha1, script.numberOfKeys, keysAndArguments);
    return reply.catch((error: unknown) => {
      if (!isNoScript(error)) throw error;
      return script.readOnly
        ? commands.eval_roBuffer(script.source, script.numberOfKeys, keysAndArguments)
        : commands.evalBuffer(script.source, script.numberOfKeys, keysAndArguments);
    });
  }
}
