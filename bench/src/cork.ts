/**
 * The batching proposed for src/ioredis-runner.ts, as a function the bench applies around the runner.
 *
 * With ioredis auto-pipelining off, every command is one `socket.write`, i.e. one syscall; with it on, ioredis
 * gathers the commands of an event-loop turn into a Pipeline (a second Command and promise per command,
 * callbacks re-deferred with process.nextTick) flushed by setImmediate. Corking the socket sends the commands
 * issued in one tick (the continuations of one batch of replies, typically) in a few writev calls, without a
 * pipeline object. node-redis does much the same (it queues commands and writes them corked from a
 * setImmediate).
 *
 * The proposal is `first+chunk:8`: the first command of a tick is written at once, so that the server starts
 * on it while the client builds the others; the following ones are corked and leave in writes of 8, and the
 * remainder when the tick ends (process.nextTick). Writing everything at the end of the tick (`tick`) makes
 * client and server take turns over whole batches: at 16 in flight it is slower than no batching at all.
 * Measured side by side with `BENCH_CORK_MODES=tick,chunk:8,first+chunk:8,chunk:32 BENCH_ONLY=none`.
 *
 * Modes (BENCH_CORK_MODE, for the experiments; the default is the proposal):
 * - `tick`: everything a tick issues leaves in one write at the end of the tick;
 * - `first`: the first command of a tick leaves at once (the server starts on it while the client builds
 *   the others), the rest of the tick in one write at its end;
 * - `chunk:K`: as `tick`, and a write every K commands within the tick;
 * - `first+chunk:K`: both.
 *
 * Safe with ioredis because a corked socket only delays the bytes: ioredis has already queued each command
 * (commandQueue) in order when it writes it, and a command written while the socket is not ready goes to the
 * offline queue as before (only ready sockets are corked).
 */
import type { Cluster, Redis } from 'ioredis';

type Corkable = { cork(): void; uncork(): void; writable: boolean };

export const CORK_MODE = process.env.BENCH_CORK_MODE ?? 'first+chunk:8';

export function corkPerTick(client: Redis | Cluster, mode = CORK_MODE): () => void {
  const first = mode.startsWith('first');
  const chunk = Number(/chunk:(\d+)/.exec(mode)?.[1] ?? 0);
  let corked: Corkable[] | null = null;
  let count = 0;
  let started = false;
  const uncork = (): void => {
    const streams = corked;
    corked = null;
    started = false;
    if (streams) for (const stream of streams) stream.uncork();
  };
  const cork = (): void => {
    const nodes = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
    const streams: Corkable[] = [];
    for (const node of nodes) {
      const stream = (node as unknown as { stream?: Corkable }).stream;
      if (node.status === 'ready' && stream && stream.writable) {
        stream.cork();
        streams.push(stream);
      }
    }
    corked = streams;
    count = 0;
  };
  return () => {
    if (first && !started) {
      // The first call of the tick is written at once (not corked); the next ones are.
      started = true;
      process.nextTick(uncork);
      return;
    }
    if (corked === null) {
      cork();
      if (!first) process.nextTick(uncork);
      started = true;
    } else if (chunk > 0 && ++count >= chunk) {
      for (const stream of corked) {
        stream.uncork();
        stream.cork();
      }
      count = 0;
    }
  };
}
