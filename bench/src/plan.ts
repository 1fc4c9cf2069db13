/**
 * What a run measures. The full cross product of the dimensions (5 value kinds x 2 distributions x
 * 4 workloads x 4 concurrencies x 2 topologies x 9 contenders) would take hours on 2 cores, so the run takes
 * slices through it, each varying one or two dimensions around the headline point (single node, 100 B,
 * uniform, 256 in flight), and repeats the headline cells most.
 *
 * Environment:
 *   BENCH_QUICK=1       a short run for development (small key space, short windows, fewer cells)
 *   BENCH_ONLY=a,b      run only these blocks (headline, getorset-hit, low-concurrency, sweep, sizes, listpack, compressors,
 *                       cluster, stampede, redis-benchmark, lua-cost, profiles)
 *   BENCH_REPS=n        repetitions of the headline block (default 5)
 *   BENCH_WINDOW_MS=n   measured window of a cell (default 1000)
 *   BENCH_CONTENDERS=a,b run only these contenders (ids of src/contenders.ts), for development
 */
import { contenderInfo, type Layout } from './contenders.js';
import type { CellSpec, Dataset, Topology } from './types.js';
import type { Dist, Op, ValueKind } from './workload.js';

export const QUICK = process.env.BENCH_QUICK === '1';
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : null;
/** A quick run, or one narrowed by any variable below: its report goes to bench/results/, never to BENCHMARKS.md. */
export const DRAFT = QUICK || ['BENCH_ONLY', 'BENCH_CONTENDERS', 'BENCH_REPS', 'BENCH_WINDOW_MS'].some((name) => process.env[name] !== undefined);
export const KEYS = QUICK ? 20_000 : 100_000;
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? (QUICK ? 400 : 1000));
const WARMUP_MS = Math.max(150, Math.round(WINDOW_MS * 0.3));
export const HEADLINE_REPS = Number(process.env.BENCH_REPS ?? (QUICK ? 2 : 5));
/** Keys of a dataset of big values: at most this many bytes per dataset (100 KiB: 2621 keys, 1 MiB: 256). */
export const DATASET_BYTES_CAP = QUICK ? 64 << 20 : 256 << 20;

export function enabled(block: string): boolean {
  return ONLY === null || ONLY.has(block);
}

export interface Instance {
  /** Contender implementation id (src/contenders.ts). */
  id: string;
  /** Name in the results: the id, or the id and a variant. */
  tag: string;
  options?: { compressor?: string };
}

export interface Block {
  name: string;
  topology: Topology;
  instances: Instance[];
  reps: number;
  /** The cells each instance runs in one child process (rep and block are filled in per repetition). */
  cells: (instance: Instance) => Omit<CellSpec, 'rep' | 'block'>[];
  measureMemory: boolean;
  /** FLUSHALL on the single node before the block (its datasets are not reused after it). */
  flushBefore?: boolean;
  /** CONFIG SET on the single node before the block. */
  config?: Record<string, string>;
}

export const MAIN: string[] = ['ours', 'ours-unbatched', 'seed', 'raw-evalsha', 'raw-getset', 'keyv', 'keyv-ours', 'cache-manager', 'bentocache'];
export const HEADLINE: string[] = [...MAIN, 'ours-typed', 'ours-node-redis', 'raw-evalsha-noap', 'nr-getset', 'nr-evalsha'];
/** The cluster block: the main contenders, and the node-redis driver next to Keyv (node-redis' cluster mode). */
export const CLUSTER: string[] = [...MAIN, 'ours-node-redis'];

const inst = (id: string): Instance => ({ id, tag: id });

const LAYOUT_PREFIX: Record<Layout, string> = { hash: 'h', typed: 't', string: 's', keyv: 'kv', 'keyv-hash': 'kh', bento: 'bc' };

export function keysFor(size: number, keys = KEYS): number {
  return Math.min(keys, Math.floor(DATASET_BYTES_CAP / size));
}

export function dataset(instance: Instance, size: number, kind: ValueKind = 'text', keys = keysFor(size), variant = ''): Dataset {
  return { prefix: `${LAYOUT_PREFIX[contenderInfo(instance.id).layout]}${variant}${size}`, size, keys, kind };
}

function cell(op: Op, ds: Dataset, concurrency: number, dist: Dist = 'uniform', variant?: string): Omit<CellSpec, 'rep' | 'block'> {
  // Big values: a longer warm-up would only fill memory; the window is what counts.
  return { op, dist, concurrency, windowMs: WINDOW_MS, warmupMs: WARMUP_MS, dataset: ds, ...(variant ? { variant } : {}) };
}

