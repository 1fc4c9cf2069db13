/**
 * One contender in a process of its own: reads its request (JSON in argv[2]), preloads the datasets its cells
 * need (unless another contender of the same layout already did: a marker key says so), runs each cell and
 * reports results to the parent over IPC.
 *
 * A cell: `concurrency` workers loop on the operation; a warm-up; then the workers are paused, the server's
 * INFO commandstats / cpu and the process' cpuUsage are read, the workers resume for the measured window,
 * stop, drain, and everything is read again. Throughput counts only the window's operations, every one of
 * which is in the deltas (nothing else talks to the server meanwhile).
 */
import { readFileSync } from 'node:fs';

import { Redis } from 'ioredis';
import * as hdr from 'hdr-histogram-js';

import { contenderInfo, createContender, type ContenderImpl } from './contenders.js';
import type { CellResult, CellSpec, ChildMessage, ChildRequest, CommandStat, Dataset, MemoryResult } from './types.js';
import { MISS_OFFSET, precomputeStamps, REMOVE_OFFSET, Sequence, Values } from './workload.js';

const request = JSON.parse(process.argv[2]!) as ChildRequest;
const info = contenderInfo(request.contender);

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, (error: Error | null) => (error ? reject(error) : resolve())));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Commands that only the harness sends, never a contender: left out of the per-operation counts.
// (Preloading, SCAN, MEMORY USAGE and the marker keys all happen before the first snapshot.)
const ADMIN_COMMANDS = new Set(['info', 'cluster', 'ping', 'client', 'hello', 'select', 'auth', 'command', 'config', 'readonly']);

const admins = request.nodes.map((node) => {
  const admin = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  admin.on('error', () => undefined);
  return admin;
});

interface ServerSnapshot {
  commands: Record<string, CommandStat>;
  cpu: number;
  usedMemory: number;
}

async function snapshot(): Promise<ServerSnapshot> {
  const commands: Record<string, CommandStat> = {};
  let cpu = 0;
  let usedMemory = 0;
  for (const admin of admins) {
    const text = await admin.info('all');
    for (const m of text.matchAll(/^cmdstat_([a-z_|]+):calls=(\d+),usec=(\d+)/gm)) {
      const stat = (commands[m[1]!] ??= { calls: 0, usec: 0 });
      stat.calls += Number(m[2]);
      stat.usec += Number(m[3]);
    }
    const user = /^used_cpu_user:([\d.]+)/m.exec(text);
    const sys = /^used_cpu_sys:([\d.]+)/m.exec(text);
    cpu += Number(user?.[1] ?? 0) + Number(sys?.[1] ?? 0);
    usedMemory += Number(/^used_memory:(\d+)/m.exec(text)?.[1] ?? 0);
  }
  return { commands, cpu, usedMemory };
}

function delta(before: ServerSnapshot, after: ServerSnapshot): Record<string, CommandStat> {
  const out: Record<string, CommandStat> = {};
  for (const [name, stat] of Object.entries(after.commands)) {
    if (ADMIN_COMMANDS.has(name)) continue;
    const prev = before.commands[name] ?? { calls: 0, usec: 0 };
    const calls = stat.calls - prev.calls;
    if (calls > 0) out[name] = { calls, usec: stat.usec - prev.usec };
  }
  return out;
}

const valuesCache = new Map<string, Values>();
function valuesFor(dataset: Dataset): Values {
  const id = `${dataset.size}:${dataset.kind}`;
  let values = valuesCache.get(id);
  if (!values) valuesCache.set(id, (values = new Values(dataset.size, dataset.kind)));
  return values;
}

function valueOf(impl: ContenderImpl, values: Values, index: number): Buffer | string {
  return impl.valueType === 'buffer' ? values.buffer(index) : values.string(index);
}

/** Writes `count` entries from index `from` through the contender's own API, `parallel` at a time. */
async function fill(impl: ContenderImpl, dataset: Dataset, from: number, count: number): Promise<void> {
  const values = valuesFor(dataset);
  const parallel = dataset.size >= 100_000 ? 8 : 128;
  let next = from;
  const end = from + count;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < end) {
        const index = next++;
        await impl.set(dataset.prefix, index, valueOf(impl, values, index));
      }
    }),
  );
}

const markerOf = (dataset: Dataset) => `bench:loaded:${dataset.prefix}:${dataset.size}:${dataset.kind}:${dataset.keys}`;

async function ensureLoaded(impl: ContenderImpl, dataset: Dataset, variant: string | undefined): Promise<void> {
  const marker = markerOf(dataset);
  // The marker lives on the node that owns its slot; on a cluster any node answers EXISTS only for its own
  // slots, so ask them all.
  const present = await Promise.all(admins.map((admin) => admin.exists(marker).catch(() => 0)));
  if (present.some((n) => n === 1)) return;
  const started = performance.now();
  const before = await snapshot();
  await fill(impl, dataset, 0, dataset.keys);
  const after = await snapshot();
  await send({ type: 'log', text: `preloaded ${dataset.keys} x ${dataset.size} B (${dataset.prefix}) in ${((performance.now() - started) / 1000).toFixed(1)} s` });
  if (request.measureMemory) await send({ type: 'memory', result: await measureMemory(impl, dataset, after.usedMemory - before.usedMemory, variant) });
  if (request.topology === 'single') await admins[0]!.set(marker, '1');
  else {
    const { Cluster } = await import('ioredis');
    const cluster = new Cluster(request.nodes, { lazyConnect: true });
    await cluster.connect();
    await cluster.set(marker, '1');
    cluster.disconnect();
  }
}

