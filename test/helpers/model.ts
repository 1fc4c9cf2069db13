/**
 * A property-based test of the backend against an in-memory model of its documented behaviour (README:
 * Values, The backend, Storage layout). fast-check generates sequences of write / set, read / get,
 * remove / delete, direct inspections of Redis and real waits ("advance time": Redis' clock cannot be
 * faked, so the wait is the behaviour under test) over a small pool of keys, runs them against a real
 * server or cluster, and checks every reply against the model.
 *
 * The model, per key of the pool, is `{ data, stale, expireLo, expireHi }` (or nothing):
 * - write/set replaces the whole entry: data, stale (or none) and expire (or none); nothing old survives;
 * - an expire not in the future (at most the time before the call) stores nothing and removes the entry;
 * - the real expiry lies in [expireLo, expireHi]: expireLo is the expire given, expireHi adds the duration
 *   of the write call (the backend turns expire into a TTL relative to its own clock, then Redis adds the
 *   TTL to its clock when the script runs, a little later);
 * - an operation spanning [t0, t1] sees the entry certainly present when t1 < expireLo - FUZZ_MS, certainly
 *   absent when t0 > expireHi + FUZZ_MS, and either otherwise; an entry seen absent is dropped from the
 *   model (it cannot come back);
 * - read/get of a present entry: data byte for byte (get: what the format decodes from those bytes),
 *   stale exact to the millisecond, expire null without TTL, else within [expireLo, expireHi + read
 *   duration] (+ EXPIRE_SLACK_MS for millisecond rounding);
 * - remove/delete: { kind: 'deleted', count: 1 } when present, { kind: 'missing' } when absent, either
 *   in the fuzzy window; afterwards the entry is absent;
 * - inspect (MULTI TYPE / HGETALL / PTTL through a plain client): a present entry is a hash with exactly
 *   field d (the bytes) and, when it has a stale time, s (its decimal epoch ms); PTTL is -1 without
 *   expire, else consistent with [expireLo, expireHi]; an absent entry does not exist.
 * After each run every key of the pool is read and inspected; then, when some entry expires within a second,
 * the run waits until all of those are certainly expired and reads and inspects every key again (short-lived
 * entries must be gone, the others unchanged). Each run uses a key prefix of its own, and deletes its keys.
 */
import fc from 'fast-check';
import type { Cluster, Redis } from 'ioredis';
import * as assert from 'uvu/assert';

import {
  BackendError,
  CacheKey,
  CacheKeyFormat,
  CacheValue,
  DEFAULT_LOCK_TIMEOUT,
  FactoryError,
  FormatError,
  MsgpackFormat,
  type DeleteStatus,
  type FactoryContext,
  type GetOrSetOptions,
  type RedisBackend,
  type RedisKey,
} from '../../src/index.js';

/** Width of the window around an expiry in which both "present" and "absent" are accepted. */
export const FUZZ_MS = 25;
/** Extra allowance on the derived expire / PTTL bounds, for millisecond truncation on either side. */
export const EXPIRE_SLACK_MS = 3;
/** The largest time a JavaScript Date can hold. */
const MAX_DATE_MS = 8.64e15;

// ---------------------------------------------------------------------------------------------------------
// The key pool

type FormatName = 'url' | 'compact';

interface SlotSpec {
  readonly format: FormatName;
  readonly parts: readonly { key: string; value?: string }[];
}

/**
 * Five keys. Slots 0 and 1 are the same CacheKey in the two formats (they must not collide); slots 3 and 4
 * differ only by `flag` versus `flag=` (distinct keys in Compact); part texts need percent-encoding.
 */
const SLOTS: readonly SlotSpec[] = [
  { format: 'url', parts: [{ key: 'path', value: '/a b/ü&x=1' }] },
  { format: 'compact', parts: [{ key: 'path', value: '/a b/ü&x=1' }] },
  { format: 'url', parts: [{ key: 'flag' }, { key: 'n', value: '2' }] },
  { format: 'compact', parts: [{ key: 'flag' }] },
  { format: 'compact', parts: [{ key: 'flag', value: '' }] },
];

const FORMATS: Record<FormatName, CacheKeyFormat> = { url: CacheKeyFormat.UrlEncoded, compact: CacheKeyFormat.Compact };

interface PoolKey {
  readonly key: CacheKey;
  readonly format: FormatName;
  readonly redisKey: RedisKey;
}