/** The getOrSet fresh-hit block: the typed layer of each driver (getOrSet decodes as `get` does). */
export const GETORSET_HIT = ['ours-typed', 'ours-node-redis'];
export const GETORSET_HIT_REPS = QUICK ? 1 : 3;
/**
 * The low-concurrency block: batching on against off (issue 11: merging must not cost latency at few calls in
 * flight). Single cells measured minutes apart swing by 3x here, so the two run in pairs, one child right after
 * the other, repeated, and the report compares each pair.
 */
export const LOW_CONCURRENCY = { contenders: ['ours', 'ours-unbatched'], levels: [1, 16], reps: QUICK ? 2 : 12 };
/** The stampede block (src/stampede.ts): processes, callers per process, cold keys per repetition, factory time. */
export const STAMPEDE = { processes: 4, callers: 100, keys: QUICK ? 10 : 20, reps: QUICK ? 1 : 2, warmupKeys: 3, factoryMs: 50 };

export const CONCURRENCIES = QUICK ? [1, 16, 256] : [1, 16, 256, 1024];
export const SIZES = QUICK ? [100, 4096] : [100, 4096, 102_400, 1_048_576];
export const LISTPACK_VALUES = QUICK ? [64, 1024] : [64, 128, 1024, 8192];
export const LISTPACK_SIZES = QUICK ? [100, 1024] : [100, 1024, 4096];
export const COMPRESSORS = QUICK ? ['none', 'gzip'] : ['none', 'gzip', 'brotli', 'zstd'];