async function measureMemory(impl: ContenderImpl, dataset: Dataset, usedDelta: number, variant: string | undefined): Promise<MemoryResult> {
  const admin = admins[0]!;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', impl.scanPattern(dataset.prefix), 'COUNT', 2000);
    cursor = next;
    for (const key of batch) if (keys.length < 200) keys.push(key);
  } while (cursor !== '0' && keys.length < 200);
  let total = 0;
  for (const key of keys) total += Number(await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  const sampleKey = keys[0] ?? '';
  const encoding = sampleKey ? String(await admin.call('OBJECT', 'ENCODING', sampleKey)) : '?';
  const type = sampleKey ? await admin.type(sampleKey) : 'none';
  const storedBytes = type === 'hash' ? await admin.hstrlen(sampleKey, 'd') : type === 'string' ? await admin.strlen(sampleKey) : 0;
  return {
    contender: request.contender,
    layout: info.layout,
    dataset,
    ...(variant ? { variant } : {}),
    entries: dataset.keys,
    usedMemoryPerEntry: usedDelta / dataset.keys,
    memoryUsagePerKey: keys.length ? total / keys.length : 0,
    encoding: `${type}/${encoding}`,
    sampleKey,
    storedBytes,
  };
}

function percentileUs(histogram: hdr.Histogram, p: number): number {
  return histogram.getValueAtPercentile(p);
}

/** Busy and total jiffies of the whole machine (/proc/stat), to see how much CPU other processes took. */
function machineCpu(): { busy: number; total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}
const TICKS_PER_SECOND = 100;
const QUIET_OTHER_CORES = 0.3;
const QUIET_WAIT_MS = 8000;

async function serverCpu(): Promise<number> {
  let cpu = 0;
  for (const admin of admins) {
    const text = await admin.info('cpu');
    cpu += Number(/^used_cpu_user:([\d.]+)/m.exec(text)?.[1] ?? 0) + Number(/^used_cpu_sys:([\d.]+)/m.exec(text)?.[1] ?? 0);
  }
  return cpu;
}

