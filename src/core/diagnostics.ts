/**
 * What backends publish on `node:diagnostics_channel`, for tracing and metrics tools to subscribe to
 * (`redis-lua-cache/otel` is one such subscriber). Nothing is built or published while a channel has no
 * subscriber: each publisher checks `hasSubscribers` first.
 *
 * | Channel | Kind | Message | Published |
 * |---|---|---|---|
 * | `redis-lua-cache:operation` | tracing channel (`tracing:redis-lua-cache:operation:start`, `:end`, `:asyncStart`, `:asyncEnd`, `:error`) | {@link OperationMessage} | around every public operation of a backend |
 * | `redis-lua-cache:get-or-set` | channel | {@link GetOrSetLookupMessage} | once per `getOrSet` read of Redis: hit, miss or stale |
 * | `redis-lua-cache:factory` | tracing channel | {@link FactoryMessage} | around every factory `getOrSet` runs |
 * | `redis-lua-cache:lease-wait` | channel | {@link LeaseWaitMessage} | when a `getOrSet` that waited for another caller's lease stops waiting |
 *
 * # Caveats
 * - Messages of one channel share the {@link BackendInfo} object of their backend: never change it.
 * - The messages never hold a key, a value or a credential.
 *
 * # Examples
 * ```ts
 * import { tracingChannel } from 'node:diagnostics_channel';
 * import { OPERATION_CHANNEL, type OperationMessage } from 'redis-lua-cache';
 *
 * const started = new WeakMap<OperationMessage, number>();
 * tracingChannel<unknown, OperationMessage>(OPERATION_CHANNEL).subscribe({
 *   start: (message) => started.set(message, performance.now()),
 *   end: () => {},
 *   asyncStart: () => {},
 *   asyncEnd: (message) => console.log(message.backend.label, message.operation, performance.now() - started.get(message)!),
 *   error: (message) => console.warn(message.operation, message.error),
 * });
 * ```
 *
 * @module
 */
import { channel, tracingChannel } from 'node:diagnostics_channel';

import type { Operation } from './errors.js';

/** Name of the tracing channel around every backend operation; messages are {@link OperationMessage}s. */
export const OPERATION_CHANNEL = 'redis-lua-cache:operation';
/** Name of the channel of `getOrSet` lookups; messages are {@link GetOrSetLookupMessage}s. */
export const GET_OR_SET_CHANNEL = 'redis-lua-cache:get-or-set';
/** Name of the tracing channel around every `getOrSet` factory call; messages are {@link FactoryMessage}s. */
export const FACTORY_CHANNEL = 'redis-lua-cache:factory';
/** Name of the channel of ended lease waits; messages are {@link LeaseWaitMessage}s. */
export const LEASE_WAIT_CHANNEL = 'redis-lua-cache:lease-wait';

/**
 * A backend, as its messages describe it: fixed when it is built, shared by all its messages.
 *
 * # Caveats
 * `serverAddress` and `serverPort` are those of the connection URL (for a cluster, of its first seed: the
 * node that serves a key is not known above the driver); both are `undefined` for a backend built with
 * `.client()`. Never a user name or password.
 */
export interface BackendInfo {
  /** The backend's `label` (default `'redis'`). */
  readonly label: string;
  /** Host of the connection URL (of the first seed for a cluster). */
  readonly serverAddress: string | undefined;
  /** Port of the connection URL (of the first seed for a cluster). */
  readonly serverPort: number | undefined;
  /** Database index of a single node's URL; `undefined` for a cluster or a given client. */
  readonly database: number | undefined;
  /** Whether the backend talks to a Redis Cluster. */
  readonly clustered: boolean;
}

/** The operations {@link OPERATION_CHANNEL} traces: every public operation of a backend. */
export type TracedOperation = Exclude<Operation, 'connect'>;

/**
 * The message of one backend operation on {@link OPERATION_CHANNEL}. The tracing channel sets `result`
 * (what the operation resolved with: for `read`/`get` a `CacheValue` or `null`, for `readMany`/`getMany`
 * an array of them) or `error` (a `BackendError`, or the factory's own error for `getOrSet`).
 */
export interface OperationMessage {
  /** The backend the operation ran on. */
  readonly backend: BackendInfo;
  /** The public method called: `get`, `getOrSet`, `run`, ... */
  readonly operation: TracedOperation;
  /** For `run`, the name of the application's script; otherwise `undefined`. */
  readonly script: string | undefined;
  /** For a many-key operation, how many keys or entries it was given; otherwise `undefined`. */
  readonly batchSize: number | undefined;
  /** What the operation resolved with, once it did. */
  result?: unknown;
  /** Why the operation failed, once it did. */
  error?: unknown;
}

/** What a `getOrSet`'s read of Redis found: a fresh entry, none (or one whose tags were invalidated), or a stale one. */
export type LookupResult = 'hit' | 'miss' | 'stale';

/**
 * One `getOrSet` read of Redis on {@link GET_OR_SET_CHANNEL}. Callers that join a flight already running in
 * the process share its read: one message per read, not per caller.
 */
export interface GetOrSetLookupMessage {
  /** The backend of the `getOrSet`. */
  readonly backend: BackendInfo;
  /** What the read found. */
  readonly result: LookupResult;
}

/**
 * One factory call on {@link FACTORY_CHANNEL}: `refresh` is true for a stale entry refreshed (in the
 * background unless `softTimeout` waits for it), false for a value computed because none could be read.
 * The tracing channel sets `error` when the factory fails.
 */
export interface FactoryMessage {
  /** The backend of the `getOrSet` that runs the factory. */
  readonly backend: BackendInfo;
  /** Whether the factory refreshes a stale entry (else it computes a missing one). */
  readonly refresh: boolean;
  /** The factory's value, once it resolved. */
  result?: unknown;
  /** The factory's error, once it failed. */
  error?: unknown;
}

/**
 * How a wait for another caller's lease ended: its `value` arrived, this caller was granted the `lease`
 * (the holder released it, failed or was taken over after `lockTimeout`), or Redis failed (`error`).
 */
export type LeaseWaitOutcome = 'value' | 'lease' | 'error';

/** One ended wait on {@link LEASE_WAIT_CHANNEL}: a `getOrSet` that found the entry's lease held elsewhere and polled. */
export interface LeaseWaitMessage {
  /** The backend of the `getOrSet` that waited. */
  readonly backend: BackendInfo;
  /** Milliseconds from the first reply that said "wait" to the end of the wait. */
  readonly durationMs: number;
  /** How the wait ended. */
  readonly outcome: LeaseWaitOutcome;
}

/** @internal The publishers' handles on the channels (held here, so they live as long as the library). */
export const operationChannel = tracingChannel<unknown, OperationMessage>(OPERATION_CHANNEL);
/** @internal */
export const getOrSetChannel = channel(GET_OR_SET_CHANNEL);
/** @internal */
export const factoryChannel = tracingChannel<unknown, FactoryMessage>(FACTORY_CHANNEL);
/** @internal */
export const leaseWaitChannel = channel(LEASE_WAIT_CHANNEL);
