import { randomBytes } from 'node:crypto';

import * as scripts from '../../generated/index.js';
import type { ValueCodec } from '../codecs/value-codec.js';
import type { CacheKey } from '../core/cache-key.js';
import { valueFromReply, type CacheValue } from '../core/cache-value.js';
import { factoryChannel, getOrSetChannel, leaseWaitChannel, type BackendInfo, type GetOrSetLookupMessage, type LeaseWaitMessage, type LeaseWaitOutcome, type LookupResult } from '../core/diagnostics.js';
import {
  BackendError,
  ConnectionError,
  FactoryError,
  FactoryTimeoutError,
  InvalidOptionError,
  InvalidValueError,
  type ErrorContext,
} from '../core/errors.js';
import type { RedisKey } from '../core/scripting.js';
import type { Driver } from '../driver/driver.js';
import { delay, withTimeout } from '../driver/settle.js';
import { Flights } from './flights.js';
import { resolveOptions, type Factory, type GetOrSetOptions, type ResolvedOptions } from './options.js';
import type { Tags } from './tags.js';

/** Receives the failures that `getOrSet` keeps from its callers. */
export type ErrorListener = (error: BackendError) => void;

/** What the cache layer needs from its backend. */
export interface GetOrSetConfig {
  readonly driver: Driver;
  readonly codec: ValueCodec;
  readonly maxValueBytes: number;
  readonly maxBackgroundRefreshes: number;
  readonly onError: ErrorListener;
  readonly tags: Tags;
  /** The backend, as the diagnostics messages describe it. */
  readonly info: BackendInfo;
}

/** @internal What is still held by `getOrSet` calls: every count is 0 once they all settled. */
export interface PendingWork {
  readonly flights: number;
  readonly refreshes: number;
  readonly factories: number;
}

// What a refresh that did not run resolves with (a factory may itself return undefined or null).
const NOT_REFRESHED: unique symbol = Symbol('not refreshed');

// read_or_lease's lease reply: the caller now holds the lease (other values: ms until it may take it over).
const LEASE_TAKEN = -1;
// Waiting for another caller's value: the first poll comes soon (most factories are quick), later ones
// back off to a bound that keeps a waiter's delay after the value lands within a few tens of milliseconds.
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 40;

// A pending entry outlives the lease, so that a holder slower than lockTimeout, and not taken over, still stores.
function pendingTtlOf(options: ResolvedOptions): number {
  return Math.max(options.ttl, options.lockTimeout);
}

// Rendering the key costs an encoding: only a failure pays it.
function contextOf(key: CacheKey): ErrorContext {
  return { operation: 'getOrSet', key: key.toString() };
}

// Failures of Redis itself, which getOrSet rides out by running the factory: the cache is an optimisation.
// Everything else (foreign data, stored bytes that do not decode) is the caller's to see.
function isOutage(error: BackendError): boolean {
  return error.code === 'CONNECTION' || error.code === 'AUTHENTICATION' || error.code === 'TIMEOUT' || error.code === 'SCRIPT';
}

/**
 * Runs `getOrSet` calls: coalesces them per key in this process ({@link Flights}), and across processes
 * with the lease that `read_or_lease` takes atomically with the read. It owns the factories it starts
 * and the background refreshes, and bounds the latter.
 */
export class GetOrSet {
  readonly #driver: Driver;
  readonly #codec: ValueCodec;
  readonly #maxValueBytes: number;
  readonly #maxRefreshes: number;
  readonly #onError: ErrorListener;
  readonly #tags: Tags;
  readonly #info: BackendInfo;
  readonly #flights = new Flights();
  readonly #refreshes = new Set<Promise<void>>();
  // Refreshes running, plus scripts in flight that may start one.
  #refreshSlots = 0;
  readonly #factories = new Set<AbortController>();
  // The leases this backend's factories hold, by token: given back on close().
  readonly #leases = new Map<string, { redisKey: RedisKey; key: CacheKey }>();
  // Lease tokens: random per process, so that no two processes share one, then a counter.
  readonly #tokenPrefix = randomBytes(9).toString('base64url');
  #tokenCount = 0;
  #closed = false;

  constructor(config: GetOrSetConfig) {
    this.#driver = config.driver;
    this.#codec = config.codec;
    this.#maxValueBytes = config.maxValueBytes;
    this.#maxRefreshes = config.maxBackgroundRefreshes;
    this.#onError = config.onError;
    this.#tags = config.tags;
    this.#info = config.info;
  }

