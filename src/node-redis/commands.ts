/**
 * The script commands node-redis sends, with the recovery from `NOSCRIPT` and the response timeout
 * every runner applies.
 *
 * @module
 */
import type { ScriptArgument, ScriptDefinition } from '../core/scripting.js';
import { withTimeout } from '../driver/settle.js';
import type { NodeRedisNodeClient } from './clients.js';

/** What a call that got no reply within the response timeout rejects with. */
export class ResponseTimeout extends Error {
  constructor() {
    super('no reply within the response timeout');
  }
}

/** `[command, shaOrSource, numberOfKeys, ...keysAndArguments]`, numbers in decimal: node-redis sends strings and Buffers only. */
export function scriptCommand(command: string, script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Array<string | Buffer> {
  const length = keysAndArguments.length;
  const args = new Array<string | Buffer>(length + 3);
  args[0] = command;
  args[1] = script.sha1;
  args[2] = String(script.numberOfKeys);
  for (let index = 0; index < length; index++) {
    const argument = keysAndArguments[index] as ScriptArgument;
    args[index + 3] = typeof argument === 'number' ? String(argument) : argument;
  }
  return args;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** Whether a cluster node answered that the key's slot is elsewhere (MOVED) or being moved (ASK): the call did not run. */
function isRedirection(error: unknown): boolean {
  return error instanceof Error && (error.message.startsWith('MOVED ') || error.message.startsWith('ASK '));
}

/** Sends a call that a node redirected (`args` as sent) to where the cluster's redirection loop says it belongs. */
export type Reroute = (args: Array<string | Buffer>, script: ScriptDefinition) => Promise<unknown>;

/**
 * Sends `args` (an EVALSHA or EVALSHA_RO of `script`) on `client`; a `NOSCRIPT` reply is answered with
 * EVAL or EVAL_RO of the same call on the same client, which caches the script on that server. With
 * `reroute`, a MOVED or ASK reply hands the call to it. One rejection handler per call does both.
 */
export function sendScript(client: NodeRedisNodeClient, args: Array<string | Buffer>, script: ScriptDefinition, options: object, reroute?: Reroute): Promise<unknown> {
  return client.sendCommand(args, options).catch((error: unknown) => {
    if (reroute !== undefined && isRedirection(error)) return reroute(args, script);
    if (!isNoScript(error)) throw error;
    args[0] = args[0] === 'EVALSHA_RO' ? 'EVAL_RO' : 'EVAL';
    args[1] = script.source;
    const evaluated = client.sendCommand(args, options);
    return reroute === undefined ? evaluated : evaluated.catch((evalError: unknown) => (isRedirection(evalError) ? reroute(args, script) : Promise.reject(evalError)));
  });
}

/** `reply`, or a {@link ResponseTimeout} rejection once `timeoutMs` passed without it. */
export function withinTimeout(reply: Promise<unknown>, timeoutMs: number): Promise<unknown> {
  return withTimeout(reply, timeoutMs, () => {
    throw new ResponseTimeout();
  });
}