function keyPool(prefix: string): PoolKey[] {
  return SLOTS.map((slot) => {
    const key = new CacheKey(prefix, 7, slot.parts);
    return { key, format: slot.format, redisKey: FORMATS[slot.format].encode(key) };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Model and system under test

export interface Entry {
  readonly data: Buffer;
  readonly stale: number | null;
  /** Expire given to the write (epoch ms), null without expire. */
  readonly expireLo: number | null;
  /** expireLo plus the write's duration. */
  readonly expireHi: number | null;
  /**
   * Field l of the entry's hash: the id of the stale refresh that holds the lease, or 'orphan' for a lease
   * nobody will fill or release (a failed refresh keeps it, so that the next one waits lockTimeout).
   * Absent: no field l.
   */
  readonly lease?: number | 'orphan';
}

/** A pending entry: a hash with only the lease (field l) of the missing entry's getOrSet. */
export interface PendingKey {
  readonly lease: number;
  /** read_or_lease gives it a TTL of max(ttl, lockTimeout), from the server's clock during the call. */
  readonly expireLo: number;
  readonly expireHi: number;
}

/** A factory the model saw called and the run has not finished yet. */
export interface PendingFactory {
  /** The id of the getOrSet command whose factory it is. */
  readonly id: number;
  readonly slot: number;
  /** 'miss': its flight is open (calls join it) and waits for it; 'stale': a background refresh. */
  readonly kind: 'miss' | 'stale';
  readonly options: GetOrSetSpec;
  /** Ids of the getOrSet calls waiting for it (miss: the first and those that joined; stale: none). */
  readonly callers: number[];
}

export interface Model {
  readonly entries: Map<number, Entry>;
  readonly pendingKeys: Map<number, PendingKey>;
  /** In the order they were called. */
  readonly factories: PendingFactory[];
  /** Ids of every factory called so far in the run, in order: nothing else may have been called. */
  readonly called: number[];
  nextId: number;
}

/** The lease on a slot's key: the id of the factory whose fill would store, 'orphan', or none. */
function leaseOf(m: Model, slot: number): number | 'orphan' | undefined {
  return m.entries.get(slot)?.lease ?? m.pendingKeys.get(slot)?.lease;
}

function openFlight(m: Model, slot: number): PendingFactory | undefined {
  return m.factories.find((f) => f.kind === 'miss' && f.slot === slot);
}

export interface Real {
  /** One backend per key format, default value format (MessagePack) and no compression. */
  readonly backends: Record<FormatName, RedisBackend>;
  /** A plain client of the target (a Redis, or an ioredis Cluster). */
  readonly admin: Redis | Cluster;
  readonly pool: readonly PoolKey[];
  /** Totals over the whole property, for the report. */
  readonly stats: RunStats;
  /** What the backends gave their error listener (`onError`); emptied when a run starts. */
  readonly errors: BackendError[];
  /** Per getOrSet command id: its call, and the deferred its factory returns when it is called. */
  readonly calls: Map<number, CallRecord>;
  readonly factories: Map<number, Deferred<unknown>>;
  /** Ids of the factories that were called, in order. */
  readonly called: number[];
}

export type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface CallRecord {
  readonly promise: Promise<Settled>;
  settled: Settled | null;
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  // A joiner's factory is never called: nobody awaits its promise, which the end of a failed run rejects.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function track(call: Promise<unknown>): CallRecord {
  const record: { promise: Promise<Settled>; settled: Settled | null } = { promise: undefined as unknown as Promise<Settled>, settled: null };
  record.promise = call.then(
    (value): Settled => (record.settled = { ok: true, value }),
    (error: unknown): Settled => (record.settled = { ok: false, error }),
  );
  return record;
}

/** `promise`, or a failure naming `what` after `ms`: a deadline for an event, not a stand-in for one. */
async function within<T>(promise: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${typeof what === 'string' ? what : what()}: nothing happened within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Lets every microtask run: what a settled promise or a called factory leads to in this process happens before. */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const EVENT_DEADLINE_MS = 3000;

export interface RunStats {
  runs: number;
  commands: number;
  waitedMs: number;
  /** Time spent after runs waiting for short-lived entries to expire. */
  settledMs: number;
  /** Operations whose outcome fell in the fuzzy window of an expiry, and what they saw. */
  fuzzyPresent: number;
  fuzzyAbsent: number;
  /** Reads, removes and inspections that found an entry with an expire gone (certainly or in the fuzzy window). */
  expiredSeen: number;
  /** getOrSet calls by what they met: a fresh entry, a stale one (refresh started / already leased), a miss, an open flight. */
  gosFresh: number;
  gosStale: number;
  gosStaleLeased: number;
  gosMiss: number;
  gosJoined: number;
  /** Factories finished with their lease standing (value stored, or released), and with it voided. */
  fills: number;
  voided: number;
  rejected: number;
}

type Presence = 'present' | 'absent' | 'either';

function presence(entry: Entry | undefined, t0: number, t1: number): Presence {
  if (entry === undefined) return 'absent';
  if (entry.expireLo === null || entry.expireHi === null) return 'present';
  if (t1 < entry.expireLo - FUZZ_MS) return 'present';
  if (t0 > entry.expireHi + FUZZ_MS) return 'absent';
  return 'either';
}

/** Counts what an operation observed, for the report. */
function observed(r: Real, entry: Entry | undefined, seen: Presence, present: boolean): void {
  if (seen === 'either') {
    if (present) r.stats.fuzzyPresent += 1;
    else r.stats.fuzzyAbsent += 1;
  }
  if (!present && entry !== undefined && entry.expireLo !== null) r.stats.expiredSeen += 1;
}

function describeEntry(entry: Entry | undefined): string {
  if (entry === undefined) return 'no entry';
  const lease = entry.lease === undefined ? '' : `, lease: ${entry.lease === 'orphan' ? 'orphan' : `getOrSet #${entry.lease}`}`;
  return `entry { data: ${hex(entry.data)}, stale: ${entry.stale}, expire: ${entry.expireLo === null ? 'none' : `[${entry.expireLo}, ${entry.expireHi}]`}${lease} }`;
}

/** A lease, field l: the server's clock in ms when it was taken, a space, the holder's token. */
const LEASE_FORMAT = /^\d+ \S+$/;

function hex(bytes: Buffer): string {
  return `<${bytes.length} bytes${bytes.length > 0 ? ` ${bytes.toString('hex')}` : ''}>`;
}

/** Decodes as the typed layer must (no compression): the value, or the error the format throws. */
function decodeLocally(bytes: Buffer): { ok: true; value: unknown } | { ok: false; error: unknown } {
  try {
    // A fresh decoder each time: nothing a previous decode left behind can matter.
    return { ok: true, value: new MsgpackFormat().deserialize(bytes) };
  } catch (error) {
    return { ok: false, error };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Generated parameters

export type ExpireSpec =
  | { kind: 'none' }
  /** expire = now - ms (0: exactly now, which is not in the future either). */
  | { kind: 'past'; ms: number }
  | { kind: 'near'; ms: number }
  | { kind: 'far'; ms: number }
  /** The largest Date there is. */
  | { kind: 'max' };

export type StaleSpec =
  | { kind: 'none' }
  | { kind: 'before'; ms: number }
  /** now + permille/1000 of the time to expire (of 60 s without expire). */
  | { kind: 'between'; permille: number }
  /** expire (now without expire) + ms. */
  | { kind: 'after'; ms: number }
  | { kind: 'absolute'; at: number };

function showExpire(spec: ExpireSpec): string {
  switch (spec.kind) {
    case 'none':
      return 'none';
    case 'past':
      return `now-${spec.ms}ms`;
    case 'near':
    case 'far':
      return `now+${spec.ms}ms`;
    case 'max':
      return 'max Date (8.64e15)';
  }
}

function showStale(spec: StaleSpec): string {
  switch (spec.kind) {
    case 'none':
      return 'none';
    case 'before':
      return `now-${spec.ms}ms`;
    case 'between':
      return `between now and expire (${spec.permille}‰)`;
    case 'after':
      return `expire+${spec.ms}ms`;
    case 'absolute':
      return `at ${spec.at}`;
  }
}

function expireAt(spec: ExpireSpec, now: number): number | null {
  switch (spec.kind) {
    case 'none':
      return null;
    case 'past':
      return now - spec.ms;
    case 'near':
    case 'far':
      return now + spec.ms;
    case 'max':
      return MAX_DATE_MS;
  }
}

function staleAt(spec: StaleSpec, now: number, expire: number | null): number | null {
  switch (spec.kind) {
    case 'none':
      return null;
    case 'before':
      return now - spec.ms;
    case 'between':
      return now + Math.floor(((expire ?? now + 60_000) - now) * (spec.permille / 1000));
    case 'after':
      return Math.min(MAX_DATE_MS, (expire ?? now) + spec.ms);
    case 'absolute':
      return spec.at;
  }
}

function expireArb(maxDate: boolean): fc.Arbitrary<ExpireSpec> {
  const choices: fc.WeightedArbitrary<ExpireSpec>[] = [
    { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 5000 }).map((ms) => ({ kind: 'past' as const, ms })) },
    // 30-300 ms, the shorter half more often, so that entries do expire within a run's waits.
    { weight: 4, arbitrary: fc.integer({ min: 30, max: 120 }).map((ms) => ({ kind: 'near' as const, ms })) },
    { weight: 2, arbitrary: fc.integer({ min: 121, max: 300 }).map((ms) => ({ kind: 'near' as const, ms })) },
    // 1 hour to 1 year, in whole seconds (fc.integer stops at 2^31-1).
    { weight: 3, arbitrary: fc.integer({ min: 3600, max: 365 * 86_400 }).map((s) => ({ kind: 'far' as const, ms: s * 1000 })) },
  ];
  if (maxDate) choices.push({ weight: 1, arbitrary: fc.constant({ kind: 'max' as const }) });
  return fc.oneof(...choices);
}

const wholeDateRange = fc.double({ min: -MAX_DATE_MS, max: MAX_DATE_MS, noNaN: true }).map((x) => Math.trunc(x) || 0);

const staleArb: fc.Arbitrary<StaleSpec> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 86_400_000 }).map((ms) => ({ kind: 'before' as const, ms })) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 999 }).map((permille) => ({ kind: 'between' as const, permille })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 86_400_000 }).map((ms) => ({ kind: 'after' as const, ms })) },
  {
    weight: 1,
    arbitrary: fc.oneof(fc.constantFrom(0, -1, MAX_DATE_MS, -MAX_DATE_MS), wholeDateRange).map((at) => ({ kind: 'absolute' as const, at })),
  },
);