  /** Returns the value at `redisKey`, computing it with `factory` when it is missing (see `RedisBackend.getOrSet`). */
  run<T>(redisKey: RedisKey, key: CacheKey, factory: Factory<T>, options: GetOrSetOptions): Promise<T> {
    const resolved = resolveOptions(options, key);
    if (typeof factory !== 'function') {
      throw new InvalidOptionError(`factory must be a function, got ${typeof factory}`, contextOf(key));
    }
    if (this.#closed) throw new ConnectionError('the backend is closed', contextOf(key));
    const id = Flights.idOf(redisKey);
    // A flight older than lockTimeout is not joined: its lease may be taken over by now, and a hung factory
    // must not keep this process from reading Redis again. It goes on, and may still store its value.
    let flight = this.#flights.running<T>(id, resolved.lockTimeout);
    if (flight === undefined) {
      const ticket = this.#flights.ticket();
      flight = this.#fly(id, ticket, redisKey, key, factory, resolved);
      this.#flights.start(id, ticket, flight);
    }
    if (resolved.hardTimeout === null) return flight;
    const hardTimeout = resolved.hardTimeout;
    const joined = flight;
    return withTimeout(flight, hardTimeout, () => {
      // Later callers start a flight of their own rather than join one that timed out.
      this.#flights.detach(id, joined);
      throw new FactoryTimeoutError(`no value within hardTimeout (${hardTimeout} ms); the factory goes on and stores its value when it finishes`, contextOf(key));
    });
  }

  /** @internal */
  pendingWork(): PendingWork {
    return { flights: this.#flights.size, refreshes: this.#refreshes.size, factories: this.#factories.size };
  }

  /**
   * Aborts the signal of every factory still running and gives back the leases they hold (so that other
   * processes need not wait lockTimeout for them); later calls reject with `ConnectionError`. Call it
   * before the driver closes.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const controller of this.#factories) controller.abort(new ConnectionError('the backend was closed'));
    const held = [...this.#leases];
    this.#leases.clear();
    await Promise.all(held.map(([token, { redisKey, key }]) => this.#release(redisKey, key, token)));
  }

  async #fly<T>(id: string, ticket: number, redisKey: RedisKey, key: CacheKey, factory: Factory<T>, options: ResolvedOptions): Promise<T> {
    // Every path awaits before it returns (hence `return await`, and #rideOut async): the flight lands in
    // `finally` only once it settles, and never before run() recorded it.
    try {
      // A fresh entry costs what get costs: the read-only script with the key alone. The lease is asked for
      // only when the entry is missing or stale, by read_or_lease, which reads it again atomically with it.
      let reply: scripts.ReadReply;
      try {
        reply = await scripts.read(this.#driver, redisKey);
      } catch (error) {
        return await this.#rideOut(error, key, factory);
      }
      if (reply === null) {
        this.#lookedUp('miss');
        return await this.#leaseOrWait(redisKey, key, factory, options, '');
      }
      // An entry whose tags were invalidated is missing: recomputed as one, with its field t telling which.
      if (reply[3] !== null) {
        let invalidated: boolean;
        try {
          invalidated = await this.#invalidated(reply[3], key);
        } catch (error) {
          return await this.#rideOut(error, key, factory);
        }
        if (invalidated) {
          this.#lookedUp('miss');
          return await this.#leaseOrWait(redisKey, key, factory, options, reply[3]);
        }
      }
      const data = this.#codec.decode<T>(reply[0], 'getOrSet', key);
      const fresh = reply[1] === null || Date.now() < reply[1];
      this.#lookedUp(fresh ? 'hit' : 'stale');
      if (fresh) return data;
      return await this.#refreshInBackground(redisKey, key, factory, options, valueFromReply(data, reply[1], reply[2]));
    } finally {
      this.#flights.land(id, ticket);
    }
  }

  /**
   * Redis failed: the factory's value is returned unstored, and the failure reported (foreign data and the
   * like are thrown, and so is everything once the backend is closed). `lease`, when the failed call was a
   * read_or_lease that may have run (it timed out, or its connection was lost), is settled afterwards as
   * its holder would: filled with the value, or released, best effort, so no lease is left to time out.
   */
  async #rideOut<T>(error: unknown, key: CacheKey, factory: Factory<T>, lease?: { redisKey: RedisKey; token: string; options: ResolvedOptions }): Promise<T> {
    const failure = this.#driver.toBackendError(error, contextOf(key));
    if (!isOutage(failure) || this.#closed) throw failure;
    this.#report(failure);
    if (lease === undefined || (failure.code !== 'TIMEOUT' && failure.code !== 'CONNECTION')) return this.#runFactory(factory, null);
    let data: T;
    try {
      data = await this.#runFactory(factory, null);
    } catch (factoryError) {
      void this.#release(lease.redisKey, key, lease.token);
      throw factoryError;
    }
    void this.#fill(lease.redisKey, key, lease.token, data, lease.options, null).catch(() => this.#release(lease.redisKey, key, lease.token));
    return data;
  }

  /** A missing entry: takes its lease and computes it, or waits for the caller that holds the lease. */
  async #leaseOrWait<T>(redisKey: RedisKey, key: CacheKey, factory: Factory<T>, options: ResolvedOptions, invalidated: Buffer | ''): Promise<T> {
    const token = this.#token();
    const pendingTtl = pendingTtlOf(options);
    let invalid = invalidated;
    let poll = FIRST_POLL_MS;
    // When this caller began waiting for another's lease: measured only while someone listens.
    let waitingSince: number | undefined;
    for (;;) {
      let reply: scripts.ReadOrLeaseReply;
      try {
        reply = await scripts.readOrLease(this.#driver, redisKey, Date.now(), token, options.lockTimeout, pendingTtl, 0, invalid === '' ? null : invalid);
      } catch (error) {
        this.#waitEnded(waitingSince, 'error');
        return this.#rideOut(error, key, factory, { redisKey, token, options });
      }
      const [data, , , lease, tags] = reply;
      if (waitingSince !== undefined && (data !== null || lease === LEASE_TAKEN)) {
        this.#waitEnded(waitingSince, data === null ? 'lease' : 'value');
        waitingSince = undefined;
      }
      if (data !== null) {
        // Written meanwhile: fresh, or stale (no lease is taken for it here: the next call refreshes it),
        // unless its own tags were invalidated too: then it is the one to recompute.
        if (tags === null) return this.#codec.decode<T>(data, 'getOrSet', key);
        let invalidated: boolean;
        try {
          invalidated = await this.#invalidated(tags, key);
        } catch (error) {
          return this.#rideOut(error, key, factory);
        }
        if (!invalidated) return this.#codec.decode<T>(data, 'getOrSet', key);
        invalid = tags;
        continue;
      }
      if (lease === LEASE_TAKEN) return this.#compute(redisKey, key, factory, options, token, null);
      // Another caller computes it: poll until its value is there, or until its lease may be taken over
      // (never sooner than 1 ms: a lease reply other than -1 means wait, whatever the number).
      if (waitingSince === undefined && leaseWaitChannel.hasSubscribers) waitingSince = performance.now();
      await delay(Math.max(1, Math.min(poll, lease, options.lockTimeout)));
      poll = Math.min(poll * 2, MAX_POLL_MS);
    }
  }

  #lookedUp(result: LookupResult): void {
    if (getOrSetChannel.hasSubscribers) getOrSetChannel.publish({ backend: this.#info, result } satisfies GetOrSetLookupMessage);
  }

  #waitEnded(since: number | undefined, outcome: LeaseWaitOutcome): void {
    if (since !== undefined && leaseWaitChannel.hasSubscribers) {
      leaseWaitChannel.publish({ backend: this.#info, durationMs: performance.now() - since, outcome } satisfies LeaseWaitMessage);
    }
  }

  #invalidated(tags: Buffer, key: CacheKey): Promise<boolean> {
    return this.#tags.invalidated([tags], 'getOrSet', () => key.toString()).then((flags) => flags[0] === true);
  }

  /**
   * A stale entry: returned at once (after `softTimeout` at most), while this backend asks for its lease
   * and, granted it, refreshes it. Without a free refresh slot it is returned without a refresh.
   */
  #refreshInBackground<T>(redisKey: RedisKey, key: CacheKey, factory: Factory<T>, options: ResolvedOptions, stale: CacheValue<T>): Promise<T> {
    if (this.#refreshSlots >= this.#maxRefreshes) return Promise.resolve(stale.data);
    this.#refreshSlots += 1;
    const refresh = this.#refresh(redisKey, key, factory, options, stale);
    const tracked = refresh.then(
      () => undefined,
      (error: unknown) => {
        this.#report(error instanceof BackendError ? error : new FactoryError('the factory failed refreshing a stale entry; the stale value is served until it expires', contextOf(key), { cause: error }));
      },
    );
    this.#refreshes.add(tracked);
    // The slot comes back when the refresh ends, or after lockTimeout (its lease can be taken over by then):
    // refreshes that hang must not stop this backend from refreshing other entries.
    let slotHeld = true;
    const giveBack = (): void => {
      if (slotHeld) this.#refreshSlots -= 1;
      slotHeld = false;
    };
    const timer = setTimeout(giveBack, options.lockTimeout);
    timer.unref();
    void tracked.then(() => {
      clearTimeout(timer);
      this.#refreshes.delete(tracked);
      giveBack();
    });
    if (options.softTimeout === 0) return Promise.resolve(stale.data);
    return withTimeout(
      refresh.then((fresh) => (fresh === NOT_REFRESHED ? stale.data : fresh), () => stale.data),
      options.softTimeout,
      () => stale.data,
    );
  }

  /** Takes the lease of a stale entry and refreshes it; NOT_REFRESHED when another caller holds it or it changed. */
  async #refresh<T>(redisKey: RedisKey, key: CacheKey, factory: Factory<T>, options: ResolvedOptions, stale: CacheValue<T>): Promise<T | typeof NOT_REFRESHED> {
    const token = this.#token();
    const [data, , , lease] = await scripts.readOrLease(this.#driver, redisKey, Date.now(), token, options.lockTimeout, pendingTtlOf(options), 1, null).catch((error: unknown) => {
      throw this.#driver.toBackendError(error, contextOf(key));
    });
    if (lease !== LEASE_TAKEN) return NOT_REFRESHED;
    if (data === null) {
      // Gone since it was read (removed, or expired): there is nothing to refresh, and a refresh must not bring
      // back an entry removed after it started. The next caller computes it as a missing entry, in a flight.
      await this.#release(redisKey, key, token);
      return NOT_REFRESHED;
    }
    return this.#compute(redisKey, key, factory, options, token, stale);
  }

  #token(): string {
    return this.#tokenPrefix + (++this.#tokenCount).toString(36);
  }