async function runCell(impl: ContenderImpl, spec: CellSpec): Promise<CellResult> {
  const { dataset, op } = spec;
  precomputeStamps(0, dataset.keys);
  if (op === 'get-miss') precomputeStamps(MISS_OFFSET, dataset.keys);
  if (op === 'remove') precomputeStamps(REMOVE_OFFSET, dataset.keys);
  const values = valuesFor(dataset);
  if (op !== 'get-miss' && op !== 'remove') await ensureLoaded(impl, dataset, spec.variant);
  if (op === 'remove') await fill(impl, dataset, REMOVE_OFFSET, dataset.keys);

  const sequence = new Sequence(dataset.keys, spec.dist, op === 'mix' ? 0.1 : op === 'set' ? 1 : 0, 0xbe7c4 + spec.rep);
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  let recording = false;
  let paused = false;
  let stopped = false;
  let resume: () => void = () => undefined;
  let resumed = new Promise<void>((resolve) => (resume = resolve));
  let waiting = 0;
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;
  let reads = 0;
  let hits = 0;
  let misses = 0;
  let mismatches = 0;
  let removed = 0;
  let expectedSum = 0;
  let gotSum = 0;
  let removeCursor = 0;

  const prefix = dataset.prefix;
  const getOrSet = impl.getOrSet?.bind(impl);
  if (op === 'getorset-hit' && !getOrSet) throw new Error(`${request.contender} has no getOrSet`);
  const doOne = async (): Promise<void> => {
    if (op === 'remove') {
      const index = REMOVE_OFFSET + removeCursor++;
      const wasThere = await impl.remove(prefix, index);
      if (recording && wasThere) removed++;
      return;
    }
    const pos = sequence.next();
    const index = sequence.indices[pos]!;
    if (op === 'set' || (op === 'mix' && sequence.writes[pos] === 1)) {
      await impl.set(prefix, index, valueOf(impl, values, index));
      return;
    }
    const miss = op === 'get-miss';
    const asked = miss ? MISS_OFFSET + index : index;
    const value = op === 'getorset-hit' ? await getOrSet!(prefix, asked) : await impl.get(prefix, asked);
    if (!recording) return;
    reads++;
    if (value === null || value === undefined) {
      misses++;
      if (!miss) mismatches++;
      return;
    }
    hits++;
    if (miss) {
      mismatches++;
      return;
    }
    expectedSum += asked;
    const stamped = values.check(asked, value);
    if (stamped < 0) mismatches++;
    else gotSum += stamped;
  };

  const worker = async (): Promise<void> => {
    while (!stopped) {
      if (paused) {
        waiting++;
        await resumed;
        continue;
      }
      const start = performance.now();
      try {
        await doOne();
        if (recording) {
          histogram.recordValue(Math.max(1, Math.round((performance.now() - start) * 1000)));
          ops++;
        }
      } catch (error) {
        if (recording) {
          errors++;
          firstError ??= String((error as Error)?.message ?? error);
        }
        if (!recording && firstError === undefined) firstError = `warm-up: ${String((error as Error)?.message ?? error)}`;
      }
    }
  };

  const workers = Array.from({ length: spec.concurrency }, worker);
  // Warm up; and while other processes keep a good part of a core busy (other work on the machine), keep
  // warming up, up to QUIET_WAIT_MS, so that no contender is measured in someone else's burst.
  let waitedMs = 0;
  let interval = spec.warmupMs;
  for (;;) {
    const m0 = machineCpu();
    const s0 = await serverCpu();
    const c0 = process.cpuUsage();
    await sleep(interval);
    const c1 = process.cpuUsage(c0);
    const s1 = await serverCpu();
    const m1 = machineCpu();
    const seconds = interval / 1000;
    const other = (m1.busy - m0.busy) / TICKS_PER_SECOND / seconds - (c1.user + c1.system) / 1e6 / seconds - (s1 - s0) / seconds;
    if (other < QUIET_OTHER_CORES || waitedMs >= QUIET_WAIT_MS) break;
    interval = 500;
    waitedMs += interval;
  }
  // Pause: every worker finishes its operation in flight and waits.
  paused = true;
  while (waiting < spec.concurrency) await sleep(1);
  const before = await snapshot();
  const cpuBefore = process.cpuUsage();
  const machineBefore = machineCpu();
  recording = true;
  paused = false;
  const windowStartUs = Number(process.hrtime.bigint() / 1000n);
  const t0 = performance.now();
  resume();
  resumed = new Promise<void>((resolve) => (resume = resolve));
  await sleep(spec.windowMs);
  stopped = true;
  await Promise.all(workers);
  const t1 = performance.now();
  const windowEndUs = Number(process.hrtime.bigint() / 1000n);
  const cpu = process.cpuUsage(cpuBefore);
  const machineAfter = machineCpu();
  recording = false;
  const after = await snapshot();

  const seconds = (t1 - t0) / 1000;
  const commands = delta(before, after);
  let clientCommands = 0;
  let serverCommands = 0;
  let topUsec = 0;
  for (const [name, stat] of Object.entries(commands)) {
    serverCommands += stat.calls;
    const topLevel = info.scripts ? name.startsWith('eval') || name.startsWith('evalsha') : true;
    if (topLevel) {
      clientCommands += stat.calls;
      topUsec += stat.usec;
    }
  }
  const cpuUs = cpu.user + cpu.system;
  const result: CellResult = {
    contender: request.contender,
    topology: request.topology,
    spec,
    ops,
    seconds,
    throughput: ops / seconds,
    p50: percentileUs(histogram, 50),
    p99: percentileUs(histogram, 99),
    p999: percentileUs(histogram, 99.9),
    max: histogram.maxValue,
    mean: histogram.mean,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    cpuPerOpUs: ops ? cpuUs / ops : 0,
    commands,
    clientCommandsPerOp: ops ? clientCommands / ops : 0,
    serverCommandsPerOp: ops ? serverCommands / ops : 0,
    commandUsecPerOp: ops ? topUsec / ops : 0,
    serverCpuPerOpUs: ops ? ((after.cpu - before.cpu) * 1e6) / ops : 0,
    serverCpuShare: (after.cpu - before.cpu) / seconds,
    clientCpuShare: cpuUs / 1e6 / seconds,
    // Whole machine busy cores minus this client and the server(s): other processes (or steal).
    otherCpuShare: Math.max(0, (machineAfter.busy - machineBefore.busy) / TICKS_PER_SECOND / seconds - cpuUs / 1e6 / seconds - (after.cpu - before.cpu) / seconds),
    errors,
    ...(firstError ? { firstError } : {}),
    verified: {
      reads,
      hits,
      misses,
      mismatches,
      checksumOk: expectedSum === gotSum,
      ...(op === 'remove' ? { removed } : {}),
    },
    windowUs: [windowStartUs, windowEndUs],
    quietWaitMs: waitedMs,
  };
  histogram.destroy();
  return result;
}

async function main(): Promise<void> {
  await Promise.all(admins.map((admin) => admin.connect()));
  const impl = await createContender(request.contender, { topology: request.topology, nodes: request.nodes, options: request.options ?? {} });
  try {
    for (const spec of request.cells) {
      const result = await runCell(impl, spec);
      await send({ type: 'cell', result });
    }
  } finally {
    await impl.close().catch(() => undefined);
    for (const admin of admins) admin.disconnect();
  }
  await send({ type: 'done' });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`[child ${request.contender}]`, error);
    process.exit(1);
  },
);
