import * as scripts from '../../generated/index.js';
import type { BackendError, ErrorContext } from '../core/errors.js';
import type { ScriptArgument, ScriptDefinition } from '../core/scripting.js';
import type { Driver, DriverName } from '../driver/driver.js';
import { InlineReplyError } from '../driver/failures.js';
import { readManyEntry } from './many-keys.js';

/** What a call can be merged into: reads into read_many, untagged writes into write_many(_uniform), nothing else. */
type Kind = 0 | 1 | 2;
/**
 * Neighbouring calls of one kind merged into one script call, sent as soon as there are that many. A merged
 * call is answered at once, when the script has done every key, while single calls are answered one after
 * the other, the client working on the first replies while the server works on the next: at a few calls in
 * flight that overlap is worth more than the EVALSHA overheads a merged call saves. Sending each run as soon
 * as it is complete, rather than at the end of the tick, keeps that overlap at many calls in flight: the
 * server works on a run while the client makes the next one.
 */
const MERGED = 32;
/**
 * A run left at the end of a tick is merged from this many calls on, and sent one call at a time below it:
 * a tick that long only comes with many calls in flight, where the server's time per call decides; a
 * shorter one (16 or fewer calls in flight never make a longer one) keeps its calls' overlap.
 */
const MERGED_AT_END = 16;
/**
 * Writes with the same stale and ttl are sent as one write_many_uniform call from this many on: it costs the
 * server a fifth less a key than write_many, which spares more than the call costs from here.
 */