  /**
   * Runs the factory as the lease holder and stores its value with the lease. When the factory fails on a
   * missing entry, the lease is released so that the next caller tries at once; on a stale entry it is
   * kept, so the next refresh waits lockTimeout (a failing source is not hammered).
   */
  async #compute<T>(redisKey: RedisKey, key: CacheKey, factory: Factory<T>, options: ResolvedOptions, token: string, stale: CacheValue<T> | null): Promise<T> {
    this.#leases.set(token, { redisKey, key });
    try {
      return await this.#computeLeased(redisKey, key, factory, options, token, stale);
    } finally {
      this.#leases.delete(token);
    }
  }

  async #computeLeased<T>(redisKey: RedisKey, key: CacheKey, factory: Factory<T>, options: ResolvedOptions, token: string, stale: CacheValue<T> | null): Promise<T> {
    // The tags' tokens as they are before the factory runs: an invalidation while it runs voids its value.
    let tagsField: Buffer | null = null;
    if (options.tags.length > 0) {
      try {
        tagsField = await this.#tags.field(options.tags, contextOf(key));
      } catch (error) {
        // A background refresh has nobody to give a value to: it fails (reported), the stale value stays.
        if (stale !== null) throw error;
        await this.#release(redisKey, key, token);
        return await this.#rideOut(error, key, factory);
      }
    }
    let data: T;
    let bytes: Buffer;
    try {
      data = await this.#runFactory(factory, stale);
      bytes = this.#encode(data, key);
    } catch (error) {
      if (stale === null) await this.#release(redisKey, key, token);
      throw error;
    }
    try {
      await this.#fill(redisKey, key, token, data, options, tagsField, bytes);
    } catch (error) {
      this.#report(this.#driver.toBackendError(error, contextOf(key)));
    }
    return data;
  }

  /** Stores `data` (as `bytes`, when already encoded) with the lease of `token`; rejects when that fails. */
  async #fill<T>(redisKey: RedisKey, key: CacheKey, token: string, data: T, options: ResolvedOptions, tagsField: Buffer | null, bytes?: Buffer): Promise<void> {
    const encoded = bytes ?? this.#encode(data, key);
    const staleAt = options.staleAfter === null ? null : Date.now() + options.staleAfter;
    await scripts.fill(this.#driver, redisKey, token, encoded, staleAt, options.ttl, tagsField);
  }

  #encode(data: unknown, key: CacheKey): Buffer {
    const bytes = this.#codec.encode(data, 'getOrSet', key);
    if (bytes.length > this.#maxValueBytes) {
      throw new InvalidValueError(`the factory's value is ${bytes.length} bytes encoded, more than maxValueBytes (${this.#maxValueBytes}); nothing was stored`, contextOf(key));
    }
    return bytes;
  }

  async #release(redisKey: RedisKey, key: CacheKey, token: string): Promise<void> {
    try {
      await scripts.release(this.#driver, redisKey, token);
    } catch (error) {
      this.#report(this.#driver.toBackendError(error, contextOf(key)));
    }
  }

  async #runFactory<T>(factory: Factory<T>, stale: CacheValue<T> | null): Promise<T> {
    const controller = new AbortController();
    this.#factories.add(controller);
    try {
      const context = { stale, signal: controller.signal };
      return await (factoryChannel.hasSubscribers ? factoryChannel.tracePromise(factory, { backend: this.#info, refresh: stale !== null }, undefined, context) : factory(context));
    } finally {
      this.#factories.delete(controller);
    }
  }

  #report(error: BackendError): void {
    try {
      const returned: unknown = this.#onError(error);
      // An async listener that rejects must not become an unhandled rejection either.
      if (typeof (returned as PromiseLike<unknown> | undefined)?.then === 'function') (returned as PromiseLike<unknown>).then(undefined, () => undefined);
    } catch {
      // A listener that throws must not turn a failure getOrSet rides out into one its caller sees.
    }
  }
}
