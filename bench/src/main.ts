/**
 * The benchmark harness: `npm run bench` at the repository root (or `npm start` here).
 *
 * Starts its own redis-server (and, for the cluster block, a 3-primary cluster) through the test helpers,
 * never the shared server on 6379; runs every block of src/plan.ts with each contender in a child process of
 * its own, in alternating order; runs redis-benchmark and the CPU profiles; writes bench/results/*.json and
 * then BENCHMARKS.md and bench/throughput.svg (src/report.ts); stops everything it started, also on Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Redis } from 'ioredis';

import { redisServerBinary } from '../../scripts/redis-server-binary.js';
import { CONTENDERS, contenderInfo } from './contenders.js';
import { importScripts } from './lib.js';
import { analyzeProfile, type ProfileSummary } from './profile.js';
import { buildPlan, dataset, DRAFT, enabled, GETORSET_HIT, getOrSetProfileCells, HEADLINE_REPS, KEYS, PROFILED, profileCells, STAMPEDE, type Block, type Instance } from './plan.js';
import { measureLuaCost, type LuaCostResult } from './lua-cost.js';
import { runRedisBenchmarks, type RedisBenchmarkResult } from './redis-benchmark.js';
import { runStampede, type StampedeResult } from './stampede.js';
import { writeReport } from './report.js';
import type { CellResult, CellSpec, ChildMessage, ChildRequest, Endpoint, MemoryResult, Topology } from './types.js';

const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = resolve(BENCH_DIR, '..');
const RESULTS_DIR = join(BENCH_DIR, 'results');
const PROFILE_DIR = join(RESULTS_DIR, 'profiles');

// The library under test, as it ships: a copy of src/, generated/ and lua/ taken now and built once with the
// project's `tsc -p tsconfig.build.json` into bench/.snapshot/dist/, so that the whole run measures one
// version even while the working tree is being edited, and measures compiled JavaScript as the package (and
// every peer) runs it, not tsx's transpilation of the sources (src/lib.ts). Its node_modules is the root's.
const SNAPSHOT = join(BENCH_DIR, '.snapshot');
const buildNotes: string[] = [];
function snapshotLibrary(): void {
  rmSync(SNAPSHOT, { recursive: true, force: true });
  mkdirSync(SNAPSHOT, { recursive: true });
  for (const dir of ['src', 'generated', 'lua']) cpSync(join(ROOT, dir), join(SNAPSHOT, dir), { recursive: true });
  for (const file of ['package.json', 'tsconfig.json', 'tsconfig.build.json']) cpSync(join(ROOT, file), join(SNAPSHOT, file));
  symlinkSync(join(ROOT, 'node_modules'), join(SNAPSHOT, 'node_modules'), 'dir');
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const t0 = Date.now();
  const build = spawnSync(process.execPath, [tsc, '-p', join(SNAPSHOT, 'tsconfig.build.json')], { cwd: SNAPSHOT, encoding: 'utf8' });
  const output = `${build.stdout ?? ''}${build.stderr ?? ''}`.trim();
  const built = ['src', 'generated'].every((dir) => existsSync(join(SNAPSHOT, 'dist', dir, 'index.js')));
  if (!built) {
    rmSync(SNAPSHOT, { recursive: true, force: true });
    console.error(`building the library (tsc -p tsconfig.build.json) failed${build.error ? `: ${build.error.message}` : ''}\n${output}`);
    process.exit(1);
  }
  // tsc emits despite type errors (the working tree may be mid-edit): measure what it emitted, but say so.
  if (build.status !== 0) {
    buildNotes.push(`tsc -p tsconfig.build.json reported errors (exit ${build.status}); the emitted JavaScript was measured: ${output.split('\n').slice(0, 5).join(' | ')}`);
    console.warn(`warning: ${buildNotes.at(-1)}`);
  }
  console.log(`library built into bench/.snapshot/dist (tsc -p tsconfig.build.json, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  process.env.BENCH_LIB = SNAPSHOT;
}
snapshotLibrary();

// redis-memory-server downloads a redis-server unless told of one: the environment variable names the one on the
// PATH to it, here and in the contenders' child processes.
process.env.REDISMS_SYSTEM_BINARY = redisServerBinary();

export interface RunResults {
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  /** A quick or narrowed run (src/plan.ts DRAFT): reported under bench/results/ only. */
  draft: boolean;
  environment: Record<string, unknown>;
  cells: CellResult[];
  memory: MemoryResult[];
  redisBenchmark: RedisBenchmarkResult[];
  luaCost: LuaCostResult[];
  profiles: ProfileSummary[];
  /** The stampede block (src/stampede.ts); absent from results written before it existed. */
  stampede?: StampedeResult[];
  notes: string[];
}

