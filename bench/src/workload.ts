/**
 * Keys, values, key distributions and verification, shared by every contender so that they all do the
 * same work: the same key shape, the same value bytes, the same sequence of indices.
 *
 * Every value is stamped with its key's index: the first 12 and the last 12 bytes are the index in 12
 * decimal digits. A read is verified by its length, its header and its trailer, and the header's number is
 * added to a checksum that must equal the sum of the indices asked for: a contender that returns nothing,
 * the wrong entry or a truncated value is caught.
 */
import { randomBytes } from 'node:crypto';

/** getorset-hit: our typed layer's getOrSet on an entry that is there and fresh (its factory must not run). */
export type Op = 'get-hit' | 'get-miss' | 'set' | 'mix' | 'remove' | 'getorset-hit';
export type Dist = 'uniform' | 'zipf';
/** text: alphanumeric ASCII (valid as a JS string and as bytes); random: incompressible bytes; compressible: JSON-like text. */
export type ValueKind = 'text' | 'random' | 'compressible';

/** TTL of every write, in milliseconds (1 hour): entries never expire during a run. */
export const TTL_MS = 3_600_000;
/** Misses are asked for at indices from here on: never written by anyone. */
export const MISS_OFFSET = 1 << 21;
/** Remove cells work on their own range, preloaded for them. */
export const REMOVE_OFFSET = 1 << 22;
export const STAMP = 12;

// The 12-digit stamps of the key spaces the harness uses, computed once: formatting them per operation would
// cost as much as a quarter of a fast client's CPU per operation and blur the comparison.
const STAMP_CACHE = new Map<number, string[]>();
const REGION = 1 << 20;

function computeStamp(index: number): string {
  return String(index).padStart(STAMP, '0');
}

/** Precomputes the stamps of indices [from, from + count) (count below 2^20). */
export function precomputeStamps(from: number, count: number): void {
  const region = Math.floor(from / REGION);
  const base = region * REGION;
  let list = STAMP_CACHE.get(region);
  if (!list) STAMP_CACHE.set(region, (list = []));
  for (let i = list.length; i < from - base + count && i < REGION; i++) list.push(computeStamp(base + i));
}

export function pad12(index: number): string {
  const list = STAMP_CACHE.get(Math.floor(index / REGION));
  return list?.[index % REGION] ?? computeStamp(index);
}

/**
 * The Redis key shape of every contender: hitbox's UrlEncoded form of `CacheKey(prefix, 1, [k=<12 digits>])`,
 * so that keys cost the same bytes everywhere. The libraries may add their own prefix (bentocache does).
 */
export function keyText(prefix: string, index: number): string {
  return `_prefix=${prefix}&_version=1&k=${pad12(index)}`;
}

/** Mulberry32: a small seeded PRNG, so every contender sees the same sequence of keys and operations. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** The body bytes every value of this size and kind shares (the stamps are written over both ends). */
export function baseValue(size: number, kind: ValueKind): Buffer {
  if (size < 2 * STAMP) throw new Error(`values must be at least ${2 * STAMP} bytes`);
  if (kind === 'random') return randomBytes(size);
  const out = Buffer.allocUnsafe(size);
  if (kind === 'text') {
    const next = prng(size);
    for (let i = 0; i < size; i++) out[i] = ALNUM.charCodeAt(Math.floor(next() * ALNUM.length));
    return out;
  }
  // compressible: JSON-ish records, as an API response would be (compresses about 5-10x)
  const next = prng(size + 1);
  let text = '';
  for (let n = 0; text.length < size; n++) {
    text += `{"id":${n},"name":"user-${n}","active":${next() < 0.5},"score":${Math.floor(next() * 1000)},"tags":["cache","redis","bench"]},`;
  }
  out.write(text.slice(0, size), 'latin1');
  return out;
}

/** Builds the values of one size and kind for key indices, as Buffers or strings, and checks them on the way back. */
export class Values {
  readonly size: number;
  readonly base: Buffer;
  readonly #middle: string;