export function buildPlan(): Block[] {
  const blocks: Block[] = [];
  // 1. The headline cells, every contender, repeated in alternating order.
  blocks.push({
    name: 'headline',
    topology: 'single',
    instances: HEADLINE.map(inst),
    reps: HEADLINE_REPS,
    measureMemory: true,
    cells: (i) => [cell('get-hit', dataset(i, 100), 256), cell('set', dataset(i, 100), 256)],
  });
  // 1b. getOrSet on a fresh hit against a plain get of the same entries, in the same child process and at
  // the sweep's levels in flight (the headline's among them), through the typed layer both use (issue 10:
  // getOrSet within 10% of get). The variant keeps these get cells out of the headline's figures.
  blocks.push({
    name: 'getorset-hit',
    topology: 'single',
    instances: GETORSET_HIT.map(inst),
    reps: GETORSET_HIT_REPS,
    measureMemory: false,
    cells: (i) => {
      const ds = dataset(i, 100);
      return CONCURRENCIES.flatMap((c) => [cell('get-hit', ds, c, 'uniform', 'getorset-hit'), cell('getorset-hit', ds, c, 'uniform', 'getorset-hit')]);
    },
  });
  // 1c. Batching on and off at 1 and 16 in flight, in adjacent pairs (LOW_CONCURRENCY). The variant keeps
  // these cells out of the sweep's figures.
  blocks.push({
    name: 'low-concurrency',
    topology: 'single',
    instances: LOW_CONCURRENCY.contenders.map(inst),
    reps: LOW_CONCURRENCY.reps,
    measureMemory: false,
    cells: (i) => {
      const ds = dataset(i, 100);
      return LOW_CONCURRENCY.levels.flatMap((c) => [cell('get-hit', ds, c, 'uniform', 'low-concurrency'), cell('set', ds, c, 'uniform', 'low-concurrency')]);
    },
  });
  // 2. Around the headline point on one node: concurrency for every workload, Zipf, remove.
  blocks.push({
    name: 'sweep',
    topology: 'single',
    instances: MAIN.map(inst),
    reps: 1,
    measureMemory: true,
    cells: (i) => {
      const ds = dataset(i, 100);
      const out: Omit<CellSpec, 'rep' | 'block'>[] = [];
      for (const op of ['get-hit', 'get-miss', 'set', 'mix'] as Op[]) {
        for (const c of CONCURRENCIES) {
          // get-hit and set at 256 come from the headline block (5 repetitions)
          if (c === 256 && (op === 'get-hit' || op === 'set') && enabled('headline')) continue;
          // misses and the mix at the two middle points only: they follow get (hit) and set
          if ((op === 'get-miss' || op === 'mix') && (c === 1 || c === 1024) && !QUICK) continue;
          out.push(cell(op, ds, c));
        }
      }
      out.push(cell('get-hit', ds, 256, 'zipf'), cell('mix', ds, 256, 'zipf'));
      out.push(cell('remove', ds, 256));
      return out;
    },
  });
  // 3. Value sizes.
  blocks.push({
    name: 'sizes',
    topology: 'single',
    instances: MAIN.map(inst),
    reps: 1,
    measureMemory: true,
    flushBefore: true,
    cells: (i) =>
      SIZES.filter((s) => s !== 100).flatMap((size) => {
        const ds = dataset(i, size);
        return [16, 256].flatMap((c) => [cell('get-hit', ds, c), cell('set', ds, c)]);
      }),
  });
  // 4. hash-max-listpack-value: memory and speed of our hash layout against the server setting.
  for (const value of LISTPACK_VALUES) {
    blocks.push({
      name: `listpack-${value}`,
      topology: 'single',
      instances: value === 64 ? [inst('ours'), inst('raw-getset')] : [inst('ours')],
      reps: 1,
      measureMemory: true,
      flushBefore: value === LISTPACK_VALUES[0],
      config: { 'hash-max-listpack-value': String(value) },
      cells: (i) =>
        LISTPACK_SIZES.flatMap((size) => {
          const ds = dataset(i, size, 'text', Math.min(KEYS, 20_000), `lp${value}-`);
          return [cell('get-hit', ds, 256, 'uniform', `listpack-${value}`), cell('set', ds, 256, 'uniform', `listpack-${value}`)];
        }),
    });
  }
  // 5. Compressors (typed layer), compressible and incompressible values.
  blocks.push({
    name: 'compressors',
    topology: 'single',
    instances: COMPRESSORS.map((c) => ({ id: 'ours-typed', tag: `ours-typed:${c}`, options: { compressor: c } })),
    reps: 1,
    measureMemory: true,
    flushBefore: true,
    config: { 'hash-max-listpack-value': '64' },
    cells: (i) =>
      [4096, 102_400].flatMap((size) =>
        (['compressible', 'random'] as ValueKind[]).flatMap((kind) => {
          const ds = dataset(i, size, kind, size > 10_000 ? 1000 : QUICK ? 2000 : 10_000, `c${i.options!.compressor}${kind[0]}`);
          return [cell('get-hit', ds, 16, 'uniform', i.tag), cell('set', ds, 16, 'uniform', i.tag)];
        }),
      ),
  });
  // 6. The 3-primary cluster.
  blocks.push({
    name: 'cluster',
    topology: 'cluster',
    instances: CLUSTER.map(inst),
    reps: 1,
    measureMemory: false,
    cells: (i) => {
      const ds = dataset(i, 100);
      return [
        ...CONCURRENCIES.flatMap((c) => [cell('get-hit', ds, c), cell('set', ds, c)]),
        cell('get-miss', ds, 256),
        cell('mix', ds, 256),
        cell('get-hit', ds, 256, 'zipf'),
        cell('mix', ds, 256, 'zipf'),
      ];
    },
  });
  const only = process.env.BENCH_CONTENDERS ? new Set(process.env.BENCH_CONTENDERS.split(',')) : null;
  return blocks
    .filter((b) => enabled(b.name.startsWith('listpack') ? 'listpack' : b.name))
    .map((b) => (only ? { ...b, instances: b.instances.filter((i) => only.has(i.id) || only.has(i.tag)) } : b))
    .filter((b) => b.instances.length > 0);
}

/** Contenders profiled with --cpu-prof at 256 in flight, 100 B, get-hit and set. */
export const PROFILED = ['ours', 'ours-unbatched', 'ours-node-redis', 'raw-evalsha', 'raw-getset', 'nr-getset', 'keyv'];
export const PROFILE_WINDOW_MS = QUICK ? 1000 : 3000;

export function profileCells(instance: Instance): Omit<CellSpec, 'rep' | 'block'>[] {
  const ds = dataset(instance, 100);
  return [
    { ...cell('get-hit', ds, 256), windowMs: PROFILE_WINDOW_MS },
    { ...cell('set', ds, 256), windowMs: PROFILE_WINDOW_MS },
  ];
}

/** getOrSet's fresh hit and get of the same entries, profiled at 256 in flight (contenders of GETORSET_HIT). */
export function getOrSetProfileCells(instance: Instance): Omit<CellSpec, 'rep' | 'block'>[] {
  const ds = dataset(instance, 100);
  return [
    { ...cell('get-hit', ds, 256, 'uniform', 'getorset-hit'), windowMs: PROFILE_WINDOW_MS },
    { ...cell('getorset-hit', ds, 256, 'uniform', 'getorset-hit'), windowMs: PROFILE_WINDOW_MS },
  ];
}