/** Values the typed layer stores (MessagePack). */
const typedValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxLength: 5 }),
  fc.record({ name: fc.string({ maxLength: 10 }), n: fc.integer(), tags: fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }) }),
  fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes)),
);

/** Raw data: random bytes (often not valid MessagePack), nothing at all, or a valid MessagePack value. */
const rawDataArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 48 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
  { weight: 2, arbitrary: typedValueArb.map((value) => new MsgpackFormat().serialize(value)) },
);

/**
 * Half of the commands go to two keys (one per backend), so that getOrSet meets the entries, leases and
 * pending entries of the commands around it often; the rest go to any key of the pool.
 */
const slotArb = fc.oneof(fc.constantFrom(0, 3), fc.integer({ min: 0, max: SLOTS.length - 1 }));

function slotName(slot: number): string {
  return `k${slot}/${SLOTS[slot]!.format}`;
}

// ---------------------------------------------------------------------------------------------------------
// Commands

type Cmd = fc.AsyncCommand<Model, Real>;

export class WriteCmd implements Cmd {
  constructor(
    readonly slot: number,
    readonly payload: { layer: 'raw'; data: Buffer } | { layer: 'typed'; value: unknown },
    readonly expire: ExpireSpec,
    readonly stale: StaleSpec,
  ) {}

  check(): boolean {
    return true;
  }

  async run(m: Model, r: Real): Promise<void> {
    const { key, format } = r.pool[this.slot]!;
    const backend = r.backends[format];
    const data = this.payload.layer === 'raw' ? this.payload.data : new MsgpackFormat().serialize(this.payload.value);
    const t0 = Date.now();
    const expire = expireAt(this.expire, t0);
    const stale = staleAt(this.stale, t0, expire);
    const expireDate = expire === null ? null : new Date(expire);
    const staleDate = stale === null ? null : new Date(stale);
    if (this.payload.layer === 'raw') await backend.write(key, new CacheValue(this.payload.data, expireDate, staleDate));
    else await backend.set(key, new CacheValue(this.payload.value, expireDate, staleDate));
    const t1 = Date.now();
    // The backend reads the clock after t0: an expire at or before t0 is never in the future for it.
    // Either way a pending entry's lease is gone with it: its getOrSet's late value is not stored.
    m.pendingKeys.delete(this.slot);
    if (expire !== null && expire <= t0) m.entries.delete(this.slot);
    else m.entries.set(this.slot, { data, stale, expireLo: expire, expireHi: expire === null ? null : expire + (t1 - t0) });
  }

  toString(): string {
    const what = this.payload.layer === 'raw' ? `write(${slotName(this.slot)}, ${hex(this.payload.data)}` : `set(${slotName(this.slot)}, ${fc.stringify(this.payload.value)}`;
    return `${what}, expire ${showExpire(this.expire)}, stale ${showStale(this.stale)})`;
  }
}

export class ReadCmd implements Cmd {
  constructor(
    readonly slot: number,
    readonly layer: 'raw' | 'typed',
  ) {}

  check(): boolean {
    return true;
  }

  async run(m: Model, r: Real): Promise<void> {
    const { key, format } = r.pool[this.slot]!;
    const backend = r.backends[format];
    const entry = m.entries.get(this.slot);
    const t0 = Date.now();
    let got: CacheValue<unknown> | null;
    let decodeError: unknown = null;
    if (this.layer === 'raw') {
      got = await backend.read(key);
    } else {
      try {
        got = await backend.get<unknown>(key);
      } catch (error) {
        if (!(error instanceof FormatError)) throw error;
        got = null;
        decodeError = error;
      }
    }
    const t1 = Date.now();
    const seen = presence(entry, t0, t1);
    const context = `${this}: model holds ${describeEntry(entry)}, call spanned [${t0}, ${t1}] (${seen})`;

    if (decodeError !== null) {
      // The entry was there, and its bytes are not MessagePack: the local decoder must refuse them too.
      assert.ok(seen !== 'absent' && entry !== undefined, `${context}: FormatError for an absent entry: ${String(decodeError)}`);
      const local = decodeLocally(entry.data);
      assert.ok(!local.ok, `${context}: get threw ${String(decodeError)} but the stored bytes decode to ${fc.stringify(local.ok ? local.value : null)}`);
      observed(r, entry, seen, true);
      return;
    }
    if (got === null) {
      assert.ok(seen !== 'present', `${context}: got null for an entry that must be present`);
      observed(r, entry, seen, false);
      m.entries.delete(this.slot);
      return;
    }
    assert.ok(seen !== 'absent' && entry !== undefined, `${context}: got a value for an entry that must be absent (data ${this.layer === 'raw' ? hex(got.data as Buffer) : fc.stringify(got.data)})`);
    observed(r, entry, seen, true);

    if (this.layer === 'raw') {
      assert.ok(Buffer.isBuffer(got.data), `${context}: data is not a Buffer`);
      assert.ok((got.data as Buffer).equals(entry.data), `${context}: data ${hex(got.data as Buffer)}, want ${hex(entry.data)}`);
    } else {
      const local = decodeLocally(entry.data);
      assert.ok(local.ok, `${context}: get decoded ${fc.stringify(got.data)} from bytes the format refuses`);
      assert.equal(got.data, local.value, `${context}: get returned ${fc.stringify(got.data)}, want ${fc.stringify(local.value)}`);
    }

    assert.is(got.stale === null ? null : got.stale.getTime(), entry.stale, `${context}: stale ${got.stale?.getTime()}, want ${entry.stale}`);

    if (entry.expireLo === null || entry.expireHi === null) {
      assert.is(got.expire, null, `${context}: expire ${got.expire?.getTime()}, want none`);
    } else {
      const at = got.expire?.getTime();
      const lo = entry.expireLo - EXPIRE_SLACK_MS;
      const hi = entry.expireHi + (t1 - t0) + EXPIRE_SLACK_MS;
      assert.ok(at !== undefined && at >= lo && at <= hi, `${context}: expire ${got.expire === null ? 'none' : at}, want within [${lo}, ${hi}]`);
    }
  }

