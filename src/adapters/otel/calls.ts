import { diag } from '@opentelemetry/api';
import type { TracingChannelSubscribers } from 'node:diagnostics_channel';

/** A tracing channel's message once the call is over: the channel has set `result` or `error`. */
export type Settled<M> = M & { result?: unknown; error?: unknown };

/**
 * The subscribers of a tracing channel that follow each call from start to end: `begin` when it starts,
 * `finish` with what `begin` returned once it is over: when its promise settled (`asyncEnd`), or when it
 * threw before returning one (`end` after `error`; no `asyncEnd` follows then).
 */
export function callSubscribers<M extends object, S>(begin: (message: M) => S, finish: (message: Settled<M>, state: S) => void): TracingChannelSubscribers<M> {
  const running = new WeakMap<M, S>();
  const over = (message: Settled<M>): void => {
    if (!running.has(message)) return;
    const state = running.get(message) as S;
    running.delete(message);
    finish(message, state);
  };
  return {
    start: guarded((message: M) => running.set(message, begin(message))),
    end: guarded((message: Settled<M>) => {
      if ('error' in message) over(message);
    }),
    asyncStart: ignore,
    asyncEnd: guarded(over),
    error: ignore,
  };
}

function ignore(): void {}

/**
 * A subscriber that throws would surface as an uncaught exception in the application: its error goes to the
 * OpenTelemetry diagnostic logger instead.
 */
export function guarded<M>(handler: (message: M) => void): (message: M) => void {
  return (message) => {
    try {
      handler(message);
    } catch (error) {
      diag.error('redis-lua-cache/otel: a subscriber failed', error);
    }
  };
}
