/**
 * Pure parts of the many-key operations, no Redis: `keySlot` (the hash slot Redis Cluster gives a key) against
 * slots the Redis documentation lists and against a bit-by-bit CRC16 written here from the cluster
 * specification, and `batchesOf` (how a batch is split into script calls) against what its documentation
 * says: consecutive chunks of at most 100 keys on a single node; one group per hash slot, in the order of
 * each slot's first key, chunked the same way, on a cluster. (test/contract/many-keys.test.ts asks a real
 * cluster node for CLUSTER KEYSLOT.)
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { BATCH_CHUNK, batchesOf } from '../../src/driver/batches.js';
import type { RedisKey } from '../../src/core/scripting.js';
import { keySlot, SLOTS } from '../../src/driver/slot.js';

// ---------------------------------------------------------------------------------------------------------
// A reference keySlot, written from the cluster specification rather than from src/driver/slot.ts: CRC16
// XMODEM (polynomial 0x1021, initial value 0) bit by bit, no table; the hash tag found by scanning.

function crc16Bitwise(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** HASH_SLOT as the spec's pseudo-code gives it: the part between the first `{` and the first `}` after it, when not empty. */
function referenceSlot(key: RedisKey): number {
  const bytes = typeof key === 'string' ? new TextEncoder().encode(key) : new Uint8Array(key);
  let s = -1;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x7b) {
      s = i;
      break;
    }
  }
  if (s === -1) return crc16Bitwise(bytes) & 16383;
  let e = -1;
  for (let i = s + 1; i < bytes.length; i++) {
    if (bytes[i] === 0x7d) {
      e = i;
      break;
    }
  }
  if (e === -1 || e === s + 1) return crc16Bitwise(bytes) & 16383;
  return crc16Bitwise(bytes.subarray(s + 1, e)) & 16383;
}

test('keySlot: the slots the Redis documentation gives, and the CRC16 check value', () => {
  // The cluster specification: CRC16 XMODEM of "123456789" is 0x31C3.
  assert.is(crc16Bitwise(new TextEncoder().encode('123456789')), 0x31c3, 'the reference CRC16 itself');
  assert.is(keySlot('123456789'), 0x31c3 % SLOTS);
  // CLUSTER KEYSLOT's own examples.
  assert.is(keySlot('somekey'), 11058);
  assert.is(keySlot('foo{hash_tag}'), 2515);
  assert.is(keySlot('foo{hash_tag}'), keySlot('hash_tag'));
  assert.is(SLOTS, 16384);
});

test('keySlot: hash tags, as the specification defines them', () => {
  const cases: [RedisKey, RedisKey][] = [
    ['{user1000}.following', 'user1000'],
    ['{user1000}.followers', 'user1000'],
    ['foo{}{bar}', 'foo{}{bar}'], // the first { meets } at once: empty tag, the whole key is hashed
    ['{}', '{}'],
    ['{}{x}', '{}{x}'],
    ['foo{{bar}}zap', '{bar'], // from the first { to the first } after it
    ['foo{bar}{zap}', 'bar'], // the first tag only
    ['a{b', 'a{b'], // no closing brace
    ['a}b{c}', 'c'], // a } before the first { does not count
    ['{😀}x', '😀'],
    ['ünï{ко}d', 'ко'],
    [Buffer.from([0xff, 0x7b, 0x00, 0x01, 0x7d, 0xfe]), Buffer.from([0x00, 0x01])],
    [Buffer.from('{tag}rest'), 'tag'],
  ];
  for (const [key, hashed] of cases) {
    assert.is(keySlot(key), referenceSlot(hashed), `keySlot(${String(key)}) hashes ${String(hashed)}`);
    assert.is(keySlot(key), referenceSlot(key), `keySlot(${String(key)}) as the reference`);
  }
  assert.is(keySlot(''), 0, 'the empty key: CRC16 of nothing is 0');
});

test('keySlot: a string and its UTF-8 bytes land in one slot; every slot is in range; same as the reference for any bytes', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => {
      const slot = keySlot(text);
      return slot === keySlot(Buffer.from(text, 'utf8')) && slot === referenceSlot(text) && Number.isInteger(slot) && slot >= 0 && slot < SLOTS;
    }),
    { numRuns: 2000 },
  );
  // Bytes rich in braces, so that tags of every shape come up.
  const byte = fc.oneof(fc.constantFrom(0x7b, 0x7d), fc.integer({ min: 0, max: 255 }));
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 24 }), (bytes) => keySlot(Buffer.from(bytes)) === referenceSlot(Buffer.from(bytes))),
    { numRuns: 5000 },
  );
});