  toString(): string {
    return `${this.layer === 'raw' ? 'read' : 'get'}(${slotName(this.slot)})`;
  }
}

export class RemoveCmd implements Cmd {
  constructor(
    readonly slot: number,
    readonly layer: 'raw' | 'typed',
  ) {}

  check(): boolean {
    return true;
  }

  async run(m: Model, r: Real): Promise<void> {
    const { key, format } = r.pool[this.slot]!;
    const backend = r.backends[format];
    const entry = m.entries.get(this.slot);
    const t0 = Date.now();
    const status: DeleteStatus = this.layer === 'raw' ? await backend.remove(key) : await backend.delete(key);
    const t1 = Date.now();
    const seen = presence(entry, t0, t1);
    const context = `${this}: model holds ${describeEntry(entry)}, call spanned [${t0}, ${t1}] (${seen})`;
    const deleted = { kind: 'deleted', count: 1 };
    const missing = { kind: 'missing' };
    observed(r, entry, seen, status.kind === 'deleted');
    if (seen === 'present') assert.equal(status, deleted, `${context}: got ${JSON.stringify(status)}`);
    else if (seen === 'absent') assert.equal(status, missing, `${context}: got ${JSON.stringify(status)}`);
    else assert.ok(JSON.stringify(status) === JSON.stringify(deleted) || JSON.stringify(status) === JSON.stringify(missing), `${context}: got ${JSON.stringify(status)}`);
    // A pending entry is no entry (the reply says missing), but it is removed, and its lease with it.
    m.entries.delete(this.slot);
    m.pendingKeys.delete(this.slot);
  }

  toString(): string {
    return `${this.layer === 'raw' ? 'remove' : 'delete'}(${slotName(this.slot)})`;
  }
}

export class WaitCmd implements Cmd {
  constructor(readonly ms: number) {}

  check(): boolean {
    return true;
  }

  async run(_m: Model, r: Real): Promise<void> {
    r.stats.waitedMs += this.ms;
    await new Promise((resolve) => setTimeout(resolve, this.ms));
  }

  toString(): string {
    return `wait(${this.ms}ms)`;
  }
}

/** Looks at the key directly (one MULTI: TYPE, HGETALL, PTTL) and checks the storage layout. */
async function inspect(m: Model, r: Real, slot: number, label: string): Promise<void> {
  const { redisKey } = r.pool[slot]!;
  const entry = m.entries.get(slot);
  const t0 = Date.now();
  const replies = await r.admin.multi().type(redisKey).hgetallBuffer(redisKey).pttl(redisKey).exec();
  const t1 = Date.now();
  const seen = presence(entry, t0, t1);
  const context = `${label}: model holds ${describeEntry(entry)}, MULTI spanned [${t0}, ${t1}] (${seen})`;
  assert.ok(replies !== null && replies.every(([error]) => error === null), `${context}: MULTI failed: ${String(replies?.find(([error]) => error)?.[0])}`);
  const type = replies[0]![1] as string;
  const fields = replies[1]![1] as Record<string, Buffer>;
  const pttl = replies[2]![1] as number;
  const pending = m.pendingKeys.get(slot);
  if (pending !== undefined) {
    // Its TTL is at least lockTimeout (10 s or more here): it cannot expire within a run.
    assert.is(type, 'hash', `${label}: model holds a pending entry (lease of getOrSet #${pending.lease}), MULTI spanned [${t0}, ${t1}]: type ${type}`);
    const names = Object.keys(fields).sort();
    const at = `${label}: model holds a pending entry (lease of getOrSet #${pending.lease}), MULTI spanned [${t0}, ${t1}]`;
    assert.equal(names, ['l'], `${at}: fields ${names.join(',')}`);
    assert.match(fields.l!.toString('latin1'), LEASE_FORMAT, `${at}: field l ${fields.l!.toString('latin1')}`);
    const lo = Math.max(0, pending.expireLo - t1 - EXPIRE_SLACK_MS);
    const hi = pending.expireHi - t0 + EXPIRE_SLACK_MS;
    assert.ok(pttl >= lo && pttl <= hi, `${at}: PTTL ${pttl}, want within [${lo}, ${hi}]`);
    return;
  }
  if (type === 'none') {
    assert.ok(seen !== 'present', `${context}: the key does not exist`);
    observed(r, entry, seen, false);
    m.entries.delete(slot);
    return;
  }
  assert.ok(seen !== 'absent' && entry !== undefined, `${context}: the key exists (type ${type}, fields ${Object.keys(fields).join(',')}, PTTL ${pttl})`);
  observed(r, entry, seen, true);
  assert.is(type, 'hash', `${context}: type ${type}`);
  const names = Object.keys(fields).sort();
  const want = ['d', ...(entry.lease === undefined ? [] : ['l']), ...(entry.stale === null ? [] : ['s'])];
  assert.equal(names, want, `${context}: fields ${names.join(',')}`);
  if (entry.lease !== undefined) assert.match(fields.l!.toString('latin1'), LEASE_FORMAT, `${context}: field l ${fields.l!.toString('latin1')}`);
  assert.ok(fields.d!.equals(entry.data), `${context}: field d ${hex(fields.d!)}`);
  if (entry.stale !== null) assert.is(fields.s!.toString('latin1'), String(entry.stale), `${context}: field s ${fields.s!.toString('latin1')}`);
  if (entry.expireLo === null || entry.expireHi === null) {
    assert.is(pttl, -1, `${context}: PTTL ${pttl}, want -1`);
  } else {
    const lo = Math.max(0, entry.expireLo - t1 - EXPIRE_SLACK_MS);
    const hi = entry.expireHi - t0 + EXPIRE_SLACK_MS;
    assert.ok(pttl >= lo && pttl <= hi, `${context}: PTTL ${pttl}, want within [${lo}, ${hi}]`);
  }
}

export class InspectCmd implements Cmd {
  constructor(readonly slot: number) {}

  check(): boolean {
    return true;
  }

  async run(m: Model, r: Real): Promise<void> {
    await inspect(m, r, this.slot, this.toString());
  }

