import * as scripts from '../../generated/index.js';
import type { BackendError, ErrorContext } from '../core/errors.js';
import type { ScriptArgument, ScriptDefinition } from '../core/scripting.js';
import { BATCH_CHUNK } from '../driver/batches.js';
import type { Driver, DriverName } from '../driver/driver.js';
import { InlineReplyError } from '../driver/failures.js';

/** What a call can be merged into: reads into read_many, untagged writes into write_many, nothing else. */
type Kind = 0 | 1 | 2;
/**
 * Fewest neighbouring calls of one kind that are merged; fewer are sent one by one. A merged call is answered
 * at once, when the script has done every key, while single calls are answered one after the other, the
 * client working on the first replies while the server works on the next: at a few calls in flight the
 * overlap is worth more than the EVALSHA overheads a merged call saves.
 */
const MIN_MERGED = 32;
const ALONE: Kind = 0;
const READ: Kind = 1;
const WRITE: Kind = 2;

/** A call waiting for the end of its tick. */
interface Queued {
  readonly kind: Kind;
  readonly script: ScriptDefinition;
  readonly args: ScriptArgument[];
  readonly resolve: (reply: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * A driver that merges the single-key reads and writes issued in one event-loop tick into many-key script
 * calls, for one node: most of what a script call costs the server is EVALSHA's own overhead, which a
 * call over many keys pays once.
 *
 * The first call of a tick is sent at once; the calls after it are held until the tick ends, then sent in
 * the order they were made, runs of {@link MIN_MERGED} or more consecutive reads as one `read_many` and of
 * consecutive untagged writes as one `write_many` (each entry on its own, at most {@link BATCH_CHUNK} per
 * call), everything else by itself. The connection so executes the calls in the
 * order the backend made them, as it would have without merging: only calls that were already next to each
 * other become one. Each caller gets its own reply, or its own error: a key's error in a merged reply is
 * thrown as an {@link InlineReplyError}, which the driver maps as the error reply the call alone would
 * have got; a failure of the whole merged call (a timeout, a lost connection) is every member's.
 *
 * # Caveats
 * Not for a cluster, where a script call's keys must share a slot: the keys of one tick rarely do, and
 * grouping them would cost more than merging saves.
 */
export class MergingDriver implements Driver {
  readonly name: DriverName;
  readonly #driver: Driver;
  #queue: Queued[] = [];
  #scheduled = false;
  readonly #flush = (): void => this.#send();

  constructor(driver: Driver) {
    this.name = driver.name;
    this.#driver = driver;
  }

  run(script: ScriptDefinition, args: ScriptArgument[]): Promise<unknown> {
    // Writes wait for the connection before they take their place (their TTL is measured when sent): every
    // call waits the same way, so that the calls made before the connection was up keep their order.
    const waiting = this.#driver.whenReady();
    if (waiting !== undefined) return waiting.then(() => this.run(script, args));
    if (!this.#scheduled) {
      // The first call of a tick leaves at once, so that the server works on it while the callers of this
      // tick make theirs; the calls made after it wait for the end of the tick, after it in order.
      this.#scheduled = true;
      // After the microtasks of this turn: every caller woken by the replies just read gets to call first.
      process.nextTick(this.#flush);
      return this.#driver.run(script, args);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ kind: kindOf(script, args), script, args, resolve, reject });
    });
  }

  whenReady(): Promise<void> | undefined {
    return this.#driver.whenReady();
  }

  toBackendError(error: unknown, context: ErrorContext): BackendError {
    return this.#driver.toBackendError(error, context);
  }

  scanPrimaries(pattern: string, count: number): AsyncGenerator<Buffer[]> {
    return this.#driver.scanPrimaries(pattern, count);
  }

  /** Sends what this tick holds first: calls made before close() are answered, as without merging. */
  close(): Promise<void> {
    this.#send();
    return this.#driver.close();
  }

  #send(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    for (let start = 0; start < queue.length; ) {
      const kind = queue[start]!.kind;
      let end = start + 1;
      if (kind !== ALONE) while (end < queue.length && end - start < BATCH_CHUNK && queue[end]!.kind === kind) end++;
      if (end - start < MIN_MERGED) for (let index = start; index < end; index++) this.#sendAlone(queue[index]!);
      else if (kind === READ) this.#sendReads(queue.slice(start, end));
      else this.#sendWrites(queue.slice(start, end));
      start = end;
    }
  }

  #sendAlone(call: Queued): void {
    this.#driver.run(call.script, call.args).then(call.resolve, call.reject);
  }

  #sendReads(calls: Queued[]): void {
    const keys = calls.map((call) => call.args[0]!);
    this.#driver.run({ ...scripts.readManyScript, numberOfKeys: keys.length }, keys).then(
      (replies) => settleEach(calls, replies as unknown[]),
      (error: unknown) => rejectAll(calls, error),
    );
  }

  #sendWrites(calls: Queued[]): void {
    // write's arguments are (key, data, stale, ttl, tags ''); write_many's: the keys, atomic 0, then data, stale, ttl per key.
    const args: ScriptArgument[] = new Array(calls.length * 4 + 1);
    args[calls.length] = 0;
    for (let index = 0; index < calls.length; index++) {
      const call = calls[index]!.args;
      args[index] = call[0]!;
      args[calls.length + 1 + 3 * index] = call[1]!;
      args[calls.length + 2 + 3 * index] = call[2]!;
      args[calls.length + 3 + 3 * index] = call[3]!;
    }
    this.#driver.run({ ...scripts.writeManyScript, numberOfKeys: calls.length }, args).then(
      (replies) => settleEach(calls, replies as unknown[]),
      (error: unknown) => rejectAll(calls, error),
    );
  }
}

function kindOf(script: ScriptDefinition, args: ScriptArgument[]): Kind {
  if (script === scripts.readScript) return READ;
  // A tagged write reads its tags' tokens in the same call: it stays alone.
  if (script === scripts.writeScript && args[4] === '') return WRITE;
  return ALONE;
}

/** Gives each call its part of a many-key reply: an error reply there (a bulk string) is its error. */
function settleEach(calls: Queued[], replies: unknown[]): void {
  for (let index = 0; index < calls.length; index++) {
    const reply = replies[index];
    if (Buffer.isBuffer(reply) || typeof reply === 'string') calls[index]!.reject(new InlineReplyError(reply.toString()));
    else calls[index]!.resolve(reply ?? null);
  }
}

function rejectAll(calls: Queued[], error: unknown): void {
  for (const call of calls) call.reject(error);
}