// ---------------------------------------------------------------------------------------------------------
// batchesOf

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

test('batchesOf on a single node: consecutive chunks of at most 100 keys, nothing for no keys', () => {
  assert.is(BATCH_CHUNK, 100);
  const keys = (n: number): string[] => Array.from({ length: n }, (_, i) => `k${i}`);
  assert.equal(batchesOf([], false), []);
  assert.equal(batchesOf(keys(1), false), [[0]]);
  assert.equal(batchesOf(keys(100), false), [range(0, 100)]);
  assert.equal(batchesOf(keys(101), false), [range(0, 100), [100]]);
  assert.equal(batchesOf(keys(250), false), [range(0, 100), range(100, 200), range(200, 250)]);
  // Slots do not matter on a single node, nor do repeated keys.
  assert.equal(batchesOf(['{a}1', '{b}2', '{a}1', 'c'], false), [[0, 1, 2, 3]]);
  assert.equal(batchesOf(keys(7), false, 3), [[0, 1, 2], [3, 4, 5], [6]]);
});

test('batchesOf on a cluster: one group per slot in the order of its first key, positions in order, a full group continued in a new one', () => {
  assert.equal(batchesOf([], true), []);
  // {a}, {b} and {c} are three slots (checked), keys interleaved.
  assert.ok(new Set([keySlot('a'), keySlot('b'), keySlot('c')]).size === 3);
  assert.equal(batchesOf(['{b}1', '{a}1', '{b}2', '{c}1', '{a}2', '{b}1'], true), [[0, 2, 5], [1, 4], [3]]);
  // A key given twice stays twice, in its one group.
  assert.equal(batchesOf(['{a}x', '{a}x'], true), [[0, 1]]);
  // 250 keys of one slot: chunks of 100, 100 and 50; the other slot's group comes where its first key does.
  const many = [...Array.from({ length: 150 }, (_, i) => `{a}${i}`), '{b}0', ...Array.from({ length: 100 }, (_, i) => `{a}${150 + i}`)];
  assert.equal(batchesOf(many, true), [range(0, 100), [...range(100, 150), ...range(151, 201)], [150], range(201, 251)]);
  // Buffer and string keys of one slot share a group.
  assert.equal(batchesOf([Buffer.from('{a}1'), '{a}2', Buffer.from([0x7b, 0x62, 0x7d])], true), [[0, 1], [2]]);
});

test('batchesOf, any keys: every position once, groups non-empty and at most the chunk, one slot per group, in order', () => {
  // Few tags so that slots repeat; some keys without a tag.
  const key = fc.oneof(
    fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.nat(20)).map(([tag, n]) => `{${tag}}${n}`),
    fc.string({ maxLength: 6 }),
  );
  fc.assert(
    fc.property(fc.array(key, { maxLength: 300 }), fc.boolean(), fc.integer({ min: 1, max: 120 }), (keys, clustered, chunk) => {
      const batches = batchesOf(keys, clustered, chunk);
      const positions = batches.flat();
      if ([...positions].sort((x, y) => x - y).join() !== range(0, keys.length).join()) return false;
      for (const batch of batches) {
        if (batch.length === 0 || batch.length > chunk) return false;
        if (batch.some((at, i) => i > 0 && at <= batch[i - 1]!)) return false;
        if (clustered && new Set(batch.map((at) => keySlot(keys[at]!))).size !== 1) return false;
      }
      if (!clustered) return batches.length === Math.ceil(keys.length / chunk) && positions.every((at, i) => at === i);
      // Per slot: ceil(n / chunk) groups, every one full but the last, taken in order.
      const bySlot = new Map<number, number[][]>();
      for (const batch of batches) {
        const slot = keySlot(keys[batch[0]!]!);
        bySlot.set(slot, [...(bySlot.get(slot) ?? []), batch]);
      }
      for (const [slot, groups] of bySlot) {
        const all = range(0, keys.length).filter((at) => keySlot(keys[at]!) === slot);
        if (groups.flat().join() !== all.join()) return false;
        if (groups.length !== Math.ceil(all.length / chunk)) return false;
        if (groups.slice(0, -1).some((group) => group.length !== chunk)) return false;
      }
      // Groups come in the order in which they were opened: by their first position.
      return batches.every((batch, i) => i === 0 || batch[0]! > batches[i - 1]![0]!);
    }),
    { numRuns: 500 },
  );
});

test.run();