  toString(): string {
    return `inspect(${slotName(this.slot)})`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// getOrSet
//
// A getOrSet's factory is a deferred the run holds: GetOrSetCmd starts the call and returns once the call has
// settled or its factory was called (a miss leaves the call pending), and FinishFactoryCmd resolves or rejects
// one pending factory later, so that writes, removes and reads land between a lease and its factory's end.
// The model's rules:
// - an open flight (a miss whose factory is pending) on the key: the call joins it (no script, no factory)
//   and settles with it, with the very object the factory gives;
// - a fresh entry: its decoded value, no factory (bytes that do not decode: FormatError);
// - a stale entry (now >= stale) without a lease: its decoded value at once, and one factory called with that
//   entry as ctx.stale, in the background; the entry's hash holds field l from then on;
// - a stale entry with a lease (a refresh pending, or kept by a failed one): its value, no factory
//   (lockTimeout is 10 s or more: nothing is taken over within a run);
// - a missing entry: the factory is called (ctx.stale null) and the call waits for it; the key holds a pending
//   entry (only field l, TTL max(ttl, lockTimeout)), which read/get see as missing, remove/delete remove
//   (replying missing) and write/set replace: either voids the lease, and so does an expiry;
// - the factory resolves: every waiting call resolves with its value; if the lease still stands the entry is
//   that value (encoded), stale staleAfter after the fill (none when staleAfter is ttl), expire ttl after it,
//   with no field l; else nothing changes (a delete's absence, a set's value remain);
// - the factory rejects: every waiting call rejects with its error; a miss's pending entry is removed if the
//   lease stands; a refresh's entry keeps its data and field l (the next refresh waits lockTimeout) and the
//   error listener gets a FactoryError caused by the error;
// - nothing else goes to the error listener, no factory is called but those above, and the backends'
//   pendingWork() counts exactly the open flights, pending refreshes and factories.
// When a run ends, every factory still pending is resolved (by the same rule), and then nothing may be pending.

export interface GetOrSetSpec {
  readonly ttl: number;
  readonly staleAfter?: number;
  readonly lockTimeout?: number;
}

function showOptions(spec: GetOrSetSpec): string {
  const parts = [`ttl ${spec.ttl}`];
  if (spec.staleAfter !== undefined) parts.push(`staleAfter ${spec.staleAfter}`);
  if (spec.lockTimeout !== undefined) parts.push(`lockTimeout ${spec.lockTimeout}`);
  return `{ ${parts.join(', ')} }`;
}

function optionsOf(spec: GetOrSetSpec): GetOrSetOptions {
  return { ttl: spec.ttl, ...(spec.staleAfter === undefined ? {} : { staleAfter: spec.staleAfter }), ...(spec.lockTimeout === undefined ? {} : { lockTimeout: spec.lockTimeout }) };
}

/** The staleAfter a fill applies: null when the entry never turns stale (no option, or staleAfter = ttl). */
function staleAfterOf(spec: GetOrSetSpec): number | null {
  return spec.staleAfter === undefined || spec.staleAfter === spec.ttl ? null : spec.staleAfter;
}

function describeSettled(settled: Settled | null): string {
  if (settled === null) return 'pending';
  return settled.ok ? `resolved ${fc.stringify(settled.value)}` : `rejected ${String(settled.error)}`;
}

function describeLease(lease: number | 'orphan' | undefined): string {
  if (lease === undefined) return 'none';
  return lease === 'orphan' ? 'orphan' : `of #${lease}`;
}

/** Whether the entry is fresh for a getOrSet whose clock read lies in [t0, t1]: fresh while now < stale. */
function freshness(entry: Entry, t0: number, t1: number): 'fresh' | 'stale' | 'either' {
  if (entry.stale === null || t1 < entry.stale) return 'fresh';
  if (entry.stale <= t0) return 'stale';
  return 'either';
}

/** Polls this process' own state (no Redis, no other process) until `done`, with a deadline. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + EVENT_DEADLINE_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${EVENT_DEADLINE_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** What the run's calls left behind in this process, and what the model expects of it. */
function checkProcess(m: Model, r: Real, label: string): void {
  for (const format of ['url', 'compact'] as const) {
    const mine = m.factories.filter((f) => r.pool[f.slot]!.format === format);
    const want = { flights: mine.filter((f) => f.kind === 'miss').length, refreshes: mine.filter((f) => f.kind === 'stale').length, factories: mine.length };
    assert.equal({ ...r.backends[format].pendingWork() }, want, `${label}: pendingWork() of the ${format} backend, model's pending factories ${mine.map((f) => `#${f.id} ${f.kind}`).join(', ') || 'none'}`);
  }
  assert.equal(r.called, m.called, `${label}: factories called ${r.called.map((id) => `#${id}`).join(', ')}, want ${m.called.map((id) => `#${id}`).join(', ')}`);
  assert.ok(r.errors.length === 0, `${label}: the error listener got ${r.errors.map((error) => `${error.name}: ${error.message}`).join('; ')}`);
}

export class GetOrSetCmd implements Cmd {
  /** The id the last run gave this call (for the report). */
  id: number | undefined;

  constructor(
    readonly slot: number,
    readonly options: GetOrSetSpec,
  ) {}

  check(): boolean {
    return true;
  }

  async run(m: Model, r: Real): Promise<void> {
    const id = (this.id = m.nextId++);
    const { key, format, redisKey } = r.pool[this.slot]!;
    const backend = r.backends[format];
    const entry = m.entries.get(this.slot);
    const flight = openFlight(m, this.slot);
    const result = deferred<unknown>();
    const calledSignal = deferred<void>();
    let context: FactoryContext<unknown> | undefined;
    r.factories.set(id, result);
    const factory = (ctx: FactoryContext<unknown>): Promise<unknown> => {
      r.called.push(id);
      context = ctx;
      calledSignal.resolve();
      return result.promise;
    };
    const refreshesBefore = backend.pendingWork().refreshes;
    const t0 = Date.now();
    const call = track(backend.getOrSet<unknown>(key, factory, optionsOf(this.options)));
    r.calls.set(id, call);
    const label = `${this}`;
    // A joiner sends nothing: whatever it does happens in microtasks. Anything else takes one script call.
    if (flight === undefined) await within(Promise.race([call.promise, calledSignal.promise]), EVENT_DEADLINE_MS, `${label}: neither settled nor called its factory`);
    await drainMicrotasks();
    // A stale entry's call resolves at once, and then asks for the lease in the background: the refresh
    // either calls its factory (lease granted) or ends (another caller holds it, or the entry changed).
    if (flight === undefined && call.settled !== null && backend.pendingWork().refreshes > refreshesBefore) {
      await until(() => context !== undefined || backend.pendingWork().refreshes <= refreshesBefore, `${label}: the background refresh's lease`);
    }
    const t1 = Date.now();
    const called = context !== undefined;
    const settled = call.settled;
    const what = `${label}: model holds ${describeEntry(entry)}${flight === undefined ? '' : `, open flight of #${flight.id}`}, call spanned [${t0}, ${t1}]`;
    const outcome = `${called ? 'factory called' : 'factory not called'}, ${describeSettled(settled)}`;

    if (flight !== undefined) {
      assert.ok(!called && settled === null, `${what}: must join that flight, got ${outcome}`);
      flight.callers.push(id);
      r.stats.gosJoined += 1;
      checkProcess(m, r, label);
      return;
    }

    const seen = presence(entry, t0, t1);
    if (called && settled === null) {
      assert.ok(seen !== 'present', `${what} (${seen}): a miss (${outcome}) for an entry that must be present`);
      assert.is(context!.stale, null, `${what}: a miss's factory got ctx.stale ${fc.stringify(context!.stale)}`);
      observed(r, entry, seen, false);
      m.entries.delete(this.slot);
      const pendingTtl = Math.max(this.options.ttl, this.options.lockTimeout ?? DEFAULT_LOCK_TIMEOUT);
      m.pendingKeys.set(this.slot, { lease: id, expireLo: t0 + pendingTtl, expireHi: t1 + pendingTtl });
      m.factories.push({ id, slot: this.slot, kind: 'miss', options: this.options, callers: [id] });
      m.called.push(id);
      r.stats.gosMiss += 1;
    } else if (settled !== null) {
      assert.ok(seen !== 'absent' && entry !== undefined, `${what} (${seen}): ${outcome} for an entry that must be absent`);
      observed(r, entry, seen, true);
      const fresh = freshness(entry, t0, t1);
      const local = decodeLocally(entry.data);
      if (local.ok) {
        assert.ok(settled.ok, `${what}: ${outcome}, want ${fc.stringify(local.value)}`);
        assert.equal(settled.value, local.value, `${what}: ${outcome}, want ${fc.stringify(local.value)}`);
      } else {
        assert.ok(!settled.ok && settled.error instanceof FormatError, `${what}: ${outcome}, want a FormatError (the bytes do not decode)`);
      }
      if (called) {
        assert.ok(fresh !== 'fresh', `${what}: ${outcome}: refreshes a fresh entry`);
        assert.ok(entry.lease === undefined, `${what}: ${outcome}: refreshes an entry whose lease is ${describeLease(entry.lease)}`);
        assert.ok(local.ok, `${what}: ${outcome}: refreshes an entry that does not decode`);
        const stale = context!.stale;
        assert.ok(stale !== null, `${what}: a refresh's factory got ctx.stale null`);
        assert.equal(stale.data, local.value, `${what}: ctx.stale.data ${fc.stringify(stale.data)}`);
        assert.is(stale.stale?.getTime() ?? null, entry.stale, `${what}: ctx.stale.stale ${stale.stale?.getTime()}`);
        if (entry.expireLo === null || entry.expireHi === null) assert.is(stale.expire, null, `${what}: ctx.stale.expire ${stale.expire?.getTime()}, want none`);
        else {
          const at = stale.expire?.getTime();
          const lo = entry.expireLo - EXPIRE_SLACK_MS;
          const hi = entry.expireHi + (t1 - t0) + EXPIRE_SLACK_MS;
          assert.ok(at !== undefined && at >= lo && at <= hi, `${what}: ctx.stale.expire ${at}, want within [${lo}, ${hi}]`);
        }
        m.entries.set(this.slot, { ...entry, lease: id });
        m.factories.push({ id, slot: this.slot, kind: 'stale', options: this.options, callers: [] });
        m.called.push(id);
        r.stats.gosStale += 1;
      } else if (local.ok) {
        // A refresh that finds the entry expired since the call read it gives its lease back and computes nothing.
        assert.ok(fresh !== 'stale' || entry.lease !== undefined || seen === 'either', `${what}: ${outcome}: a stale entry that nobody refreshes gets no refresh`);
        if (fresh === 'stale') r.stats.gosStaleLeased += 1;
        else r.stats.gosFresh += 1;
      } else if (entry.lease === undefined && fresh !== 'fresh') {
        // read_or_lease takes a stale entry's lease before the client can decode the bytes: on a FormatError the
        // client gives it back, so nothing of the failed call stays.
        assert.is(await r.admin.hexists(redisKey, 'l'), 0, `${what}: ${outcome}: a lease (field l) is left behind`);
      }
    } else {
      assert.unreachable(`${what}: ${outcome}`);
    }
    checkProcess(m, r, label);
  }

  toString(): string {
    return `getOrSet${this.id === undefined ? '' : `#${this.id}`}(${slotName(this.slot)}, ${showOptions(this.options)})`;
  }
}

export type FactoryOutcome = { kind: 'resolve'; value: unknown } | { kind: 'reject' };

/** Resolves or rejects one of the pending factories: the (pick mod count)th, in the order they were called. */
export class FinishFactoryCmd implements Cmd {
  /** Which factory the last run finished (for the report). */
  chosen: string | undefined;

  constructor(
    readonly pick: number,
    readonly outcome: FactoryOutcome,
  ) {}

  check(m: Readonly<Model>): boolean {
    return m.factories.length > 0;
  }

  async run(m: Model, r: Real): Promise<void> {
    const index = this.pick % m.factories.length;
    const f = m.factories[index]!;
    m.factories.splice(index, 1);
    this.chosen = `#${f.id}, a ${f.kind} of ${slotName(f.slot)}`;
    const { format } = r.pool[f.slot]!;
    const backend = r.backends[format];
    const lease = leaseOf(m, f.slot);
    const entry = m.entries.get(f.slot);
    const error = new Error(`the factory of getOrSet #${f.id} failed`);
    const label = `${this}`;
    const t0 = Date.now();
    if (this.outcome.kind === 'resolve') r.factories.get(f.id)!.resolve(this.outcome.value);
    else r.factories.get(f.id)!.reject(error);
    if (f.kind === 'miss') {
      // The calls settle after the fill (or release): they are the event.
      await within(Promise.all(f.callers.map((id) => r.calls.get(id)!.promise)), EVENT_DEADLINE_MS, `${label}: the calls waiting for it`);
    } else {
      const left = m.factories.filter((g) => g.kind === 'stale' && r.pool[g.slot]!.format === format).length;
      await until(() => backend.pendingWork().refreshes <= left, `${label}: the refresh's end`);
    }
    const t1 = Date.now();
    const what = `${label}: lease ${describeLease(lease)}, model holds ${describeEntry(entry)}${m.pendingKeys.has(f.slot) ? ' (a pending entry)' : ''}, spanned [${t0}, ${t1}]`;

    for (const id of f.callers) {
      const settled = r.calls.get(id)!.settled;
      if (this.outcome.kind === 'resolve') {
        const value = this.outcome.value;
        assert.ok(settled !== null && settled.ok && Object.is(settled.value, value), `${what}: getOrSet#${id} ${describeSettled(settled)}, want the factory's value itself`);
      } else {
        assert.ok(settled !== null && !settled.ok && settled.error === error, `${what}: getOrSet#${id} ${describeSettled(settled)}, want the factory's error itself`);
      }
    }
    if (f.kind === 'stale' && this.outcome.kind === 'reject') {
      const reported = r.errors.splice(0);
      assert.ok(
        reported.length === 1 && reported[0] instanceof FactoryError && reported[0].cause === error,
        `${what}: the error listener got ${reported.map((e) => `${e.name}: ${e.message} (cause ${String(e.cause)})`).join('; ') || 'nothing'}, want one FactoryError caused by the factory's error`,
      );
    }

    if (lease !== f.id) {
      r.stats.voided += 1;
    } else if (this.outcome.kind === 'resolve') {
      r.stats.fills += 1;
      // A refresh's lease lives in its entry: gone if the entry expired before the fill.
      const seen = f.kind === 'miss' ? 'present' : presence(entry, t0, t1);
      await learnFill(m, r, f, this.outcome.value, seen, t0, t1, what);
    } else {
      r.stats.rejected += 1;
      if (f.kind === 'miss') m.pendingKeys.delete(f.slot);
      else if (entry !== undefined) m.entries.set(f.slot, { ...entry, lease: 'orphan' });
    }
    await inspect(m, r, f.slot, `${label}, then inspect(${slotName(f.slot)})`);
    checkProcess(m, r, label);
  }

  toString(): string {
    const what = this.outcome.kind === 'resolve' ? `resolve ${fc.stringify(this.outcome.value)}` : 'reject';
    return `finishFactory(${this.pick}${this.chosen === undefined ? '' : ` → ${this.chosen}`}, ${what})`;
  }
}

/**
 * After a fill with its lease standing: the key must hold the factory's value with no field l; learns the
 * stale time the fill chose (Date.now() + staleAfter, within the command's span), which the model has to
 * know to the millisecond. `seen` is whether the lease's key was there when the fill ran.
 */
async function learnFill(m: Model, r: Real, f: PendingFactory, value: unknown, seen: Presence, t0: number, t1: number, what: string): Promise<void> {
  const { redisKey } = r.pool[f.slot]!;
  const fields = (await r.admin.hgetallBuffer(redisKey)) as Record<string, Buffer>;
  const t2 = Date.now();
  const names = Object.keys(fields).sort();
  if (names.length === 0) {
    // A short ttl: the filled entry itself may be gone by now, on a slow machine.
    const filled: Entry = { data: Buffer.alloc(0), stale: null, expireLo: t0 + f.options.ttl, expireHi: t1 + f.options.ttl };
    assert.ok(seen !== 'present' || presence(filled, t1, t2) !== 'present', `${what}: the fill stored nothing, though its lease stood`);
    observed(r, m.entries.get(f.slot), seen, false);
    m.entries.delete(f.slot);
    m.pendingKeys.delete(f.slot);
    return;
  }
  assert.ok(seen !== 'absent', `${what}: the key exists (fields ${names.join(',')}) though the entry of the lease must have expired before the fill`);
  const data = new MsgpackFormat().serialize(value);
  assert.ok(fields.d !== undefined && fields.d.equals(data), `${what}: fields ${names.join(',')}, d ${fields.d === undefined ? 'none' : hex(fields.d)}, want the factory's value ${hex(data)}`);
  const staleAfter = staleAfterOf(f.options);
  let stale: number | null = null;
  if (staleAfter !== null) {
    const text = fields.s?.toString('latin1');
    stale = Number(text);
    assert.ok(text !== undefined && Number.isInteger(stale) && stale >= t0 + staleAfter && stale <= t1 + staleAfter, `${what}: field s ${text}, want within [${t0 + staleAfter}, ${t1 + staleAfter}]`);
  }
  m.pendingKeys.delete(f.slot);
  m.entries.set(f.slot, { data, stale, expireLo: t0 + f.options.ttl, expireHi: t1 + f.options.ttl });
}

/** getOrSet options: short ttls (the entry expires within a run) and long ones; staleAfter often short. */
const getOrSetSpecArb: fc.Arbitrary<GetOrSetSpec> = fc
  .tuple(
    fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 40, max: 300 }) }, { weight: 3, arbitrary: fc.integer({ min: 3600, max: 86_400 }).map((s) => s * 1000) }),
    fc.oneof(
      { weight: 2, arbitrary: fc.constant<'none' | 'ttl'>('none') },
      { weight: 1, arbitrary: fc.constant<'none' | 'ttl'>('ttl') },
      // 1-60 ms: stale within the run, so that a later getOrSet refreshes it.
      { weight: 5, arbitrary: fc.integer({ min: 1, max: 60 }) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 1000 }).map((permille) => ({ permille })) },
    ),
    fc.constantFrom<number | undefined>(undefined, 30_000),
  )
  .map(([ttl, stale, lockTimeout]): GetOrSetSpec => {
    const staleAfter = stale === 'none' ? undefined : stale === 'ttl' ? ttl : typeof stale === 'number' ? Math.min(stale, ttl) : Math.max(1, Math.floor((ttl * stale.permille) / 1000));
    return { ttl, ...(staleAfter === undefined ? {} : { staleAfter }), ...(lockTimeout === undefined ? {} : { lockTimeout }) };
  });

