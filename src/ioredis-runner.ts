import { Command, type Cluster, type Redis } from 'ioredis';

import type { ScriptArgument, ScriptDefinition, ScriptRunner } from './scripting.js';

/** A client the backend can run scripts on: an ioredis `Redis` (single node) or `Cluster`. */
export type IoredisClient = Redis | Cluster;

type ScriptCommand = 'evalsha' | 'evalsha_ro' | 'eval' | 'eval_ro';

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

/**
 * Runs scripts over ioredis with EVALSHA (EVALSHA_RO for read-only scripts, so that a cluster client
 * with `scaleReads` may send them to replicas).
 *
 * A `NOSCRIPT` reply (the server restarted, `SCRIPT FLUSH`, a node that never saw the script, a promoted
 * replica) is answered with EVAL of the same call: it runs the script on the very node that lacked it,
 * chosen by the same key, and caches it there, so later calls are EVALSHA again. With ioredis
 * auto-pipelining on, calls issued in the same tick share one write to the socket.
 *
 * # Caveats
 * ioredis' cluster auto-pipelining computes a key's slot from its text, which is wrong for a `Buffer` key
 * that is not valid UTF-8; calls whose first key is a `Buffer` therefore bypass auto-pipelining on a
 * cluster client. The built-in key formats produce strings.
 *
 * # Examples
 * ```ts
 * const runner = new IoredisScriptRunner(new Redis(6379));
 * const reply = await read(runner, 'some-key');
 * ```
 */
export class IoredisScriptRunner implements ScriptRunner {
  readonly #client: IoredisClient;
  readonly #commands: BufferScriptCommands;
  readonly #clusterAutoPipelining: boolean;

  constructor(client: IoredisClient) {
    this.#client = client;
    this.#commands = client as unknown as BufferScriptCommands;
    this.#clusterAutoPipelining = client.isCluster && client.options.enableAutoPipelining === true;
  }

  run(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    const reply = this.#send(script.readOnly ? 'evalsha_ro' : 'evalsha', script.sha1, script, keysAndArguments);
    return reply.catch((error: unknown) => {
      if (!isNoScript(error)) throw error;
      return this.#send(script.readOnly ? 'eval_ro' : 'eval', script.source, script, keysAndArguments);
    });
  }

  #send(command: ScriptCommand, shaOrSource: string, script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    if (this.#clusterAutoPipelining && script.numberOfKeys > 0 && typeof keysAndArguments[0] !== 'string') {
      const direct = new Command(command, [shaOrSource, script.numberOfKeys, keysAndArguments], { replyEncoding: null });
      return this.#client.sendCommand(direct) as Promise<unknown>;
    }
    return this.#commands[BUFFER_VARIANT[command]](shaOrSource, script.numberOfKeys, keysAndArguments);
  }
}