const started = Date.now();
const results: RunResults = {
  startedAt: new Date(started).toISOString(),
  finishedAt: '',
  durationSeconds: 0,
  draft: DRAFT,
  environment: {},
  cells: [],
  memory: [],
  redisBenchmark: [],
  luaCost: [],
  profiles: [],
  stampede: [],
  notes: [...buildNotes],
};

const live = new Set<ChildProcess>();
const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const child of live) child.kill('SIGKILL');
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    rmSync(SNAPSHOT, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.log(`\n${signal}: stopping everything the benchmark started...`);
    void cleanup().then(() => process.exit(130));
  });
}

function elapsed(): string {
  const s = Math.round((Date.now() - started) / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (us: number) => `${(us / 1000).toFixed(2)} ms`;

let cellsDone = 0;
let cellsTotal = 0;

function progress(result: CellResult): void {
  cellsDone++;
  const s = result.spec;
  const v = result.verified;
  const verdict = result.errors > 0 ? ` ERRORS ${result.errors} (${result.firstError})` : v.mismatches > 0 || !v.checksumOk ? ` VERIFY FAILED (${v.mismatches} mismatches)` : '';
  const what = `${s.block}${s.rep > 0 || s.block === 'headline' ? ` r${s.rep + 1}` : ''} ${result.topology} ${s.op} ${s.dataset.size}B${s.dataset.kind !== 'text' ? `/${s.dataset.kind}` : ''} ${s.dist} c=${s.concurrency}`;
  console.log(
    `[${String(cellsDone).padStart(3)}/${cellsTotal} ${elapsed()}] ${what.padEnd(44)} ${(result.contender).padEnd(22)} ${fmt(result.throughput).padStart(9)} ops/s  p50 ${ms(result.p50)}  p99 ${ms(result.p99)}  cpu ${result.cpuPerOpUs.toFixed(1)} us/op  cmds ${result.clientCommandsPerOp.toFixed(2)}${verdict}`,
  );
}

function runChild(request: ChildRequest, profileDir?: string): Promise<{ cells: CellResult[]; memory: MemoryResult[] }> {
  return new Promise((resolvePromise, reject) => {
    const args = [
      ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-interval', '250'] : []),
      '--import',
      'tsx',
      join(BENCH_DIR, 'src', 'child.ts'),
      JSON.stringify(request),
    ];
    const child = spawn(process.execPath, args, { cwd: BENCH_DIR, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    live.add(child);
    const cells: CellResult[] = [];
    const memory: MemoryResult[] = [];
    let done = false;
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'cell') {
        cells.push(message.result);
        results.cells.push(message.result);
        progress(message.result);
      } else if (message.type === 'memory') {
        memory.push(message.result);
        results.memory.push(message.result);
      } else if (message.type === 'log') {
        console.log(`      ${request.contender}: ${message.text}`);
      } else if (message.type === 'done') done = true;
    });
    child.on('exit', (code, signal) => {
      live.delete(child);
      if (code === 0 && done) resolvePromise({ cells, memory });
      else reject(new Error(`child ${request.contender} exited with ${signal ?? code}`));
    });
  });
}

/** The order of a block's contenders in repetition `by`: each goes first in turn, and (from three on) each follows each. */
function rotate<T>(list: T[], by: number): T[] {
  const k = by % list.length;
  const rotated = [...list.slice(k), ...list.slice(0, k)];
  // Reversing a rotated pair would undo the rotation: two contenders would always run in the same order.
  return by % 2 === 1 && list.length > 2 ? rotated.reverse() : rotated;
}

async function runBlock(block: Block, topology: Topology, nodes: Endpoint[], singleAdmin: Redis | null): Promise<void> {
  if (singleAdmin && topology === 'single') {
    if (block.flushBefore) await singleAdmin.flushall();
    for (const [name, value] of Object.entries(block.config ?? {})) await singleAdmin.config('SET', name, value);
  }
  console.log(`\n== block ${block.name}: ${block.instances.length} contenders x ${block.reps} repetition(s), ${topology}`);
  for (let rep = 0; rep < block.reps; rep++) {
    for (const instance of rotate(block.instances, rep)) {
      const cells = block.cells(instance).map((c): CellSpec => ({ ...c, block: block.name, rep }));
      // Alternate the order of the cells too, so that no operation always runs first.
      const ordered = rep % 2 === 1 ? [...cells].reverse() : cells;
      await runInstance(instance, topology, nodes, ordered, block.measureMemory && topology === 'single');
    }
  }
}

async function runInstance(instance: Instance, topology: Topology, nodes: Endpoint[], cells: CellSpec[], measureMemory: boolean, profileDir?: string): Promise<CellResult[]> {
  const request: ChildRequest = {
    contender: instance.id,
    ...(instance.options ? { options: instance.options } : {}),
    topology,
    nodes,
    cells,
    measureMemory,
  };
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await runChild(request, profileDir);
      if (instance.tag !== instance.id) {
        for (const c of out.cells) c.contender = instance.tag;
        for (const m of out.memory) m.contender = instance.tag;
      }
      return out.cells;
    } catch (error) {
      console.log(`      ${instance.tag}: ${(error as Error).message}${attempt < 2 ? ', trying once more' : ', giving up on these cells'}`);
      if (attempt >= 2) {
        results.notes.push(`${instance.tag} (${topology}, ${cells[0]?.block}): ${(error as Error).message}`);
        return [];
      }
    }
  }
}