const factoryOutcomeArb: fc.Arbitrary<FactoryOutcome> = fc.oneof(
  { weight: 3, arbitrary: typedValueArb.map((value): FactoryOutcome => ({ kind: 'resolve', value })) },
  { weight: 1, arbitrary: fc.constant<FactoryOutcome>({ kind: 'reject' }) },
);

const layerArb = fc.constantFrom<'raw' | 'typed'>('raw', 'typed');

/** Every command, weighted; `maxDate: false` leaves out expires at the largest Date (see the report of issue 4). */
export function commandArb(options: { maxDate: boolean }): fc.Arbitrary<Cmd> {
  const expireSpec = expireArb(options.maxDate);
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(slotArb, rawDataArb, expireSpec, staleArb)
        .map(([slot, data, expire, stale]): Cmd => new WriteCmd(slot, { layer: 'raw', data }, expire, stale)),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(slotArb, typedValueArb, expireSpec, staleArb)
        .map(([slot, value, expire, stale]): Cmd => new WriteCmd(slot, { layer: 'typed', value }, expire, stale)),
    },
    // Stale entries that decode, for getOrSet to serve and refresh.
    {
      weight: 3,
      arbitrary: fc
        .tuple(slotArb, typedValueArb, expireSpec, fc.integer({ min: 1, max: 86_400_000 }))
        .map(([slot, value, expire, ms]): Cmd => new WriteCmd(slot, { layer: 'typed', value }, expire, { kind: 'before', ms })),
    },
    { weight: 8, arbitrary: fc.tuple(slotArb, layerArb).map(([slot, layer]): Cmd => new ReadCmd(slot, layer)) },
    { weight: 3, arbitrary: fc.tuple(slotArb, layerArb).map(([slot, layer]): Cmd => new RemoveCmd(slot, layer)) },
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 80 }).map((ms): Cmd => new WaitCmd(ms)) },
    { weight: 2, arbitrary: slotArb.map((slot): Cmd => new InspectCmd(slot)) },
    { weight: 10, arbitrary: fc.tuple(slotArb, getOrSetSpecArb).map(([slot, options]): Cmd => new GetOrSetCmd(slot, options)) },
    { weight: 6, arbitrary: fc.tuple(fc.nat({ max: 7 }), factoryOutcomeArb).map(([pick, outcome]): Cmd => new FinishFactoryCmd(pick, outcome)) },
  );
}

