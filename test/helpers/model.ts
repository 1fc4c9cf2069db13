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
  CacheKey,
  CacheKeyFormat,
  CacheValue,
  FormatError,
  MsgpackFormat,
  type DeleteStatus,
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
}

export interface Model {
  readonly entries: Map<number, Entry>;
}

export interface Real {
  /** One backend per key format, default value format (MessagePack) and no compression. */
  readonly backends: Record<FormatName, RedisBackend>;
  /** A plain client of the target (a Redis, or an ioredis Cluster). */
  readonly admin: Redis | Cluster;
  readonly pool: readonly PoolKey[];
  /** Totals over the whole property, for the report. */
  readonly stats: RunStats;
}

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
  return `entry { data: ${hex(entry.data)}, stale: ${entry.stale}, expire: ${entry.expireLo === null ? 'none' : `[${entry.expireLo}, ${entry.expireHi}]`} }`;
}

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

const slotArb = fc.integer({ min: 0, max: SLOTS.length - 1 });

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
    m.entries.delete(this.slot);
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
  assert.equal(names, entry.stale === null ? ['d'] : ['d', 's'], `${context}: fields ${names.join(',')}`);
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
    { weight: 8, arbitrary: fc.tuple(slotArb, layerArb).map(([slot, layer]): Cmd => new ReadCmd(slot, layer)) },
    { weight: 3, arbitrary: fc.tuple(slotArb, layerArb).map(([slot, layer]): Cmd => new RemoveCmd(slot, layer)) },
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 80 }).map((ms): Cmd => new WaitCmd(ms)) },
    { weight: 2, arbitrary: slotArb.map((slot): Cmd => new InspectCmd(slot)) },
  );
}

// ---------------------------------------------------------------------------------------------------------
// The property

export interface ModelTarget {
  /** Short name, used in key prefixes and messages. */
  readonly name: string;
  readonly backends: Record<FormatName, RedisBackend>;
  readonly admin: Redis | Cluster;
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
  return { runs: 0, commands: 0, waitedMs: 0, settledMs: 0, fuzzyPresent: 0, fuzzyAbsent: 0, expiredSeen: 0 };
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
  };
  const model: Model = { entries: new Map() };
  try {
    await fc.asyncModelRun(() => ({ model, real }), list);
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
    await Promise.all(real.pool.map(({ redisKey }) => real.admin.del(redisKey)));
  }
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