function countCells(blocks: Block[]): number {
  return blocks.reduce((sum, b) => sum + b.reps * b.instances.reduce((n, i) => n + b.cells(i).length, 0), 0);
}

function packageVersion(dir: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
}

async function environment(admin: Redis): Promise<Record<string, unknown>> {
  const info = await admin.info('server');
  const config: Record<string, string> = {};
  for (const name of ['hash-max-listpack-value', 'hash-max-listpack-entries', 'io-threads', 'maxmemory', 'appendonly', 'save', 'lazyfree-lazy-user-del']) {
    const [, value] = (await admin.config('GET', name)) as [string, string];
    config[name] = value;
  }
  const git = (args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: /^redis_version:(.*)$/m.exec(info)?.[1]?.trim(),
    redisBenchmark: spawnSync('redis-benchmark', ['--version'], { encoding: 'utf8' }).stdout.trim(),
    serverConfig: config,
    gitCommit: git(['rev-parse', '--short', 'HEAD']),
    gitDirty: git(['status', '--porcelain', '--', 'src', 'generated', 'lua']) !== '',
    libraryBuild: 'tsc -p tsconfig.build.json of a copy of the working tree (bench/.snapshot/dist/src/index.js)',
    scripts: Object.fromEntries((await importScripts()).allScripts.map((s) => [s.name, s.sha1])),
    packages: {
      'redis-lua-cache ioredis (root)': packageVersion(ROOT, 'ioredis'),
      'ioredis (bench: floors, seed, bentocache)': packageVersion(BENCH_DIR, 'ioredis'),
      keyv: packageVersion(BENCH_DIR, 'keyv'),
      '@keyv/redis': packageVersion(BENCH_DIR, '@keyv/redis'),
      '@redis/client (node-redis)': packageVersion(BENCH_DIR, '@redis/client'),
      'cache-manager': packageVersion(BENCH_DIR, 'cache-manager'),
      bentocache: packageVersion(BENCH_DIR, 'bentocache'),
      msgpackr: packageVersion(ROOT, 'msgpackr'),
      'zstd-napi': packageVersion(ROOT, 'zstd-napi'),
      'hdr-histogram-js': packageVersion(BENCH_DIR, 'hdr-histogram-js'),
      'typescript (tsc, builds the library)': packageVersion(ROOT, 'typescript'),
      'tsx (runs the harness only)': packageVersion(BENCH_DIR, 'tsx'),
    },
    keys: KEYS,
    headlineReps: HEADLINE_REPS,
  };
}

async function loadScripts(admins: Redis[]): Promise<void> {
  const { allScripts } = await importScripts();
  for (const admin of admins) for (const script of allScripts) await admin.script('LOAD', script.source);
}

function saveResults(): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  results.finishedAt = new Date().toISOString();
  results.durationSeconds = Math.round((Date.now() - started) / 1000);
  const text = JSON.stringify(results, null, 1);
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  const file = join(RESULTS_DIR, `${DRAFT ? 'draft-' : ''}run-${stamp}.json`);
  writeFileSync(file, text);
  writeFileSync(join(RESULTS_DIR, DRAFT ? 'latest-draft.json' : 'latest.json'), text);
  return file;
}

/** get and set of each profiled contender; then getOrSet's fresh hit next to get, in the typed layers. */
function profileRuns() {
  const only = process.env.BENCH_CONTENDERS ? new Set(process.env.BENCH_CONTENDERS.split(',')) : null;
  return [
    ...PROFILED.map((id) => ({ id, dir: id, cells: profileCells })),
    ...GETORSET_HIT.map((id) => ({ id, dir: `${id}-getorset`, cells: getOrSetProfileCells })),
  ].filter((r) => only === null || only.has(r.id));
}