// ---------------------------------------------------------------------------------------------------------
// The property

export interface ModelTarget {
  /** Short name, used in key prefixes and messages. */
  readonly name: string;
  readonly backends: Record<FormatName, RedisBackend>;
  readonly admin: Redis | Cluster;
  /** Where the backends' error listener (`onError`) puts what it gets. */
  readonly errors: BackendError[];
}

export interface ModelRunOptions {
  readonly seed: number;
  readonly numRuns: number;
  readonly maxCommands: number;
  /** A fast-check `path` to replay one failing case (printed with the failure). */
  readonly path?: string;
  /** Whether writes may use the largest Date as expire (default true). */
  readonly maxDate?: boolean;
  /** The commands' `replayPath` (printed with the counterexample), needed with `path` to replay shrunk commands. */
  readonly replayPath?: string;
}

let runCounter = 0;

/** Entries expiring within this much after a run are waited for, then checked gone. */
const SETTLE_LIMIT_MS = 1000;

/** Reads every key of the pool through the backend, then inspects it directly. */
async function finalCheck(model: Model, real: Real, label: string): Promise<void> {
  for (let slot = 0; slot < SLOTS.length; slot++) {
    try {
      await new ReadCmd(slot, 'raw').run(model, real);
      await inspect(model, real, slot, `inspect(${slotName(slot)})`);
    } catch (error) {
      if (error instanceof Error) error.message = `${label}: ${error.message}`;
      throw error;
    }
  }
}

