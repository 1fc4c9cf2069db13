import type { Dist, Op, ValueKind } from './workload.js';

export type Topology = 'single' | 'cluster';

export interface Endpoint {
  host: string;
  port: number;
}

export interface Dataset {
  /** The `_prefix=` of every key of this dataset: contender layout, size and variant. */
  prefix: string;
  size: number;
  keys: number;
  kind: ValueKind;
}

export interface CellSpec {
  block: string;
  op: Op;
  dist: Dist;
  concurrency: number;
  windowMs: number;
  warmupMs: number;
  dataset: Dataset;
  /** Extra label for variants (compressor, listpack setting). */
  variant?: string;
  rep: number;
}

export interface ChildRequest {
  contender: string;
  /** Contender options: compressor name for the typed variant. */
  options?: { compressor?: string };
  topology: Topology;
  /** The nodes to connect to: one for single, the primaries for a cluster. */
  nodes: Endpoint[];
  cells: CellSpec[];
  /** Record memory figures after preloading (single node only). */
  measureMemory: boolean;
  /** When set, the child marks the measured window of this op for a --cpu-prof profile. */
  profileOp?: Op;
}

export interface CommandStat {
  calls: number;
  usec: number;
}

export interface CellResult {
  contender: string;
  topology: Topology;
  spec: CellSpec;
  ops: number;
  seconds: number;
  throughput: number;
  /** Latency in microseconds (HDR histogram, 3 significant digits). */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  /** Client CPU (user + system, all threads of the child) per operation, in microseconds. */
  cpuPerOpUs: number;
  /** Deltas of INFO commandstats over the window, summed over the nodes (admin commands left out). */
  commands: Record<string, CommandStat>;
  /** Commands the client sent per operation (for script contenders: the EVAL* calls only). */
  clientCommandsPerOp: number;
  /** Every command the server executed per operation, those run inside scripts included. */
  serverCommandsPerOp: number;
  /** usec of the top-level commands (commandstats) per operation. */
  commandUsecPerOp: number;
  /** Server process CPU (INFO cpu used_cpu_user + used_cpu_sys) per operation, in microseconds. */
  serverCpuPerOpUs: number;
  /** Server CPU over wall time (1.0 = one core busy), summed over the nodes. */
  serverCpuShare: number;
  clientCpuShare: number;
  /** Busy cores of the whole machine (/proc/stat) not used by this client nor the server: other processes. */
  otherCpuShare: number;
  errors: number;
  firstError?: string;
  verified: { reads: number; hits: number; misses: number; mismatches: number; checksumOk: boolean; removed?: number };
  /** Window of the measured phase on the monotonic clock (µs), for clipping a --cpu-prof profile. */
  windowUs?: [number, number];
  /** How long the warm-up was extended while other processes were busy (ms). */
  quietWaitMs?: number;
}

export interface MemoryResult {
  contender: string;
  layout: string;
  dataset: Dataset;
  variant?: string;
  entries: number;
  /** INFO used_memory delta over the preload, per entry (includes expires dict and main dict growth). */
  usedMemoryPerEntry: number;
  /** Mean of MEMORY USAGE key SAMPLES 0 over sampled keys. */
  memoryUsagePerKey: number;
  encoding: string;
  sampleKey: string;
  storedBytes: number;
}

export type ChildMessage =
  | { type: 'cell'; result: CellResult }
  | { type: 'memory'; result: MemoryResult }
  | { type: 'log'; text: string }
  | { type: 'done' };