  constructor(size: number, kind: ValueKind) {
    this.size = size;
    this.base = baseValue(size, kind);
    this.#middle = kind === 'random' ? '' : this.base.toString('latin1', STAMP, size - STAMP);
  }

  buffer(index: number): Buffer {
    const stamp = pad12(index);
    const out = Buffer.allocUnsafe(this.size);
    this.base.copy(out, STAMP, STAMP, this.size - STAMP);
    out.write(stamp, 0, 'latin1');
    out.write(stamp, this.size - STAMP, 'latin1');
    return out;
  }

  string(index: number): string {
    const stamp = pad12(index);
    return stamp + this.#middle + stamp;
  }

  /** The index stamped in `value` when it is the complete value of that index, else -1. */
  check(index: number, value: unknown): number {
    const stamp = pad12(index);
    if (typeof value === 'string') {
      if (value.length !== this.size || !value.startsWith(stamp) || !value.endsWith(stamp)) return -1;
      return Number(value.slice(0, STAMP));
    }
    if (value instanceof Uint8Array) {
      const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      if (bytes.length !== this.size) return -1;
      const head = bytes.toString('latin1', 0, STAMP);
      if (head !== stamp || bytes.toString('latin1', this.size - STAMP, this.size) !== stamp) return -1;
      return Number(head);
    }
    return -1;
  }
}

/** A precomputed ring of key indices (and, for mix, of which are writes), walked by all workers in turn. */
export class Sequence {
  readonly indices: Int32Array;
  readonly writes: Uint8Array;
  readonly mask: number;
  #cursor = 0;

  constructor(keys: number, dist: Dist, writeShare: number, seed: number, length = 1 << 20) {
    const next = prng(seed);
    this.indices = new Int32Array(length);
    this.writes = new Uint8Array(length);
    this.mask = length - 1;
    const sample = dist === 'uniform' ? () => Math.floor(next() * keys) : zipfSampler(keys, 0.99, next);
    for (let i = 0; i < length; i++) {
      this.indices[i] = sample();
      this.writes[i] = next() < writeShare ? 1 : 0;
    }
  }

  /** Position of the next operation: indices[pos] and writes[pos]. */
  next(): number {
    return this.#cursor++ & this.mask;
  }
}

/**
 * Zipf(s) over `keys` ranks by inverse CDF, the ranks scattered over the key indices by a seeded
 * permutation (so hot keys are not all neighbours, nor in one cluster slot range).
 */
function zipfSampler(keys: number, s: number, next: () => number): () => number {
  const cdf = new Float64Array(keys);
  let total = 0;
  for (let rank = 0; rank < keys; rank++) {
    total += 1 / Math.pow(rank + 1, s);
    cdf[rank] = total;
  }
  for (let rank = 0; rank < keys; rank++) cdf[rank] = cdf[rank]! / total;
  const permutation = new Int32Array(keys);
  for (let i = 0; i < keys; i++) permutation[i] = i;
  const shuffle = prng(0x5eed);
  for (let i = keys - 1; i > 0; i--) {
    const j = Math.floor(shuffle() * (i + 1));
    const t = permutation[i]!;
    permutation[i] = permutation[j]!;
    permutation[j] = t;
  }
  return () => {
    const u = next();
    let lo = 0;
    let hi = keys - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return permutation[lo]!;
  };
}

/** Share of operations that go to the hottest 1% of keys under Zipf(0.99) over `keys` (for the report). */
export function zipfTopShare(keys: number, s = 0.99, top = 0.01): number {
  let total = 0;
  let head = 0;
  const cut = Math.max(1, Math.floor(keys * top));
  for (let rank = 0; rank < keys; rank++) {
    const w = 1 / Math.pow(rank + 1, s);
    total += w;
    if (rank < cut) head += w;
  }
  return head / total;
}