export function emptyStats(): RunStats {
  return {
    runs: 0,
    commands: 0,
    waitedMs: 0,
    settledMs: 0,
    fuzzyPresent: 0,
    fuzzyAbsent: 0,
    expiredSeen: 0,
    gosFresh: 0,
    gosStale: 0,
    gosStaleLeased: 0,
    gosMiss: 0,
    gosJoined: 0,
    fills: 0,
    voided: 0,
    rejected: 0,
  };
}

/**
 * Runs `commands` from an empty model on a fresh key pool (a prefix of its own: nothing of another run can be
 * seen, and no FLUSHALL is needed), then inspects every key of the pool directly, then deletes the pool.
 */
export async function runCommands(target: ModelTarget, commands: Iterable<Cmd>, stats: RunStats = emptyStats()): Promise<void> {
  const list = [...commands];
  stats.runs += 1;
  stats.commands += list.length;
  const real: Real = {
    backends: target.backends,
    admin: target.admin,
    pool: keyPool(`model-${target.name}-${process.pid}-${++runCounter}`),
    stats,
    errors: target.errors,
    calls: new Map(),
    factories: new Map(),
    called: [],
  };
  // What a failed run before this one left to its listener.
  target.errors.length = 0;
  const model: Model = { entries: new Map(), pendingKeys: new Map(), factories: [], called: [], nextId: 1 };
  try {
    await fc.asyncModelRun(() => ({ model, real }), list.map((cmd) => withDeadline(cmd, real)));
    // Every factory still pending ends now, by the same rules, with a value of its own.
    while (model.factories.length > 0) {
      const first = model.factories[0]!;
      try {
        await new FinishFactoryCmd(0, { kind: 'resolve', value: { final: first.id } }).run(model, real);
      } catch (error) {
        if (error instanceof Error) error.message = `after the commands: ${error.message}`;
        throw error;
      }
    }
    checkProcess(model, real, 'after the commands');
    await finalCheck(model, real, 'final');
    // Then let every short-lived entry expire for sure, and check that it is gone and that nothing else changed.
    const now = Date.now();
    const lastShort = Math.max(
      -Infinity,
      ...[...model.entries.values()].map((entry) => entry.expireHi ?? Infinity).filter((at) => at - now <= SETTLE_LIMIT_MS),
    );
    if (lastShort > -Infinity) {
      const wait = Math.max(0, lastShort + FUZZ_MS + 1 - now);
      stats.settledMs += wait;
      await new Promise((resolve) => setTimeout(resolve, wait));
      await finalCheck(model, real, `after ${wait} ms for short expiries, final`);
    }
  } finally {
    // A failed run leaves factories pending: end them, so that the next run (a shrink) starts with nothing
    // of this one in flight in the backends.
    for (const pending of real.factories.values()) pending.reject(new Error('the run is over'));
    const idle = (): boolean => Object.values(real.backends).every((backend) => Object.values(backend.pendingWork()).every((count) => count === 0));
    await until(idle, 'the calls of a failed run').catch(() => undefined);
    await Promise.all(real.pool.map(({ redisKey }) => real.admin.del(redisKey)));
  }
}

/**
 * Every call a command makes has a deadline of its own (the backend's timeouts, or EVENT_DEADLINE_MS): a
 * command still running after this long is a hang, reported with what the backends hold in flight rather
 * than left for the file's timeout to kill.
 */
const COMMAND_DEADLINE_MS = 30_000;

function withDeadline(cmd: Cmd, real: Real): Cmd {
  return {
    check: (m) => cmd.check(m),
    run: (m, r) =>
      within(cmd.run(m, r), COMMAND_DEADLINE_MS, () => {
        const pending = Object.entries(real.backends).map(([name, backend]) => `${name} ${JSON.stringify(backend.pendingWork())}`);
        return `${cmd.toString()} hung (pending work: ${pending.join(', ')})`;
      }),
    toString: () => cmd.toString(),
  };
}

/** Runs the property; throws fast-check's report (seed, path, shrunk commands, error) on failure. */
export async function runModelProperty(target: ModelTarget, options: ModelRunOptions): Promise<RunStats> {
  const stats = emptyStats();
  const commands = fc.commands([commandArb({ maxDate: options.maxDate ?? true })], {
    maxCommands: options.maxCommands,
    size: 'max',
    ...(options.replayPath === undefined ? {} : { replayPath: options.replayPath }),
  });
  const property = fc.asyncProperty(commands, (cmds) => runCommands(target, cmds, stats));
  await fc.assert(property, {
    seed: options.seed,
    numRuns: options.numRuns,
    ...(options.path === undefined ? {} : { path: options.path }),
  });
  return stats;
}
