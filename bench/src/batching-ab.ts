/**
 * Batching on against off at few calls in flight, in one process: two backends of the working tree's build on
 * one redis-server, the default (merged calls, corked writes) and `.autoPipelining(false)`, taking turns
 * block after block, each block of `BATCHING_AB_BLOCK` operations at `BATCHING_AB_IN_FLIGHT` in flight. The
 * turns pair each block of one with the next block of the other, which ran under the same load of the
 * machine a moment later: the median of the pairs' ratios is the comparison, where cells in separate child
 * processes minutes apart (the low-concurrency block of `npm run bench`) carry the machine's drift.
 *
 * Usage (at the root): `npx tsx bench/src/batching-ab.ts`; `BATCHING_AB_IN_FLIGHT` (default `1,16`),
 * `BATCHING_AB_ROUNDS` (default 30), `BATCHING_AB_BLOCK` (default 2000 operations). It builds the working
 * tree into bench/.batching-ab/ (removed at the end) and starts its own redis-server on a free port.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { startRedis } from '../../test/helpers/redis.js';
import { buildCopy, median, ROOT } from './build-copy.js';

type Lib = typeof import('../../src/index.js');
type Backend = InstanceType<Lib['RedisBackend']>;

const WORK = join(ROOT, 'bench', '.batching-ab');
const IN_FLIGHT = (process.env.BATCHING_AB_IN_FLIGHT ?? '1,16').split(',').map(Number);
const ROUNDS = Number(process.env.BATCHING_AB_ROUNDS ?? 30);
const BLOCK = Number(process.env.BATCHING_AB_BLOCK ?? 2_000);
const KEYS = 10_000;
const TTL_MS = 3_600_000;

interface Block {
  opsPerSecond: number;
  p50Us: number;
  p99Us: number;
  cpuUsPerOp: number;
}

/** BLOCK operations with `inFlight` loops, each operation timed. */
async function block(lib: Lib, backend: Backend, keys: InstanceType<Lib['CacheKey']>[], operation: 'get' | 'set', inFlight: number): Promise<Block> {
  const value = Buffer.alloc(100, 7);
  const latencies = new Float64Array(BLOCK);
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const loop = async (): Promise<void> => {
    while (next < BLOCK) {
      const index = next++;
      const key = keys[(index * 7919) % KEYS]!;
      const at = performance.now();
      if (operation === 'get') await backend.get(key);
      else await backend.set(key, new lib.CacheValue(value, new Date(Date.now() + TTL_MS)));
      latencies[index] = performance.now() - at;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  const elapsed = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  latencies.sort();
  return {
    opsPerSecond: BLOCK / elapsed,
    p50Us: latencies[Math.floor(BLOCK * 0.5)]! * 1000,
    p99Us: latencies[Math.floor(BLOCK * 0.99)]! * 1000,
    cpuUsPerOp: (used.user + used.system) / BLOCK,
  };
}

async function main(): Promise<void> {
  rmSync(WORK, { recursive: true, force: true });
  console.log(`building the working tree into ${WORK} ...`);
  const lib = (await import(pathToFileURL(join(buildCopy(WORK, null), 'src', 'index.js')).href)) as Lib;
  const redis = await startRedis();
  const on = lib.RedisBackend.builder().connection(lib.ConnectionMode.single(redis.url)).build();
  const off = lib.RedisBackend.builder().autoPipelining(false).connection(lib.ConnectionMode.single(redis.url)).build();
  const rows: string[] = [];
  try {
    const keys = Array.from({ length: KEYS }, (_, index) => new lib.CacheKey('batching-ab', 1, [{ key: 'k', value: String(index).padStart(12, '0') }]));
    for (let index = 0; index < KEYS; index += 500) {
      await Promise.all(keys.slice(index, index + 500).map((key) => on.set(key, new lib.CacheValue(Buffer.alloc(100, 7), new Date(Date.now() + TTL_MS)))));
    }
    console.log(`redis-server ${redis.url}; blocks of ${BLOCK} operations, ${ROUNDS} rounds`);
    for (const operation of (process.env.BATCHING_AB_OPERATIONS ?? 'get,set').split(',') as ('get' | 'set')[]) {
      for (const inFlight of IN_FLIGHT) {
        // A block of each, not counted: the JIT and both connections warmed up.
        await block(lib, on, keys, operation, inFlight);
        await block(lib, off, keys, operation, inFlight);
        const pairs: { on: Block; off: Block }[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          // Each goes first in every other round.
          const first = round % 2 === 0 ? on : off;
          const a = await block(lib, first, keys, operation, inFlight);
          const b = await block(lib, first === on ? off : on, keys, operation, inFlight);
          pairs.push(first === on ? { on: a, off: b } : { on: b, off: a });
        }
        const ratio = (f: (b: Block) => number) => median(pairs.map((p) => f(p.on) / f(p.off))).toFixed(2);
        const faster = pairs.filter((p) => p.on.opsPerSecond >= p.off.opsPerSecond).length;
        rows.push(
          `| ${operation} | ${inFlight} | ${Math.round(median(pairs.map((p) => p.on.opsPerSecond)))} | ${Math.round(median(pairs.map((p) => p.off.opsPerSecond)))} | **${ratio((b) => b.opsPerSecond)}** | ${faster} of ${pairs.length} | ${ratio((b) => b.p50Us)} | ${ratio((b) => b.p99Us)} | ${ratio((b) => b.cpuUsPerOp)} |`,
        );
        console.log(rows.at(-1));
      }
    }
  } finally {
    await on.close();
    await off.close();
    await redis.stop();
    rmSync(WORK, { recursive: true, force: true });
  }
  console.log('\n| operation | in flight | on: ops/s (median) | off: ops/s (median) | on / off ops/s (median of pairs) | pairs where on ≥ off | p50 on / off | p99 on / off | client CPU µs/op on / off |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
}

await main();