async function profiles(nodes: Endpoint[]): Promise<void> {
  rmSync(PROFILE_DIR, { recursive: true, force: true });
  const runs = profileRuns();
  console.log(`\n== CPU profiles (node --cpu-prof, clipped to each measured window): ${runs.map((r) => r.dir).join(', ')}`);
  for (const run of runs) {
    const id = run.id;
    const dir = join(PROFILE_DIR, run.dir);
    mkdirSync(dir, { recursive: true });
    const instance = { id, tag: id };
    const cells = run.cells(instance).map((c): CellSpec => ({ ...c, block: 'profile', rep: 0 }));
    const out = await runInstance(instance, 'single', nodes, cells, false, dir);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) {
      results.notes.push(`no profile written for ${id}`);
      continue;
    }
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    for (const cell of out) {
      const summary = analyzeProfile(profile, cell.windowUs!, { contender: id, op: cell.spec.op, throughput: cell.throughput, cpuPerOpUs: cell.cpuPerOpUs, file: join('bench/results/profiles', run.dir, file) });
      results.profiles.push(summary);
      const top = summary.categories.slice(0, 4).map((c) => `${c.category} ${(c.share * 100).toFixed(0)}%`).join(', ');
      console.log(`      ${id} ${cell.spec.op}: ${top}`);
    }
  }
}

async function main(): Promise<void> {
  const { startRedis } = await import('../../test/helpers/redis.js');
  const blocks = buildPlan();
  cellsTotal = countCells(blocks) + (enabled('profiles') ? profileRuns().length * 2 : 0);
  console.log(`redis-lua-cache benchmark${DRAFT ? ' (draft: quick or narrowed run, reported under bench/results/ only)' : ''}: ${cellsTotal} cells, ${blocks.length} blocks`);
  console.log(`contenders: ${CONTENDERS.map((c) => c.id).join(', ')}`);

  console.log('starting redis-server (own instance, free port)...');
  const server = await startRedis();
  cleanups.push(() => server.stop());
  const single: Endpoint[] = [{ host: server.host, port: server.port }];
  console.log(`redis-server ${server.url}`);
  await loadScripts([server.admin]);
  results.environment = await environment(server.admin);

  // Right after the headline block, whose preloaded keys redis-benchmark reads; first when there is none.
  const serverStudies = async () => {
    if (enabled('redis-benchmark')) {
      console.log('\n== redis-benchmark: the server ceiling for our scripts and for GET/SET');
      results.redisBenchmark = await runRedisBenchmarks(server, (line) => console.log(`      ${line}`));
    }
    if (enabled('lua-cost')) {
      console.log('\n== server time per call against value size: through Lua and through plain commands');
      results.luaCost = await measureLuaCost(server.admin, (line) => console.log(`      ${line}`));
    }
    if (enabled('profiles')) await profiles(single);
  };
  if (!blocks.some((b) => b.name === 'headline')) await serverStudies();
  for (const block of blocks.filter((b) => b.topology === 'single')) {
    await runBlock(block, 'single', single, server.admin);
    if (block.name === 'headline') await serverStudies();
  }
  await server.admin.config('SET', 'hash-max-listpack-value', '64');
  if (enabled('stampede')) {
    console.log(`\n== stampede: ${STAMPEDE.processes} processes x ${STAMPEDE.callers} callers on each of ${STAMPEDE.keys} cold keys (one after the other), ${STAMPEDE.factoryMs} ms factory, ${STAMPEDE.reps} repetition(s)`);
    const only = process.env.BENCH_CONTENDERS ? new Set(process.env.BENCH_CONTENDERS.split(',')) : null;
    await runStampede({
      nodes: single,
      admin: server.admin,
      benchDir: BENCH_DIR,
      only,
      track: (child, alive) => void (alive ? live.add(child) : live.delete(child)),
      log: (line) => console.log(`      ${line}`),
      onResult: (r) => results.stampede!.push(r),
      onFailure: (note) => results.notes.push(note),
    });
  }
  await server.admin.flushall();

  const clusterBlocks = blocks.filter((b) => b.topology === 'cluster');
  if (clusterBlocks.length > 0) {
    console.log('\nstarting a 3-primary Redis Cluster (test/helpers/cluster.ts, no replicas)...');
    const { startCluster } = await import('../../test/helpers/cluster.js');
    const cluster = await startCluster({ primaries: 3, replicasPerPrimary: 0 });
    cleanups.push(() => cluster.stop());
    const primaries = cluster.nodes.map((n) => ({ host: n.host, port: n.port }));
    console.log(`cluster: ${cluster.seedUrls.join(' ')}`);
    await loadScripts(cluster.nodes.map((n) => n.admin));
    for (const block of clusterBlocks) await runBlock(block, 'cluster', primaries, null);
    await cluster.stop();
  }

  const file = saveResults();
  console.log(`\nresults: ${file}`);
  const report = writeReport(results, { root: ROOT, benchDir: BENCH_DIR });
  console.log(`report: ${report.markdown}\nchart: ${report.svg}`);
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
    if (results.cells.length > 0) {
      try {
        console.log(`partial results: ${saveResults()}`);
      } catch {
        // nothing more to do
      }
    }
  })
  .finally(async () => {
    await cleanup();
    console.log(`done in ${elapsed()}`);
    process.exit();
  });

export { contenderInfo, dataset };