const UNIFORM = 8;
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
 * The first call of a tick is sent at once; the calls after it are held, and sent in the order they were
 * made: every {@link MERGED} consecutive reads as one `read_many`, every {@link MERGED} consecutive untagged
 * writes as merged writes (each entry on its own: one `write_many_uniform` for each stretch of at least
 * {@link UNIFORM} of them with the same stale and ttl, one `write_many` for the writes between), as soon as
 * they are complete (with the calls held before them, each by itself); when the tick ends, its last run
 * merged too if it has at least {@link MERGED_AT_END} calls, and every other call left one at a time. The
 * connection so executes the calls in the order the backend made them, as it would have without merging:
 * only calls that were already next to each other become one. Each caller gets its own reply, or its own error: a
 * key's error in a merged reply is thrown as an {@link InlineReplyError}, which the driver maps as the error
 * reply the call alone would have got; a failure of the whole merged call (a timeout, a lost connection) is
 * every member's.
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
  /** The kind of the last queued call, and how many calls of that kind end the queue. */
  #tailKind: Kind = ALONE;
  #tailLength = 0;
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
      // tick make theirs; the calls made after it wait, after it in order, for a run to fill or the tick to end.
      this.#scheduled = true;
      // After the microtasks of this turn: every caller woken by the replies just read gets to call first.
      process.nextTick(this.#flush);
      return this.#driver.run(script, args);
    }
    const kind = kindOf(script, args);
    const reply = new Promise((resolve, reject) => {
      this.#queue.push({ kind, script, args, resolve, reject });
    });
    this.#tailLength = kind === this.#tailKind ? this.#tailLength + 1 : 1;
    this.#tailKind = kind;
    if (kind !== ALONE && this.#tailLength === MERGED) this.#drain();
    return reply;
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
    this.#drain();
  }

  /**
   * Sends the queue in order: its last run merged when it is complete, or at the end of the tick long
   * enough; every other call alone.
   */
  #drain(): void {
    const queue = this.#queue;
    const merged = this.#tailKind !== ALONE && this.#tailLength >= MERGED_AT_END ? queue.length - this.#tailLength : queue.length;
    this.#tailKind = ALONE;
    this.#tailLength = 0;
    if (queue.length === 0) return;
    this.#queue = [];
    for (let index = 0; index < merged; index++) this.#sendAlone(queue[index]!);
    if (merged === queue.length) return;
    const run = merged === 0 ? queue : queue.slice(merged);
    if (run[0]!.kind === READ) this.#sendReads(run);
    else this.#sendWrites(run);
  }

  #sendAlone(call: Queued): void {
    this.#driver.run(call.script, call.args).then(call.resolve, call.reject);
  }

  #sendReads(calls: Queued[]): void {
    const keys = calls.map((call) => call.args[0]!);
    this.#driver.run({ ...scripts.readManyScript, numberOfKeys: keys.length }, keys).then(
      (replies) => {
        for (let index = 0; index < calls.length; index++) settle(calls[index]!, readManyEntry(replies as scripts.ReadManyReply, index));
      },
      (error: unknown) => rejectAll(calls, error),
    );
  }

  /**
   * The writes of a run: each stretch of at least {@link UNIFORM} writes with the same stale and ttl as one
   * write_many_uniform call, the writes between them as one write_many call.
   */
  #sendWrites(calls: Queued[]): void {
    // write's arguments are (key, data, stale, ttl, tags ''): most writes of a tick share stale and ttl (the
    // same expire, measured in the same millisecond), which write_many_uniform then checks once for all.
    let mixed = 0;
    let first = 0;
    for (let index = 1; index <= calls.length; index++) {
      const next = calls[index]?.args;
      const stretch = calls[first]!.args;
      if (next !== undefined && next[2] === stretch[2] && next[3] === stretch[3]) continue;
      if (index - first >= UNIFORM) {
        if (mixed < first) this.#sendMixed(calls.slice(mixed, first));
        this.#sendUniform(first === 0 && index === calls.length ? calls : calls.slice(first, index));
        mixed = index;
      }
      first = index;
    }
    if (mixed < calls.length) this.#sendMixed(mixed === 0 ? calls : calls.slice(mixed));
  }

  #sendMixed(calls: Queued[]): void {
    // write_many's arguments: the keys, atomic 0, then data, stale, ttl per key.
    const args: ScriptArgument[] = new Array(calls.length * 4 + 1);
    args[calls.length] = 0;
    for (let index = 0; index < calls.length; index++) {
      const call = calls[index]!.args;
      args[index] = call[0]!;
      args[calls.length + 1 + 3 * index] = call[1]!;
      args[calls.length + 2 + 3 * index] = call[2]!;
      args[calls.length + 3 + 3 * index] = call[3]!;
    }
    this.#sendMerged(scripts.writeManyScript, calls, args);
  }

  #sendUniform(calls: Queued[]): void {
    // write_many_uniform's arguments: the keys, stale, ttl, then each key's data.
    const count = calls.length;
    const args: ScriptArgument[] = new Array(2 * count + 2);
    args[count] = calls[0]!.args[2]!;
    args[count + 1] = calls[0]!.args[3]!;
    for (let index = 0; index < count; index++) {
      const call = calls[index]!.args;
      args[index] = call[0]!;
      args[count + 2 + index] = call[1]!;
    }
    this.#sendMerged(scripts.writeManyUniformScript, calls, args);
  }

  /** A merged write: each call settled with its entry's reply, 1 or 0 or an error's text. */
  #sendMerged(script: ScriptDefinition, calls: Queued[], args: ScriptArgument[]): void {
    this.#driver.run({ ...script, numberOfKeys: calls.length }, args).then(
      (replies) => {
        for (let index = 0; index < calls.length; index++) settle(calls[index]!, (replies as scripts.WriteManyReply)[index]);
      },
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

/** Gives a call its part of a many-key reply: an error reply there (a bulk string) is its error. */
function settle(call: Queued, reply: unknown): void {
  if (typeof reply === 'string' || Buffer.isBuffer(reply)) call.reject(new InlineReplyError(reply.toString()));
  else call.resolve(reply ?? null);
}

function rejectAll(calls: Queued[], error: unknown): void {
  for (const call of calls) call.reject(error);
}
